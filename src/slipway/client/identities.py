"""``ws.identities``: service principals, users, tokens and signing keys.

Secrets (a client secret, a generated password) are returned only by the call
that makes them, inside an ``IssuedSecret``; nothing else ever returns them.
"""

from __future__ import annotations

import builtins
from datetime import timedelta
from typing import TYPE_CHECKING

from slipway.services import identities as service
from slipway.services import tokens
from slipway.services.identities import IssuedSecret
from slipway.services.tokens import TokenResponse
from slipway.store.identities import SERVICE_PRINCIPAL, USER, Identity

if TYPE_CHECKING:
    from slipway.services.workspace import WorkspaceContext


class ServicePrincipals:
    """Non-human identities for CI jobs and programs (``slipway sp ...``).

    >>> issued = ws.identities.service_principals.create("ci-bot", role="contributor")
    >>> creds = ws.identities.service_principals.sdk_auth(issued)  # show once, store safely
    """

    def __init__(self, ctx: WorkspaceContext) -> None:
        self._ctx = ctx

    def create(self, name: str, role: str = "contributor") -> IssuedSecret:
        """A new service principal; ``issued.secret`` is its client secret, shown only now."""
        return service.create_service_principal(self._ctx, name, role)

    def sdk_auth(self, issued: IssuedSecret, server_url: str | None = None) -> dict[str, str]:
        """``clientId``, ``clientSecret``, ``tokenUrl``, ``workspaceUrl`` (default
        server URL http://127.0.0.1:8765) and ``workspaceId``."""
        return service.sdk_auth(self._ctx, issued, server_url)

    def get(self, name: str) -> Identity:
        return service.get(self._ctx, name, SERVICE_PRINCIPAL)

    def list(self) -> builtins.list[Identity]:
        return service.list_identities(self._ctx, SERVICE_PRINCIPAL)

    def reset_secret(self, name: str) -> IssuedSecret:
        """A new client secret; the old one and its tokens stop working."""
        return service.reset_secret(self._ctx, name)

    def set_role(self, name: str, role: str) -> Identity:
        return service.set_role(self._ctx, name, role, SERVICE_PRINCIPAL)

    def delete(self, name: str) -> None:
        service.delete(self._ctx, name, SERVICE_PRINCIPAL)


class Users:
    """People who sign in with a password (``slipway users ...``).

    >>> issued = ws.identities.users.add("alice", role="reader")
    >>> issued.secret   # the generated one-time password, shown only now
    """

    def __init__(self, ctx: WorkspaceContext) -> None:
        self._ctx = ctx

    def add(self, name: str, role: str = "reader", password: str | None = None) -> IssuedSecret:
        """A new user; without ``password`` one is generated (``issued.secret``)."""
        return service.add_user(self._ctx, name, role, password)

    def get(self, name: str) -> Identity:
        return service.get(self._ctx, name, USER)

    def list(self) -> builtins.list[Identity]:
        return service.list_identities(self._ctx, USER)

    def set_role(self, name: str, role: str) -> Identity:
        return service.set_role(self._ctx, name, role, USER)

    def reset_password(self, name: str, password: str | None = None) -> IssuedSecret:
        """Set (or generate) a new password; the user is signed out everywhere."""
        return service.reset_password(self._ctx, name, password)

    def change_password(self, name: str, old: str, new: str) -> Identity:
        return service.change_password(self._ctx, name, old, new)

    def delete(self, name: str) -> None:
        service.delete(self._ctx, name, USER)


class Identities:
    def __init__(self, ctx: WorkspaceContext) -> None:
        self._ctx = ctx
        self.service_principals = ServicePrincipals(ctx)
        self.users = Users(ctx)

    def list(self) -> builtins.list[Identity]:
        """Users and service principals, by name."""
        return service.list_identities(self._ctx)

    def ensure_owner(self, name: str = service.DEFAULT_OWNER_NAME) -> IssuedSecret | None:
        """Create an owner user with a one-time password if the workspace has none."""
        return service.ensure_owner(self._ctx, name)

    def revoke_tokens(self, name: str) -> Identity:
        """Sign an identity out everywhere."""
        return service.revoke_tokens(self._ctx, name)

    def issue_run_token(self, run_id: str, ttl: timedelta = tokens.RUN_TOKEN_TTL,
                        role: str = "contributor") -> TokenResponse:
        """A short-lived token that acts for ``run_id`` (kind ``run``)."""
        return tokens.issue_run_token(self._ctx, run_id, ttl, role)

    def jwks(self) -> dict[str, builtins.list[dict[str, str]]]:
        """The public keys that verify this workspace's tokens."""
        return tokens.jwks(self._ctx)

    def rotate_signing_key(self) -> str:
        """A new token-signing key (its kid); older tokens verify until they expire."""
        return tokens.rotate_signing_key(self._ctx)
