"""The identity store: users and service principals, their refresh tokens, and
failed sign-ins (kept in the database so every server process sees them).

Secret hashes leave this module only through ``secret_hash``; the ``Identity``
entity never carries one."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from slipway.core.errors import Conflict, NotFound
from slipway.store.tables import identities as it
from slipway.store.tables import login_failures as lf
from slipway.store.tables import refresh_tokens as rt

USER = "user"
SERVICE_PRINCIPAL = "service_principal"
KIND_WORDS = {USER: "user", SERVICE_PRINCIPAL: "service principal"}
_KIND_COMMAND = {USER: "users", SERVICE_PRINCIPAL: "sp"}


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Identity:
    """A user or a service principal. Never carries a secret or its hash."""

    uid: str  # the ``sub`` of its tokens; a re-created name gets a new one
    name: str
    kind: str  # user | service_principal
    role: str
    client_id: str | None
    token_generation: int
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "kind": self.kind, "role": self.role,
            "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
        }
        if self.client_id is not None:
            out["client_id"] = self.client_id
        return out


@dataclass(frozen=True)
class RefreshTokenRecord:
    identity_uid: str
    family: str
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


def _entity(row: Any) -> Identity:
    created, updated = _aware(row.created_at), _aware(row.updated_at)
    assert created is not None and updated is not None
    return Identity(uid=row.uid, name=row.name, kind=row.kind, role=row.role,
                    client_id=row.client_id, token_generation=row.token_generation,
                    created_at=created, updated_at=updated,
                    last_login_at=_aware(row.last_login_at))


def _not_found(name: str, kind: str | None) -> NotFound:
    word = KIND_WORDS.get(kind or "", "identity")
    command = _KIND_COMMAND.get(kind or "")
    hint = f"see `slipway {command} list`" if command else "see `slipway users list` and `slipway sp list`"
    return NotFound(f"{word} '{name}' does not exist", code="identity_not_found", hint=hint)


class IdentityStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- identities ---------------------------------------------------------------------------

    def create(self, *, uid: str, name: str, kind: str, role: str, secret_hash: str,
               client_id: str | None = None) -> Identity:
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                conn.execute(it.insert().values(
                    uid=uid, name=name, kind=kind, role=role, client_id=client_id,
                    secret_hash=secret_hash, token_generation=0, created_at=now, updated_at=now))
        except sa.exc.IntegrityError as exc:
            with self.engine.connect() as conn:
                existing = conn.execute(sa.select(it.c.kind).where(it.c.name == name)).scalar()
            if existing is None:
                raise
            raise Conflict(f"an identity named '{name}' already exists "
                           f"(a {KIND_WORDS.get(existing, existing)})",
                           code="identity_exists",
                           hint="user and service principal names share one namespace; "
                                "choose another name") from exc
        return self.get(name, kind)

    def get(self, name: str, kind: str | None = None) -> Identity:
        query = sa.select(it).where(it.c.name == name)
        if kind is not None:
            query = query.where(it.c.kind == kind)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise _not_found(name, kind)
        return _entity(row)

    def find_by_name(self, name: str) -> Identity | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(it).where(it.c.name == name)).first()
        return None if row is None else _entity(row)

    def find_by_uid(self, uid: str) -> Identity | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(it).where(it.c.uid == uid)).first()
        return None if row is None else _entity(row)

    def find_by_client_id(self, client_id: str) -> Identity | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(it).where(it.c.client_id == client_id)).first()
        return None if row is None else _entity(row)

    def secret_hash(self, uid: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(it.c.secret_hash).where(it.c.uid == uid)).scalar()

    def list(self, kind: str | None = None) -> builtins.list[Identity]:
        query = sa.select(it).order_by(it.c.name)
        if kind is not None:
            query = query.where(it.c.kind == kind)
        with self.engine.connect() as conn:
            return [_entity(r) for r in conn.execute(query).all()]

    def count_owners(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(it)
                                    .where(it.c.role == "owner")).scalar_one())

    def set_secret_hash(self, name: str, kind: str, secret_hash: str, *,
                        invalidate_tokens: bool) -> Identity:
        """Store a new hash. ``invalidate_tokens`` (a new secret, not a rehash of
        the same one) ends every token and refresh token issued before."""
        values: dict[str, Any] = {"secret_hash": secret_hash}
        if invalidate_tokens:
            values.update(token_generation=it.c.token_generation + 1,
                          updated_at=datetime.now(UTC))
        with self.engine.begin() as conn:
            identity_id = self._id(conn, name, kind)
            conn.execute(it.update().where(it.c.id == identity_id).values(**values))
            if invalidate_tokens:
                self._revoke_identity_tokens(conn, identity_id)
        return self.get(name, kind)

    def set_role(self, name: str, kind: str | None, role: str) -> Identity:
        with self.engine.begin() as conn:
            identity_id, old_role = self._id_and_role(conn, name, kind)
            if old_role != role:
                # Access tokens carry the role: end them. Refresh tokens live on and
                # get access tokens with the new role.
                conn.execute(it.update().where(it.c.id == identity_id).values(
                    role=role, token_generation=it.c.token_generation + 1,
                    updated_at=datetime.now(UTC)))
                if old_role == "owner":
                    self._refuse_no_owner(conn, name, "demote")
        return self.get(name, kind)

    def delete(self, name: str, kind: str | None) -> None:
        with self.engine.begin() as conn:
            identity_id, role = self._id_and_role(conn, name, kind)
            conn.execute(rt.delete().where(rt.c.identity_id == identity_id))
            conn.execute(it.delete().where(it.c.id == identity_id))
            if role == "owner":
                self._refuse_no_owner(conn, name, "delete")

    def invalidate_tokens(self, name: str, kind: str | None) -> Identity:
        """End every access and refresh token of the identity (sign out everywhere)."""
        with self.engine.begin() as conn:
            identity_id = self._id(conn, name, kind)
            conn.execute(it.update().where(it.c.id == identity_id).values(
                token_generation=it.c.token_generation + 1, updated_at=datetime.now(UTC)))
            self._revoke_identity_tokens(conn, identity_id)
        return self.get(name, kind)

    def touch_login(self, uid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(it.update().where(it.c.uid == uid).values(last_login_at=datetime.now(UTC)))

    def _id(self, conn: Connection, name: str, kind: str | None) -> int:
        return self._id_and_role(conn, name, kind)[0]

    @staticmethod
    def _id_and_role(conn: Connection, name: str, kind: str | None) -> tuple[int, str]:
        query = sa.select(it.c.id, it.c.role).where(it.c.name == name)
        if kind is not None:
            query = query.where(it.c.kind == kind)
        row = conn.execute(query).first()
        if row is None:
            raise _not_found(name, kind)
        return int(row.id), str(row.role)

    @staticmethod
    def _refuse_no_owner(conn: Connection, name: str, verb: str) -> None:
        # Checked after the write, in the same transaction, with the owner rows
        # locked (PostgreSQL; SQLite has one writer): two admins demoting the last
        # two owners at once cannot both succeed.
        owners = conn.execute(sa.select(it.c.id).where(it.c.role == "owner")
                              .with_for_update()).all()
        if not owners:
            raise Conflict(f"cannot {verb} '{name}': it is the workspace's last owner",
                           code="last_owner",
                           hint="make another identity an owner first "
                                "(slipway users set-role NAME --role owner)")

    # -- refresh tokens -----------------------------------------------------------------------

    def add_refresh_token(self, token_hash: str, *, uid: str, family: str,
                          expires_at: datetime) -> None:
        with self.engine.begin() as conn:
            identity_id = conn.execute(sa.select(it.c.id).where(it.c.uid == uid)).scalar()
            if identity_id is None:
                raise NotFound("the identity of this sign-in no longer exists",
                               code="identity_not_found")
            conn.execute(rt.insert().values(token_hash=token_hash, family=family,
                                            identity_id=identity_id,
                                            created_at=datetime.now(UTC), expires_at=expires_at))

    def find_refresh_token(self, token_hash: str) -> RefreshTokenRecord | None:
        query = (sa.select(rt.c.family, rt.c.expires_at, rt.c.used_at, rt.c.revoked_at, it.c.uid)
                 .join(it, it.c.id == rt.c.identity_id).where(rt.c.token_hash == token_hash))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        expires = _aware(row.expires_at)
        assert expires is not None
        return RefreshTokenRecord(identity_uid=row.uid, family=row.family, expires_at=expires,
                                  used_at=_aware(row.used_at), revoked_at=_aware(row.revoked_at))

    def mark_refresh_token_used(self, token_hash: str) -> bool:
        """True for the one caller that used it first; False if it was already used
        or revoked (a concurrent or replayed use)."""
        with self.engine.begin() as conn:
            result = conn.execute(rt.update().where(
                rt.c.token_hash == token_hash, rt.c.used_at.is_(None), rt.c.revoked_at.is_(None),
            ).values(used_at=datetime.now(UTC)))
        return result.rowcount == 1

    def revoke_refresh_family(self, family: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(rt.update().where(rt.c.family == family, rt.c.revoked_at.is_(None))
                         .values(revoked_at=datetime.now(UTC)))

    def prune_refresh_tokens(self, before: datetime) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(rt.delete().where(rt.c.expires_at < before)).rowcount)

    @staticmethod
    def _revoke_identity_tokens(conn: Connection, identity_id: int) -> None:
        conn.execute(rt.update().where(rt.c.identity_id == identity_id, rt.c.revoked_at.is_(None))
                     .values(revoked_at=datetime.now(UTC)))

    # -- failed sign-ins ----------------------------------------------------------------------

    def record_failure(self, scopes: Iterable[str], *, at: datetime, forget_before: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(lf.delete().where(lf.c.failed_at < forget_before))
            rows = [{"scope": s, "failed_at": at} for s in scopes]
            if rows:
                conn.execute(lf.insert(), rows)

    def failures_since(self, scope: str, since: datetime) -> builtins.list[datetime]:
        """Times of the failures of ``scope`` after ``since``, oldest first."""
        query = (sa.select(lf.c.failed_at).where(lf.c.scope == scope, lf.c.failed_at >= since)
                 .order_by(lf.c.failed_at))
        with self.engine.connect() as conn:
            return [t for t in (_aware(v) for v in conn.execute(query).scalars()) if t is not None]

    def clear_failures(self, scope: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(lf.delete().where(lf.c.scope == scope))
