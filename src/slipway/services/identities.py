"""Identities and what they may do: users and service principals, their roles,
their secrets (argon2 hashes), and ``authorize`` — the one place that decides
whether a principal may perform an action.

Tokens (issuing, verifying, the OAuth grants, signing keys) live in
``slipway.services.tokens``.

Identity commands work on a local workspace without a server: whoever can
write the workspace folder is its owner, so the first service principal can
be made before the server ever starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

from slipway.core.errors import Conflict, Forbidden, InvalidInput, Unavailable
from slipway.settings import Settings
from slipway.store.identities import KIND_WORDS, SERVICE_PRINCIPAL, USER, Identity

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from slipway.services.workspace import WorkspaceContext

__all__ = ["ACTIONS", "ROLES", "Action", "Identity", "IssuedSecret", "Principal", "authorize"]

OWNER, CONTRIBUTOR, READER = "owner", "contributor", "reader"
ROLES = (OWNER, CONTRIBUTOR, READER)
_RANK = {READER: 0, CONTRIBUTOR: 1, OWNER: 2}
RUN = "run"  # the kind of a principal acting for a run started by the server
PRINCIPAL_KINDS = (USER, SERVICE_PRINCIPAL, RUN)

DEFAULT_SERVER_URL = "http://127.0.0.1:8765"
DEFAULT_OWNER_NAME = "admin"
MIN_PASSWORD_LENGTH = 12
MAX_SECRET_LENGTH = 1024  # longer presented secrets are refused unhashed
CLIENT_SECRET_PREFIX = "swsp_"  # lets secret scanners recognise a leaked client secret
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


class Action(StrEnum):
    """Everything the control plane lets a principal do, ``<resource>.<verb>``."""

    DATASETS_READ = "datasets.read"
    DATASETS_WRITE = "datasets.write"
    RUNS_READ = "runs.read"
    RUNS_WRITE = "runs.write"
    MODELS_READ = "models.read"
    MODELS_WRITE = "models.write"
    ENDPOINTS_READ = "endpoints.read"
    ENDPOINTS_WRITE = "endpoints.write"
    ENDPOINTS_KEYS = "endpoints.keys"
    PIPELINES_READ = "pipelines.read"
    PIPELINES_WRITE = "pipelines.write"
    PIPELINES_RUN = "pipelines.run"
    SCHEDULES_READ = "schedules.read"
    SCHEDULES_WRITE = "schedules.write"
    WORKSPACE_READ = "workspace.read"
    IDENTITIES_READ = "identities.read"
    IDENTITIES_WRITE = "identities.write"
    WORKSPACE_ADMIN = "workspace.admin"


#: action -> (the least role that may do it, what it is in words)
ACTIONS: dict[Action, tuple[str, str]] = {
    Action.DATASETS_READ: (READER, "read datasets"),
    Action.DATASETS_WRITE: (CONTRIBUTOR, "register, archive or restore datasets"),
    Action.RUNS_READ: (READER, "read runs and experiments"),
    Action.RUNS_WRITE: (CONTRIBUTOR, "start, log to or cancel runs"),
    Action.MODELS_READ: (READER, "read models"),
    Action.MODELS_WRITE: (CONTRIBUTOR, "register, tag or delete models"),
    Action.ENDPOINTS_READ: (READER, "read endpoints, their logs and metrics"),
    Action.ENDPOINTS_WRITE: (CONTRIBUTOR, "deploy, update, start, stop or delete endpoints"),
    # Keys and tokens are credentials that score: not for readers.
    Action.ENDPOINTS_KEYS: (CONTRIBUTOR, "read or regenerate endpoint keys and tokens"),
    Action.PIPELINES_READ: (READER, "read pipelines and their runs"),
    Action.PIPELINES_WRITE: (CONTRIBUTOR, "create, publish, enable or disable pipelines"),
    Action.PIPELINES_RUN: (CONTRIBUTOR, "submit pipeline runs or trigger published pipelines"),
    Action.SCHEDULES_READ: (READER, "read schedules"),
    Action.SCHEDULES_WRITE: (CONTRIBUTOR, "create, change or delete schedules"),
    Action.WORKSPACE_READ: (READER, "read the workspace's details"),
    Action.IDENTITIES_READ: (OWNER, "list users and service principals"),
    Action.IDENTITIES_WRITE: (OWNER, "manage users, service principals and roles"),
    Action.WORKSPACE_ADMIN: (OWNER, "rotate signing keys and change workspace settings"),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling, from a verified token."""

    name: str  # the user's or service principal's name, or the run id
    kind: str  # user | service_principal | run
    role: str
    workspace_id: str
    subject: str  # the token's ``sub``
    token_id: str = ""  # the token's ``jti``
    expires_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "role": self.role,
                "workspace_id": self.workspace_id,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None}


def authorize(principal: Principal, action: Action | str) -> None:
    """Raise ``Forbidden`` unless ``principal``'s role allows ``action``.

    The single place where roles are enforced; the API calls it from a
    dependency on every route.
    """
    try:
        needed, words = ACTIONS[Action(action)]
    except ValueError:
        raise ValueError(f"unknown action {action!r}; add it to ACTIONS") from None
    if _RANK.get(principal.role, -1) >= _RANK[needed]:
        return
    allowed = " or ".join(r for r in reversed(ROLES) if _RANK[r] >= _RANK[needed])
    if principal.kind == RUN:
        who, fix = "run", "a run acts with the role the server gave it"
    else:
        group = "sp" if principal.kind == SERVICE_PRINCIPAL else "users"
        who = KIND_WORDS.get(principal.kind, principal.kind)
        fix = f"an owner can grant it (slipway {group} set-role {principal.name} --role {needed})"
    raise Forbidden(f"{who} '{principal.name}' has role {principal.role}, which may not {words}",
                    code="forbidden", hint=f"this needs role {allowed}; {fix}",
                    details={"action": str(action), "role": principal.role, "needs": needed})


def may(principal: Principal, action: Action | str) -> bool:
    """Whether ``authorize`` would pass (for showing or hiding things in a UI)."""
    try:
        authorize(principal, action)
    except Forbidden:
        return False
    return True


# -- secrets ----------------------------------------------------------------------------------

#: ``settings.extra[HASH_COST_SETTING]``: "production" (the default) or "fast".
#: "fast" is for tests only; a fast hash is upgraded at the next sign-in.
HASH_COST_SETTING = "password_hash_cost"


@dataclass(frozen=True)
class HashCost:
    time_cost: int
    memory_cost_kib: int
    parallelism: int


HASH_COSTS = {
    "production": HashCost(time_cost=3, memory_cost_kib=64 * 1024, parallelism=4),  # RFC 9106
    "fast": HashCost(time_cost=1, memory_cost_kib=64, parallelism=1),
}


@cache
def _hasher(cost: HashCost) -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_cost_kib,
                          parallelism=cost.parallelism)


@cache
def _dummy_hash(cost: HashCost) -> str:
    return str(_hasher(cost).hash(secrets.token_urlsafe(16)))


def _cost(settings: Settings) -> HashCost:
    profile = settings.extra.get(HASH_COST_SETTING, "production")
    if profile not in HASH_COSTS:
        raise InvalidInput(f"unknown {HASH_COST_SETTING} {profile!r}",
                           hint=f"use one of {', '.join(HASH_COSTS)}")
    return HASH_COSTS[profile]


def password_hasher(settings: Settings) -> PasswordHasher:
    return _hasher(_cost(settings))


#: Argon2 at the production cost takes ~64 MiB and most of a second of CPU per
#: call. At most this many run at once, so a flood of sign-ins (even with
#: unknown names, which cost the same) cannot exhaust memory or starve the
#: server's threads; a caller that waits longer than ``HASH_WAIT_S`` is told
#: to retry instead.
HASH_SLOTS = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))
HASH_WAIT_S = 10.0


@contextlib.contextmanager
def _hash_slot() -> Iterator[None]:
    slots = HASH_SLOTS
    if not slots.acquire(timeout=HASH_WAIT_S):
        raise Unavailable("the server is busy checking other sign-ins",
                          code="temporarily_unavailable",
                          hint="retry in a few seconds", details={"retry_after_s": 5})
    try:
        yield
    finally:
        slots.release()


def _hash(ctx: WorkspaceContext, secret: str) -> str:
    with _hash_slot():
        return str(password_hasher(ctx.settings).hash(secret))


def check_secret(ctx: WorkspaceContext, identity: Identity | None, presented: str) -> bool:
    """Whether ``presented`` is the identity's password or client secret. Takes
    the same time when the identity does not exist, so timing does not tell
    which names exist. Upgrades the hash when its parameters are outdated."""
    from argon2.exceptions import InvalidHashError, VerificationError

    cost = _cost(ctx.settings)
    hasher = _hasher(cost)
    stored = ctx.identities.secret_hash(identity.uid) if identity is not None else None
    if len(presented) > MAX_SECRET_LENGTH:
        return False
    dummy = _dummy_hash(cost) if stored is None else ""  # outside the slot: it hashes
    try:
        with _hash_slot():
            hasher.verify(stored or dummy, presented)
    except (VerificationError, InvalidHashError):
        return False
    if identity is None or stored is None:
        return False
    if hasher.check_needs_rehash(stored):
        ctx.identities.set_secret_hash(identity.name, identity.kind, _hash(ctx, presented),
                                       invalidate_tokens=False)
    return True


@dataclass(frozen=True)
class IssuedSecret:
    """An identity with its new secret. The secret exists only here: show it once."""

    identity: Identity
    secret: str | None = field(repr=False)  # None when the caller chose the password


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", code="unknown_role",
                           hint=f"use one of: {', '.join(ROLES)}")
    return role


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(f"identity name {name!r} is not allowed", code="invalid_name",
                           hint="use 1-128 letters, digits, '.', '_', '-' or '@', "
                                "starting with a letter or digit")
    return name


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password is too short ({len(password)} characters)",
                           code="weak_password",
                           hint=f"use at least {MIN_PASSWORD_LENGTH} characters, "
                                "or let Slipway generate one")
    if len(password) > MAX_SECRET_LENGTH:
        raise InvalidInput(f"the password is longer than {MAX_SECRET_LENGTH} characters",
                           code="invalid_password")
    return password


def _new_client_secret() -> str:
    return CLIENT_SECRET_PREFIX + secrets.token_urlsafe(32)


def _new_password() -> str:
    return secrets.token_urlsafe(15)  # 120 bits, 20 characters


# -- service principals -----------------------------------------------------------------------

def create_service_principal(ctx: WorkspaceContext, name: str,
                             role: str = CONTRIBUTOR) -> IssuedSecret:
    """A new service principal and its client secret (returned only here)."""
    _check_name(name)
    _check_role(role)
    secret = _new_client_secret()
    identity = ctx.identities.create(uid=uuid.uuid4().hex, name=name, kind=SERVICE_PRINCIPAL,
                                     role=role, client_id=str(uuid.uuid4()),
                                     secret_hash=_hash(ctx, secret))
    return IssuedSecret(identity, secret)


def reset_secret(ctx: WorkspaceContext, name: str) -> IssuedSecret:
    """A new client secret; the old one and every token issued with it stop working."""
    ctx.identities.get(name, SERVICE_PRINCIPAL)
    secret = _new_client_secret()
    identity = ctx.identities.set_secret_hash(name, SERVICE_PRINCIPAL, _hash(ctx, secret),
                                              invalidate_tokens=True)
    return IssuedSecret(identity, secret)


def sdk_auth(ctx: WorkspaceContext, issued: IssuedSecret,
             server_url: str | None = None) -> dict[str, str]:
    """The ``--sdk-auth`` JSON: everything a program needs to sign in."""
    if issued.identity.client_id is None or issued.secret is None:
        raise InvalidInput("only a newly issued service principal secret has SDK credentials",
                           hint="slipway sp reset-secret NAME --sdk-auth")
    url = (server_url or DEFAULT_SERVER_URL).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"server URL {url!r} must start with http:// or https://",
                           code="invalid_url")
    return {"clientId": issued.identity.client_id, "clientSecret": issued.secret,
            "tokenUrl": f"{url}/oauth/token", "workspaceUrl": url,
            "workspaceId": ctx.workspace_id}


# -- users ------------------------------------------------------------------------------------

def add_user(ctx: WorkspaceContext, name: str, role: str = READER,
             password: str | None = None) -> IssuedSecret:
    """A new user. Without ``password`` one is generated and returned (once)."""
    _check_name(name)
    _check_role(role)
    generated = None if password is not None else _new_password()
    secret = _check_password(password) if password is not None else generated
    assert secret is not None
    identity = ctx.identities.create(uid=uuid.uuid4().hex, name=name, kind=USER, role=role,
                                     secret_hash=_hash(ctx, secret))
    return IssuedSecret(identity, generated)


def reset_password(ctx: WorkspaceContext, name: str, password: str | None = None) -> IssuedSecret:
    """Set a user's password (generated when not given); signs them out everywhere."""
    ctx.identities.get(name, USER)
    generated = None if password is not None else _new_password()
    secret = _check_password(password) if password is not None else generated
    assert secret is not None
    identity = ctx.identities.set_secret_hash(name, USER, _hash(ctx, secret),
                                              invalidate_tokens=True)
    return IssuedSecret(identity, generated)


def change_password(ctx: WorkspaceContext, name: str, old: str, new: str) -> Identity:
    """A user changes their own password, proving the old one."""
    from slipway.core.errors import Unauthenticated

    identity = ctx.identities.get(name, USER)
    if not check_secret(ctx, identity, old):
        raise Unauthenticated("the current password is wrong", code="invalid_grant")
    return ctx.identities.set_secret_hash(name, USER, _hash(ctx, _check_password(new)),
                                          invalidate_tokens=True)


def ensure_owner(ctx: WorkspaceContext, name: str = DEFAULT_OWNER_NAME) -> IssuedSecret | None:
    """On the server's first start: when the workspace has no owner, create user
    ``name`` as owner and return its one-time password (to print once). None
    when an owner exists (also when another process made one just now)."""
    if ctx.identities.count_owners():
        return None
    try:
        return add_user(ctx, name, OWNER)
    except Conflict as exc:
        if ctx.identities.count_owners():
            return None  # a concurrent first start won
        raise Conflict(f"the workspace has no owner and the name '{name}' is taken",
                       code="identity_exists",
                       hint=f"make '{name}' an owner (slipway users set-role {name} --role owner) "
                            "or add one: slipway users add NAME --role owner") from exc


# -- both kinds -------------------------------------------------------------------------------

def get(ctx: WorkspaceContext, name: str, kind: str | None = None) -> Identity:
    return ctx.identities.get(name, kind)


def list_identities(ctx: WorkspaceContext, kind: str | None = None) -> list[Identity]:
    return ctx.identities.list(kind)


def set_role(ctx: WorkspaceContext, name: str, role: str, kind: str | None = None) -> Identity:
    """Change a role; the identity's current access tokens stop working. The last
    owner cannot be demoted."""
    return ctx.identities.set_role(name, kind, _check_role(role))


def revoke_tokens(ctx: WorkspaceContext, name: str, kind: str | None = None) -> Identity:
    """Sign an identity out everywhere: all its access and refresh tokens end."""
    return ctx.identities.invalidate_tokens(name, kind)


def delete(ctx: WorkspaceContext, name: str, kind: str | None = None) -> None:
    """Forget an identity and its tokens. The last owner cannot be deleted."""
    ctx.identities.delete(name, kind)
