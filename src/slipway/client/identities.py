"""``ws.identities``: service principals, users, tokens and signing keys.

Secrets (a client secret, a generated password) are returned only by the call
that makes them, inside an ``IssuedSecret``; nothing else ever returns them.
``RemoteIdentities`` does the same over the HTTP API (an owner's token).
"""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slipway.client.auth import InteractiveLoginAuthentication, password_login
from slipway.client.http import unsupported
from slipway.core.errors import InvalidInput, NotFound
from slipway.services import identities as service
from slipway.services import tokens
from slipway.services.identities import IssuedSecret
from slipway.services.tokens import TokenResponse
from slipway.store.identities import SERVICE_PRINCIPAL, USER, Identity

if TYPE_CHECKING:
    from slipway.client.http import Http
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
        """Prove the current password; a wrong one counts as a failed sign-in."""
        return tokens.change_own_password(self._ctx, name, old, new)

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


# -- remote -----------------------------------------------------------------------------------

_SEGMENT = {SERVICE_PRINCIPAL: "service-principals", USER: "users"}


def identity_from_dict(data: dict[str, Any]) -> Identity:
    """An ``Identity`` from the API's shape. The API never shows ``uid`` or the
    token generation: they come back empty."""
    last = data.get("last_login_at")
    return Identity(uid="", name=data["name"], kind=data["kind"], role=data["role"],
                    client_id=data.get("client_id"), token_generation=0,
                    created_at=datetime.fromisoformat(data["created_at"]),
                    updated_at=datetime.fromisoformat(data["updated_at"]),
                    last_login_at=datetime.fromisoformat(last) if last else None)


def _issued(data: dict[str, Any]) -> IssuedSecret:
    return IssuedSecret(identity_from_dict(data["identity"]), data.get("secret"))


class RemoteServicePrincipals:
    def __init__(self, http: Http) -> None:
        self._http = http

    def create(self, name: str, role: str = "contributor") -> IssuedSecret:
        """A new service principal; ``issued.secret`` is its client secret, shown only now."""
        return _issued(self._http.post("/identities/service-principals",
                                       {"name": name, "role": role}))

    def sdk_auth(self, issued: IssuedSecret, server_url: str | None = None) -> dict[str, str]:
        """The ``--sdk-auth`` JSON; the server URL defaults to this workspace's."""
        if issued.identity.client_id is None or issued.secret is None:
            raise InvalidInput("only a newly issued service principal secret has SDK "
                               "credentials", hint="slipway sp reset-secret NAME --sdk-auth")
        url = (server_url if server_url and server_url != service.DEFAULT_SERVER_URL
               else self._http.url).rstrip("/")
        return {"clientId": issued.identity.client_id, "clientSecret": issued.secret,
                "tokenUrl": f"{url}/oauth/token", "workspaceUrl": url,
                "workspaceId": str(self._http.get("/me")["workspace_id"])}

    def get(self, name: str) -> Identity:
        return identity_from_dict(self._http.get(f"/identities/service-principals/{name}"))

    def list(self) -> builtins.list[Identity]:
        return [identity_from_dict(i) for i in
                self._http.items("/identities", kind="service-principals")]

    def reset_secret(self, name: str) -> IssuedSecret:
        """A new client secret; the old one and its tokens stop working."""
        return _issued(self._http.post(f"/identities/service-principals/{name}/reset-secret"))

    def set_role(self, name: str, role: str) -> Identity:
        return identity_from_dict(self._http.post(
            f"/identities/service-principals/{name}/set-role", {"role": role}))

    def delete(self, name: str) -> None:
        self._http.delete(f"/identities/service-principals/{name}")


class RemoteUsers:
    def __init__(self, http: Http) -> None:
        self._http = http

    def add(self, name: str, role: str = "reader", password: str | None = None) -> IssuedSecret:
        """A new user; without ``password`` one is generated (``issued.secret``)."""
        return _issued(self._http.post("/identities/users",
                                       {"name": name, "role": role, "password": password}))

    def get(self, name: str) -> Identity:
        return identity_from_dict(self._http.get(f"/identities/users/{name}"))

    def list(self) -> builtins.list[Identity]:
        return [identity_from_dict(i) for i in self._http.items("/identities", kind="users")]

    def set_role(self, name: str, role: str) -> Identity:
        return identity_from_dict(self._http.post(f"/identities/users/{name}/set-role",
                                                  {"role": role}))

    def reset_password(self, name: str, password: str | None = None) -> IssuedSecret:
        """Set (or generate) a new password; the user is signed out everywhere."""
        return _issued(self._http.post(f"/identities/users/{name}/reset-password",
                                       {"password": password}))

    def change_password(self, name: str, old: str, new: str) -> Identity:
        """Change your own password (``name`` is the signed-in user), proving the
        current one. Your other sign-ins end; a ``slipway login`` session here
        signs in again with the new password."""
        me = self._http.get("/me")
        if me["kind"] == USER and me["name"] != name:
            raise InvalidInput(f"signed in as {me['name']!r}, you can change only your own "
                               "password", code="not_your_password",
                               hint=f"an owner sets another user's: slipway users "
                                    f"reset-password {name}")
        changed = identity_from_dict(self._http.post("/me/password", {
            "old_password": old, "new_password": new}))
        auth = self._http.auth
        if isinstance(auth, InteractiveLoginAuthentication):
            password_login(self._http, name, new, auth.cache)
        return changed

    def delete(self, name: str) -> None:
        self._http.delete(f"/identities/users/{name}")


class RemoteIdentities:
    def __init__(self, http: Http) -> None:
        self._http = http
        self.service_principals = RemoteServicePrincipals(http)
        self.users = RemoteUsers(http)

    def list(self) -> builtins.list[Identity]:
        """Users and service principals, by name."""
        return [identity_from_dict(i) for i in self._http.items("/identities")]

    def me(self) -> dict[str, Any]:
        """Who this workspace's token speaks for: name, kind, role, workspace_id."""
        found: dict[str, Any] = self._http.get("/me")
        return found

    def ensure_owner(self, name: str = service.DEFAULT_OWNER_NAME) -> IssuedSecret | None:
        raise unsupported("creating the first owner",
                          "run `slipway users add NAME --role owner` on the server's machine "
                          "(with --workspace FOLDER)")

    def revoke_tokens(self, name: str) -> Identity:
        """Sign an identity out everywhere."""
        for identity in self.list():
            if identity.name == name:
                return identity_from_dict(self._http.post(
                    f"/identities/{_SEGMENT[identity.kind]}/{name}/revoke-tokens"))
        raise NotFound(f"no user or service principal named {name!r}",
                       code="identity_not_found")

    def issue_run_token(self, run_id: str, ttl: timedelta = tokens.RUN_TOKEN_TTL,
                        role: str = "contributor") -> TokenResponse:
        raise unsupported("issuing a run token",
                          "the server injects short-lived tokens into the runs it starts")

    def jwks(self) -> dict[str, builtins.list[dict[str, str]]]:
        """The public keys that verify this workspace's tokens."""
        keys: dict[str, builtins.list[dict[str, str]]] = self._http.public(
            "/.well-known/jwks.json")
        return keys

    def rotate_signing_key(self) -> str:
        """A new token-signing key (its kid); older tokens verify until they expire."""
        return str(self._http.post("/workspace/rotate-signing-key")["kid"])
