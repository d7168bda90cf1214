"""Credentials for a remote workspace.

The SDK looks for them in this order: the ``auth`` given to ``Workspace``; the
environment (``SLIPWAY_CLIENT_ID`` + ``SLIPWAY_CLIENT_SECRET`` for a service
principal, or ``SLIPWAY_TOKEN``); the token ``slipway login`` cached for the
server URL in ``~/.slipway/credentials.json`` (mode 0600), refreshed when the
access token expires.

>>> ws = Workspace("https://slipway.example.com",
...                auth=ServicePrincipalAuthentication(client_id, client_secret))
"""

from __future__ import annotations

import abc
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slipway.core.errors import SlipwayError, Unauthenticated

if TYPE_CHECKING:
    from slipway.client.http import Http

EXPIRY_MARGIN_S = 60  # renew a little early: clocks differ and requests take time
CREDENTIALS_FILE = "credentials.json"
DEFAULT_KEY = "default"  # not a URL, so never a server's entry


def _login_hint(url: str) -> str:
    return (f"run `slipway login --url {url}`, or set SLIPWAY_CLIENT_ID and "
            "SLIPWAY_CLIENT_SECRET (slipway sp create NAME --sdk-auth)")


class Authentication(abc.ABC):
    """Gives the HTTP layer an access token; ``renew`` after the server said 401."""

    @abc.abstractmethod
    def access_token(self, http: Http) -> str:
        """A valid access token for the server ``http`` talks to."""

    def renew(self, http: Http) -> bool:
        """Get a fresh token; False when there is no way to."""
        return False


class TokenAuthentication(Authentication):
    """A bearer token you already have (``SLIPWAY_TOKEN``, a run's injected token)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self, http: Http) -> str:
        return self._token


class ServicePrincipalAuthentication(Authentication):
    """A service principal's client id and secret (the client-credentials grant).

    >>> auth = ServicePrincipalAuthentication(creds["clientId"], creds["clientSecret"])
    """

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self._token: str | None = None
        self._expires_on = 0.0

    def access_token(self, http: Http) -> str:
        if self._token is None or time.time() > self._expires_on - EXPIRY_MARGIN_S:
            self.renew(http)
        assert self._token is not None
        return self._token

    def renew(self, http: Http) -> bool:
        answer = http.token({"grant_type": "client_credentials", "client_id": self.client_id,
                             "client_secret": self._secret})
        self._token = answer["access_token"]
        self._expires_on = float(answer.get("expires_on") or time.time() + 300)
        return True

    def __repr__(self) -> str:
        return f"ServicePrincipalAuthentication(client_id={self.client_id!r})"


class TokenCache:
    """``~/.slipway/credentials.json``: per server URL, the tokens of ``slipway login``.
    Written with mode 0600 (it holds a refresh token)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or Path("~/.slipway").expanduser() / CREDENTIALS_FILE

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, url: str) -> dict[str, Any] | None:
        entry = self._load().get(url.rstrip("/"))
        return entry if isinstance(entry, dict) else None

    def default_url(self) -> str | None:
        """The server of the last ``slipway login``: the workspace of commands that
        name none (no --workspace, no SLIPWAY_WORKSPACE, no config file)."""
        data = self._load()
        url = data.get(DEFAULT_KEY)
        return url if isinstance(url, str) and isinstance(data.get(url), dict) else None

    def set_default(self, url: str) -> None:
        data = self._load()
        data[DEFAULT_KEY] = url.rstrip("/")
        self._write(data)

    def put(self, url: str, entry: dict[str, Any]) -> None:
        data = self._load()
        data[url.rstrip("/")] = entry
        self._write(data)

    def remove(self, url: str) -> bool:
        data = self._load()
        found = data.pop(url.rstrip("/"), None) is not None
        if data.get(DEFAULT_KEY) == url.rstrip("/"):
            del data[DEFAULT_KEY]
        if found:
            self._write(data)
        return found

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staged = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2)
        os.chmod(staged, 0o600)
        os.replace(staged, self.path)


def _entry(answer: dict[str, Any], username: str | None) -> dict[str, Any]:
    return {"access_token": answer["access_token"],
            "refresh_token": answer.get("refresh_token"),
            "expires_on": int(answer.get("expires_on") or time.time() + 300),
            "username": username}


def password_login(http: Http, username: str, password: str,
                   cache: TokenCache | None = None) -> dict[str, Any]:
    """Sign in with a password and cache the tokens for ``http.url``."""
    entry = _entry(http.token({"grant_type": "password", "username": username,
                               "password": password}), username)
    (cache or TokenCache()).put(http.url, entry)
    return entry


class InteractiveLoginAuthentication(Authentication):
    """A user's sign-in: the tokens ``slipway login`` cached for this server,
    refreshed when they expire; with none cached, asks for a user name and
    password when a terminal is attached.

    >>> ws = Workspace("http://127.0.0.1:8765", auth=InteractiveLoginAuthentication())
    """

    def __init__(self, username: str | None = None, *, cache: TokenCache | None = None,
                 prompt: bool | None = None) -> None:
        self.username = username
        self.cache = cache or TokenCache()
        self._prompt = sys.stdin.isatty() if prompt is None else prompt

    def access_token(self, http: Http) -> str:
        entry = self.cache.get(http.url)
        if entry is None:
            entry = self._sign_in(http)
        elif time.time() > float(entry.get("expires_on", 0)) - EXPIRY_MARGIN_S:
            entry = self._refresh(http, entry)
        return str(entry["access_token"])

    def renew(self, http: Http) -> bool:
        entry = self.cache.get(http.url)
        if entry is None:
            return False
        self._refresh(http, entry)
        return True

    def _refresh(self, http: Http, entry: dict[str, Any]) -> dict[str, Any]:
        if entry.get("refresh_token"):
            try:
                fresh = _entry(http.token({"grant_type": "refresh_token",
                                           "refresh_token": entry["refresh_token"]}),
                               entry.get("username"))
            except Unauthenticated:
                self.cache.remove(http.url)
            else:
                self.cache.put(http.url, fresh)
                return fresh
        return self._sign_in(http, entry.get("username"))

    def _sign_in(self, http: Http, username: str | None = None) -> dict[str, Any]:
        if not self._prompt:
            raise Unauthenticated(f"not signed in to {http.url}", code="not_signed_in",
                                  hint=_login_hint(http.url))
        import getpass

        name = self.username or username or input(f"User name for {http.url}: ").strip()
        password = getpass.getpass(f"Password for {name}: ")
        return password_login(http, name, password, self.cache)


def from_environment(env: dict[str, str] | None = None) -> Authentication | None:
    """A service principal (``SLIPWAY_CLIENT_ID``/``SLIPWAY_CLIENT_SECRET``) or a
    token (``SLIPWAY_TOKEN``) from the environment, if set."""
    env = dict(os.environ if env is None else env)
    client_id, secret = env.get("SLIPWAY_CLIENT_ID", ""), env.get("SLIPWAY_CLIENT_SECRET", "")
    if client_id or secret:
        if not (client_id and secret):
            raise SlipwayError("SLIPWAY_CLIENT_ID and SLIPWAY_CLIENT_SECRET go together",
                               code="invalid_credentials", hint="set both, or neither")
        return ServicePrincipalAuthentication(client_id, secret)
    token = env.get("SLIPWAY_TOKEN", "")
    return TokenAuthentication(token) if token else None


def default_authentication() -> Authentication:
    """The environment's credentials, else the cached ``slipway login``."""
    return from_environment() or InteractiveLoginAuthentication()
