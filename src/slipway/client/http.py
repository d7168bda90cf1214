"""The SDK's HTTP layer for a remote workspace: one ``httpx.Client``, bearer
tokens from an ``Authentication``, and error envelopes turned back into the
same ``SlipwayError`` subclasses the services raise (so the CLI's messages and
exit codes are the same for local and remote workspaces)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from slipway.core.errors import (
    Canceled,
    Conflict,
    Forbidden,
    IntegrityError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RunFailed,
    SchemaOutOfDate,
    SlipwayError,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
)

if TYPE_CHECKING:
    from slipway.client.auth import Authentication

API_PREFIX = "/api/v1"
TOKEN_PATH = "/oauth/token"

_BY_CODE: dict[str, type[SlipwayError]] = {cls.code: cls for cls in (
    InvalidInput, NotFound, Conflict, Unauthenticated, Forbidden, PayloadTooLarge,
    SchemaOutOfDate, IntegrityError, Unavailable, RunFailed, Canceled, TooManyAttempts)}
_BY_STATUS: dict[int, type[SlipwayError]] = {
    400: InvalidInput, 401: Unauthenticated, 403: Forbidden, 404: NotFound, 409: Conflict,
    413: PayloadTooLarge, 422: InvalidInput, 429: TooManyAttempts, 503: Unavailable}
# RFC 6749 errors of /oauth/token: a refused credential is "unauthenticated" to the CLI.
_OAUTH_REFUSED = {"invalid_grant", "invalid_client", "unauthorized_client"}


def error_from_response(response: httpx.Response) -> SlipwayError:
    """The SlipwayError an error answer stands for (envelope or RFC 6749 body)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    hint: str | None = None
    details: dict[str, Any] | None = None
    cls: type[SlipwayError] | None
    if isinstance(error, dict):
        code = str(error.get("code") or "error")
        message = str(error.get("message") or f"HTTP {response.status_code}")
        hint, details = error.get("hint"), error.get("details")
        cls = _BY_CODE.get(code)
    elif isinstance(error, str) and isinstance(body, dict):
        code, message = error, str(body.get("error_description") or error)
        hint, details = body.get("hint"), body.get("details")
        cls = Unauthenticated if code in _OAUTH_REFUSED else _BY_CODE.get(code)
    else:
        request = response.request
        code = "bad_response"
        message = (f"HTTP {response.status_code} from {request.method} {request.url}: "
                   f"{response.text[:200]}")
        cls = None
    cls = cls or _BY_STATUS.get(response.status_code, SlipwayError)
    return cls(message, hint=hint, code=code, details=details if isinstance(details, dict) else None)


class Http:
    """Calls the control plane at ``url`` as the principal ``auth`` speaks for.

    ``transport`` is for tests and proxies (an ``httpx.BaseTransport``)."""

    def __init__(self, url: str, auth: Authentication, *,
                 transport: httpx.BaseTransport | None = None, timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.auth = auth
        self._client = httpx.Client(base_url=self.url, transport=transport, timeout=timeout_s)

    def close(self) -> None:
        self._client.close()

    def _send(self, method: str, path: str, headers: dict[str, str] | None = None,
              **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the Slipway server at {self.url} did not answer: {exc}",
                              hint="is `slipway server` running there? check the URL") from exc

    def token(self, form: dict[str, str]) -> dict[str, Any]:
        """``POST /oauth/token`` with a form; the RFC 6749 answer."""
        response = self._send("POST", TOKEN_PATH, data=form)
        if response.status_code >= 400:
            raise error_from_response(response)
        answer: dict[str, Any] = response.json()
        return answer

    def public(self, path: str) -> Any:
        """A GET outside ``/api/v1`` that needs no token (``/.well-known/jwks.json``)."""
        response = self._send("GET", path)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response.json()

    def request(self, method: str, path: str, *, retry: bool = True,
                **kwargs: Any) -> httpx.Response:
        """An API call (``path`` below ``/api/v1``); raises the error it answers.
        A 401 makes the authentication renew its token once and try again."""
        url = API_PREFIX + path
        response = self._send(method, url, self._bearer(), **kwargs)
        if response.status_code == 401 and retry and self.auth.renew(self):
            response = self._send(method, url, self._bearer(), **kwargs)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def _bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.auth.access_token(self)}"}

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=clean).json()

    def post(self, path: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        response = self.request("POST", path, json=body, params=clean)
        return response.json() if response.content else None

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, json=body).json()

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def items(self, path: str, **params: Any) -> list[Any]:
        items: list[Any] = self.get(path, **params)["items"]
        return items

    def download(self, path: str, target: Path, **params: Any) -> Path:
        """Stream a file answer to ``target``."""
        self.fetch(path, target, **params)
        return target

    def fetch(self, path: str, target: Path, **params: Any) -> httpx.Headers:
        """Stream a file answer to ``target``; its headers."""
        clean = {k: v for k, v in params.items() if v is not None}
        url = API_PREFIX + path
        for attempt in (0, 1):
            try:
                with self._client.stream("GET", url, params=clean,
                                         headers=self._bearer()) as response:
                    if response.status_code == 401 and attempt == 0 and self.auth.renew(self):
                        continue
                    if response.status_code >= 400:
                        response.read()
                        raise error_from_response(response)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with target.open("wb") as out:
                        for chunk in response.iter_bytes():
                            out.write(chunk)
                    return response.headers
            except httpx.HTTPError as exc:
                raise Unavailable(f"the Slipway server at {self.url} did not answer: {exc}",
                                  hint="is `slipway server` running there?") from exc
        raise Unauthenticated("the server refused the renewed token")


def unsupported(what: str, instead: str) -> SlipwayError:
    """The error a remote workspace raises for what only a local one can do."""
    return SlipwayError(f"{what} is not available on a remote workspace", code="remote_unsupported",
                        hint=instead)


def copy_tree(source: Path, target: Path) -> Path:
    if target.exists() and any(target.iterdir()):
        raise InvalidInput(f"{target} exists and is not empty", hint="choose an empty folder")
    shutil.copytree(source, target, dirs_exist_ok=True)
    return target


def unzip(archive: Path, target: Path) -> Path:
    """Unpack a zip answer into ``target`` and delete the archive."""
    import zipfile

    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(target)
    archive.unlink()
    return target
