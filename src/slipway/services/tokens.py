"""Tokens: the logic behind ``POST /oauth/token``, ``/.well-known/jwks.json``
and the API's bearer-token check.

- Access tokens are JWTs signed with the workspace's current signing key
  (EdDSA), valid ``ACCESS_TOKEN_TTL`` (1 h), with claims ``iss`` (this
  workspace's issuer), ``aud`` (the workspace id), ``sub`` (the identity's
  uid, or ``run:<id>``), ``name``, ``kind``, ``role``, ``iat``, ``exp``,
  ``jti`` and, for users and service principals, ``gen`` (the identity's
  token generation: a new secret or role ends older tokens at once).
- Refresh tokens (password grant only) are random, stored as sha256, valid
  ``REFRESH_TOKEN_TTL``, rotated on every use; presenting a used one revokes
  the whole sign-in (the token was stolen, or the client is confused).
- Failed sign-ins are counted per identity and per client address in the
  database (shared by every server process); past the limit the grant is
  refused with the time to retry.
- Keys rotate (``rotate_signing_key``); retired public keys stay in the JWKS
  and keep verifying for ``MAX_TOKEN_TTL``, the longest any token lives.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from slipway.core.errors import InvalidInput, TooManyAttempts, Unauthenticated
from slipway.services import identities
from slipway.services.identities import CONTRIBUTOR, OWNER, PRINCIPAL_KINDS, ROLES, RUN, Principal
from slipway.store.identities import SERVICE_PRINCIPAL, USER, Identity

if TYPE_CHECKING:
    from slipway.services.workspace import WorkspaceContext

ACCESS_TOKEN_TTL = timedelta(hours=1)
RUN_TOKEN_TTL = timedelta(hours=1)
REFRESH_TOKEN_TTL = timedelta(days=14)
MAX_TOKEN_TTL = timedelta(hours=24)  # no JWT we sign lives longer; bounds key retirement
LEEWAY_S = 10  # clock skew between server processes
REFRESH_TOKEN_PREFIX = "swrt_"
GRANT_TYPES = ("client_credentials", "password", "refresh_token")


@dataclass(frozen=True)
class LoginLimits:
    """At most ``per_identity`` failures for one name and ``per_address`` from one
    client address within ``window``."""

    per_identity: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


DEFAULT_LIMITS = LoginLimits()


@dataclass(frozen=True)
class TokenResponse:
    """The body of a successful ``/oauth/token`` answer (``to_dict``)."""

    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)
    token_type: str = "Bearer"

    @property
    def expires_in(self) -> int:
        return max(0, int((self.expires_at - datetime.now(UTC)).total_seconds()))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"access_token": self.access_token, "token_type": self.token_type,
                               "expires_in": self.expires_in,
                               "expires_on": int(self.expires_at.timestamp())}
        if self.refresh_token is not None:
            out["refresh_token"] = self.refresh_token
        return out


def issuer(ctx: WorkspaceContext) -> str:
    """The ``iss`` of this workspace's tokens: stable whatever URL reaches the server."""
    return f"urn:slipway:workspace:{ctx.workspace_id}"


# -- issuing ----------------------------------------------------------------------------------

def _sign(ctx: WorkspaceContext, *, subject: str, name: str, kind: str, role: str,
          ttl: timedelta, generation: int | None = None) -> TokenResponse:
    now = datetime.now(UTC).replace(microsecond=0)
    expires = now + ttl
    claims: dict[str, Any] = {
        "iss": issuer(ctx), "aud": ctx.workspace_id, "sub": subject, "name": name,
        "kind": kind, "role": role, "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()), "jti": uuid.uuid4().hex}
    if generation is not None:
        claims["gen"] = generation
    return TokenResponse(access_token=ctx.secrets.sign(claims), expires_at=expires)


def _identity_token(ctx: WorkspaceContext, identity: Identity) -> TokenResponse:
    return _sign(ctx, subject=identity.uid, name=identity.name, kind=identity.kind,
                 role=identity.role, ttl=ACCESS_TOKEN_TTL, generation=identity.token_generation)


def issue_run_token(ctx: WorkspaceContext, run_id: str, ttl: timedelta = RUN_TOKEN_TTL,
                    role: str = CONTRIBUTOR) -> TokenResponse:
    """A short-lived token for code running as ``run_id`` (the "managed
    identity" of a run the server starts): kind ``run``, scoped to this
    workspace, never an owner, no secret anywhere in the run's code."""
    if not run_id:
        raise InvalidInput("a run token needs a run id")
    if role not in ROLES or role == OWNER:
        raise InvalidInput(f"a run token cannot have role {role!r}", code="unknown_role",
                           hint=f"use {CONTRIBUTOR} or reader")
    if not timedelta(0) < ttl <= MAX_TOKEN_TTL:
        raise InvalidInput(f"a run token must live between 1 s and {MAX_TOKEN_TTL}",
                           code="invalid_ttl")
    return _sign(ctx, subject=f"run:{run_id}", name=run_id, kind=RUN, role=role, ttl=ttl)


def _refresh_token(ctx: WorkspaceContext, identity: Identity, family: str) -> str:
    import secrets

    token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
    ctx.identities.add_refresh_token(_digest(token), uid=identity.uid, family=family,
                                     expires_at=datetime.now(UTC) + REFRESH_TOKEN_TTL)
    return token


def _digest(token: str) -> str:
    # Refresh tokens are 256 random bits: a plain hash is as good as argon2 here.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# -- grants -----------------------------------------------------------------------------------

def token_grant(ctx: WorkspaceContext, form: Mapping[str, str], *,
                client_address: str | None = None,
                limits: LoginLimits = DEFAULT_LIMITS) -> TokenResponse:
    """``POST /oauth/token`` with a form body: dispatch on ``grant_type``.
    (HTTP Basic client authentication is the API's to unpack into the form.)"""
    grant = form.get("grant_type", "")

    def need(key: str) -> str:
        value = form.get(key)
        if not value:
            raise InvalidInput(f"grant_type={grant} needs '{key}'", code="invalid_request")
        return value

    if grant == "client_credentials":
        return client_credentials_grant(ctx, need("client_id"), need("client_secret"),
                                        client_address=client_address, limits=limits)
    if grant == "password":
        return password_grant(ctx, need("username"), need("password"),
                              client_address=client_address, limits=limits)
    if grant == "refresh_token":
        return refresh_grant(ctx, need("refresh_token"))
    raise InvalidInput(f"unsupported grant_type {grant!r}", code="unsupported_grant_type",
                       hint=f"use one of: {', '.join(GRANT_TYPES)}")


def client_credentials_grant(ctx: WorkspaceContext, client_id: str, client_secret: str, *,
                             client_address: str | None = None,
                             limits: LoginLimits = DEFAULT_LIMITS) -> TokenResponse:
    """A service principal signs in with its client id and secret. No refresh
    token: it can always sign in again."""
    scopes = _scopes(f"client:{client_id}", client_address, limits)
    _refuse_if_limited(ctx, scopes, limits)
    identity = ctx.identities.find_by_client_id(client_id)
    if identity is not None and identity.kind != SERVICE_PRINCIPAL:
        identity = None
    # check_secret first, always: an unknown client id must cost the same time.
    if not identities.check_secret(ctx, identity, client_secret) or identity is None:
        _record_failure(ctx, scopes, limits)
        raise Unauthenticated("wrong client id or client secret", code="invalid_client",
                              hint="slipway sp reset-secret NAME issues a new secret")
    return _signed_in(ctx, identity, scopes)


def password_grant(ctx: WorkspaceContext, username: str, password: str, *,
                   client_address: str | None = None,
                   limits: LoginLimits = DEFAULT_LIMITS) -> TokenResponse:
    """A user signs in with name and password: an access token and a refresh token."""
    scopes = _scopes(f"identity:{username}", client_address, limits)
    _refuse_if_limited(ctx, scopes, limits)
    identity = _find_user(ctx, username)
    # check_secret first, always: an unknown name must cost the same time.
    if not identities.check_secret(ctx, identity, password) or identity is None:
        _record_failure(ctx, scopes, limits)
        raise Unauthenticated("wrong user name or password", code="invalid_grant",
                              hint="an owner can issue a new one: slipway users reset-password NAME")
    response = _signed_in(ctx, identity, scopes)
    ctx.identities.prune_refresh_tokens(datetime.now(UTC))  # each sign-in sweeps the expired
    return TokenResponse(access_token=response.access_token, expires_at=response.expires_at,
                         refresh_token=_refresh_token(ctx, identity, uuid.uuid4().hex))


def change_own_password(ctx: WorkspaceContext, name: str, old: str, new: str, *,
                        client_address: str | None = None,
                        limits: LoginLimits = DEFAULT_LIMITS) -> identities.Identity:
    """A user changes their password, proving the current one. A wrong one counts
    as a failed sign-in, and the change is refused while sign-in is locked."""
    scopes = _scopes(f"identity:{name}", client_address, limits)
    _refuse_if_limited(ctx, scopes, limits)
    try:
        changed = identities.change_password(ctx, name, old, new)
    except Unauthenticated:
        _record_failure(ctx, scopes, limits)
        raise
    ctx.identities.clear_failures(scopes[0][0])
    return changed


def refresh_grant(ctx: WorkspaceContext, refresh_token: str) -> TokenResponse:
    """Trade a refresh token for a new access token and a new refresh token (the
    old one is spent)."""
    digest = _digest(refresh_token)
    record = ctx.identities.find_refresh_token(digest)
    again = "sign in again"
    if record is None:
        raise Unauthenticated("the refresh token is not valid", code="invalid_grant", hint=again)
    if record.revoked_at is not None:
        raise Unauthenticated("the refresh token was revoked", code="invalid_grant", hint=again)
    if record.expires_at <= datetime.now(UTC):
        raise Unauthenticated("the refresh token has expired", code="invalid_grant", hint=again)
    if record.used_at is not None or not ctx.identities.mark_refresh_token_used(digest):
        # A spent token presented again: someone has a copy. End the whole sign-in.
        ctx.identities.revoke_refresh_family(record.family)
        raise Unauthenticated("the refresh token was already used; this sign-in is now revoked",
                              code="invalid_grant", hint=again)
    identity = ctx.identities.find_by_uid(record.identity_uid)
    if identity is None:  # pragma: no cover - refresh tokens go with their identity
        raise Unauthenticated("the identity of this sign-in no longer exists", code="invalid_grant")
    response = _identity_token(ctx, identity)
    return TokenResponse(access_token=response.access_token, expires_at=response.expires_at,
                         refresh_token=_refresh_token(ctx, identity, record.family))


def revoke_refresh_token(ctx: WorkspaceContext, refresh_token: str) -> None:
    """Sign out: end the sign-in the refresh token belongs to. Unknown tokens are
    ignored (RFC 7009: the answer must not tell whether a token existed)."""
    record = ctx.identities.find_refresh_token(_digest(refresh_token))
    if record is not None:
        ctx.identities.revoke_refresh_family(record.family)


def _find_user(ctx: WorkspaceContext, name: str) -> Identity | None:
    identity = ctx.identities.find_by_name(name)
    return identity if identity is not None and identity.kind == USER else None


def _signed_in(ctx: WorkspaceContext, identity: Identity,
               scopes: list[tuple[str, int]]) -> TokenResponse:
    ctx.identities.clear_failures(scopes[0][0])  # the identity's count, not the address's
    ctx.identities.touch_login(identity.uid)
    return _identity_token(ctx, identity)


# -- failed sign-ins --------------------------------------------------------------------------

def _scopes(identity_scope: str, client_address: str | None,
            limits: LoginLimits) -> list[tuple[str, int]]:
    scopes = [(identity_scope[:320], limits.per_identity)]
    if client_address:
        scopes.append((f"address:{client_address}"[:320], limits.per_address))
    return scopes


def _refuse_if_limited(ctx: WorkspaceContext, scopes: list[tuple[str, int]],
                       limits: LoginLimits) -> None:
    now = datetime.now(UTC)
    for scope, limit in scopes:
        failures = ctx.identities.failures_since(scope, now - limits.window)
        if len(failures) < limit:
            continue
        # The count drops below the limit when the oldest failure that keeps it
        # there leaves the window.
        retry_at = failures[len(failures) - limit] + limits.window
        wait_s = max(1, int((retry_at - now).total_seconds()) + 1)
        what = "this address" if scope.startswith("address:") else "this identity"
        raise TooManyAttempts(
            f"too many failed sign-ins for {what}; try again in {_words(wait_s)} "
            f"(after {retry_at:%H:%M:%S} UTC)",
            hint="check the credentials; an owner can reset them",
            details={"retry_after_s": wait_s, "retry_at": retry_at.isoformat()})


def _record_failure(ctx: WorkspaceContext, scopes: list[tuple[str, int]],
                    limits: LoginLimits) -> None:
    now = datetime.now(UTC)
    ctx.identities.record_failure([s for s, _ in scopes], at=now,
                                  forget_before=now - max(limits.window, timedelta(hours=1)))


def _words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"


# -- verifying --------------------------------------------------------------------------------

def authenticate(ctx: WorkspaceContext, token: str | None) -> Principal:
    """Turn a bearer token (``"<jwt>"`` or an ``Authorization`` header value
    ``"Bearer <jwt>"``) into the ``Principal`` it speaks for.

    Raises ``Unauthenticated`` (code ``missing_token``, ``token_expired``,
    ``wrong_workspace``, ``token_revoked`` or ``invalid_token``) otherwise.
    Users and service principals are looked up: a deleted identity, a new
    secret or a changed role ends their tokens at once.
    """
    raw = _bare(token)
    claims = _verify(ctx, raw)
    kind, role = claims.get("kind"), claims.get("role")
    if kind not in PRINCIPAL_KINDS or role not in ROLES or not isinstance(claims.get("name"), str):
        raise Unauthenticated("the token is not a Slipway access token", code="invalid_token")
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    if kind == RUN:
        if role == OWNER:
            raise Unauthenticated("a run token cannot be an owner's", code="invalid_token")
        return Principal(name=claims["name"], kind=RUN, role=role,
                         workspace_id=ctx.workspace_id, subject=claims["sub"],
                         token_id=claims["jti"], expires_at=expires)
    identity = ctx.identities.find_by_uid(claims["sub"])
    if identity is None or identity.kind != kind:
        raise Unauthenticated("the identity of this token no longer exists", code="token_revoked",
                              hint="ask an owner for an account")
    if claims.get("gen") != identity.token_generation:
        raise Unauthenticated("the token was revoked: its credentials or role changed",
                              code="token_revoked", hint="get a new token (POST /oauth/token)")
    return Principal(name=identity.name, kind=identity.kind, role=identity.role,
                     workspace_id=ctx.workspace_id, subject=identity.uid,
                     token_id=claims["jti"], expires_at=expires)


def _bare(token: str | None) -> str:
    value = (token or "").strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    if not value:
        raise Unauthenticated("sign in first: no access token was sent", code="missing_token",
                              hint="send the header Authorization: Bearer <token> "
                                   "(POST /oauth/token gives one)")
    return value


def _verify(ctx: WorkspaceContext, token: str) -> dict[str, Any]:
    import jwt

    try:
        kid = jwt.get_unverified_header(token).get("kid")
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Unauthenticated("the token is not a JWT", code="invalid_token") from None
    key = ctx.secrets.verification_keys().get(kid) if isinstance(kid, str) else None
    if key is None:
        # Only to word the refusal: the claims of an unverified token decide nothing.
        audience = unverified.get("aud")
        if audience and audience != ctx.workspace_id:
            raise Unauthenticated("the token is for another workspace", code="wrong_workspace",
                                  hint="get a token from this workspace's server")
        raise Unauthenticated("the token was not signed by a current key of this workspace",
                              code="invalid_token",
                              hint="the key may have been retired: get a new token")
    from cryptography.hazmat.primitives.asymmetric import rsa

    algorithm = "RS256" if isinstance(key, rsa.RSAPublicKey) else "EdDSA"
    try:
        return dict(jwt.decode(token, key, algorithms=[algorithm], audience=ctx.workspace_id,
                               issuer=issuer(ctx), leeway=LEEWAY_S,
                               options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]}))
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired", code="token_expired",
                              hint="get a new token (POST /oauth/token)") from None
    except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
        raise Unauthenticated("the token is for another workspace", code="wrong_workspace",
                              hint="get a token from this workspace's server") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"the token is not valid: {exc}", code="invalid_token") from None


# -- keys -------------------------------------------------------------------------------------

def jwks(ctx: WorkspaceContext) -> dict[str, list[dict[str, str]]]:
    """``/.well-known/jwks.json``: every public key a valid token may be signed with."""
    return ctx.secrets.jwks()


def rotate_signing_key(ctx: WorkspaceContext) -> str:
    """Make a new signing key (returns its kid). Tokens signed with the old key
    keep verifying until they expire, at the API and at endpoints that verify
    tokens offline: those get the new public key first, then the retired ones."""
    kid = ctx.secrets.rotate_signing_key(
        verify_previous_for=MAX_TOKEN_TTL + timedelta(seconds=LEEWAY_S))
    _publish_to_endpoints(ctx)
    return kid


def _publish_to_endpoints(ctx: WorkspaceContext) -> None:
    from slipway.services.endpoints import endpoint_dirs
    from slipway.serving.config import write_token_public_key

    pem = ctx.secrets.verification_pems()
    for endpoint in ctx.endpoints.list():
        config_dir, _ = endpoint_dirs(ctx, endpoint.name)
        if config_dir.is_dir():
            write_token_public_key(config_dir, pem)
