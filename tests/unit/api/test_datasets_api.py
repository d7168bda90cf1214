"""Datasets over HTTP: multipart upload streamed to staging, URL registration,
reads, archive; a failed upload leaves nothing behind."""

from __future__ import annotations

import functools
import http.server
import io
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from .conftest import Api

BOUNDARY = "slipwayboundary"


def _staging_empty(api: Api) -> bool:
    tmp = api.ctx.artifacts.root / "tmp"
    return not tmp.exists() or not any(tmp.iterdir())


def _upload(api: Api, name: str, content: bytes, who: str = "contributor",
            filename: str = "data.csv", **fields: str) -> Any:
    return api.client.post("/api/v1/datasets/upload", headers=api.as_(who),
                           data={"name": name, **fields},
                           files={"file": (filename, content, "text/csv")})


def test_upload_registers_then_dedupes(api: Api, bank_csv: Path) -> None:
    content = bank_csv.read_bytes()
    response = _upload(api, "bankmarketing", content, filename="../../train.csv",
                       description="the bank file")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["version"], body["created"]) == ("bankmarketing", 1, True)
    assert body["num_rows"] == 26361 and body["num_columns"] == 21
    assert body["description"] == "the bank file" and "profile" in body
    again = _upload(api, "bankmarketing", content)
    assert again.status_code == 200 and again.json()["created"] is False
    assert _staging_empty(api)
    h = api.as_("reader")
    listed = api.client.get("/api/v1/datasets", headers=h).json()["items"]
    assert [d["name"] for d in listed] == ["bankmarketing", "toy"]
    preview = api.client.get("/api/v1/datasets/bankmarketing/preview?rows=3", headers=h).json()
    assert len(preview["rows"]) == 3 and "y" in preview["rows"][0]
    versions = api.client.get("/api/v1/datasets/bankmarketing/versions", headers=h).json()
    assert [v["version"] for v in versions["items"]] == [1]
    assert "profile" not in versions["items"][0]
    data = api.client.get("/api/v1/datasets/bankmarketing/data?version=1", headers=h)
    assert data.status_code == 200
    assert pq.read_table(io.BytesIO(data.content)).num_rows == 26361


def test_unregister_and_restore(api: Api) -> None:
    h = api.as_("contributor")
    archived = api.client.post("/api/v1/datasets/toy/unregister", headers=h).json()
    assert archived["archived"] is True
    assert api.client.get("/api/v1/datasets", headers=h).json()["items"] == []
    everything = api.client.get("/api/v1/datasets?include_archived=true", headers=h).json()
    assert [d["name"] for d in everything["items"]] == ["toy"]
    assert api.client.post("/api/v1/datasets/toy/restore", headers=h).json()["archived"] is False
    missing = api.client.get("/api/v1/datasets/toy?version=7", headers=h)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "dataset_version_not_found"


def test_a_truncated_upload_leaves_nothing(api: Api) -> None:
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nhalf\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"d.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        for _ in range(20):
            yield b"a,b\n1,2\n" * 1000  # and then the client stops: no closing boundary

    response = api.client.post("/api/v1/datasets/upload", content=body(), headers={
        **api.as_("contributor"), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "upload_incomplete"
    assert _staging_empty(api)
    assert api.client.get("/api/v1/datasets/half", headers=api.as_("reader")).status_code == 404


def test_upload_over_the_limit_is_413_and_leaves_nothing(make_api: Any, tmp_path: Path) -> None:
    from slipway.services import identities

    from .conftest import bearer, sign_in

    app, client = make_api(tmp_path / "limited", max_upload_bytes=1000)
    ctx = app.state.slipway.ctx
    h = bearer(sign_in(ctx, "up", "contributor"))
    big = b"a,b\n" + b"1,2\n" * 1000

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted while streaming
        yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"d.csv\"\r\n\r\n").encode()
        yield big
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    attempts: list[dict[str, Any]] = [
        {"files": {"file": ("d.csv", big)}, "data": {"name": "big"}},
        {"content": chunked(), "headers": {
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}}]
    for kwargs in attempts:
        headers = {**h, **kwargs.pop("headers", {})}
        response = client.post("/api/v1/datasets/upload", headers=headers, **kwargs)
        assert response.status_code == 413, response.text
        assert response.json()["error"]["details"] == {"limit_bytes": 1000}
    tmp = ctx.artifacts.root / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())
    assert identities.list_identities(ctx)  # the app is fine afterwards
    assert client.get("/api/v1/datasets", headers=h).json() == {"items": []}


@pytest.mark.parametrize(("content", "fields", "code"), [
    (b"\x89PNG\r\n\x1a\n....", {}, "invalid_input"),
    (b"", {}, "invalid_input"),
    (b"a,b\n1,2\n", {"colour": "red"}, "validation_failed"),
])
def test_bad_uploads_leave_nothing(api: Api, content: bytes, fields: dict[str, str],
                                   code: str) -> None:
    response = _upload(api, "broken", content, **fields)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"] == code
    assert _staging_empty(api)
    assert api.client.get("/api/v1/datasets/broken", headers=api.as_("reader")).status_code == 404


def test_upload_needs_a_name_and_a_file(api: Api) -> None:
    h = api.as_("contributor")
    no_name = api.client.post("/api/v1/datasets/upload", headers=h,
                              files={"file": ("d.csv", b"a,b\n1,2\n")})
    assert no_name.status_code == 400 and no_name.json()["error"]["details"] == {"field": "name"}
    no_file = api.client.post("/api/v1/datasets/upload", headers=h, files={"name": (None, "x")})
    assert no_file.status_code == 400 and no_file.json()["error"]["details"] == {"field": "file"}
    as_json = api.client.post("/api/v1/datasets/upload", headers=h, json={"name": "x"})
    assert as_json.status_code == 400 and as_json.json()["error"]["code"] == "invalid_upload"


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "train.csv").write_text("a,b,y\n1,2,no\n3,4,yes\n5,6,no\n")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


def test_register_by_url(api: Api, file_server: str) -> None:
    h = api.as_("contributor")
    response = api.client.post("/api/v1/datasets", headers=h, json={
        "name": "remote", "url": f"{file_server}/train.csv", "description": "from a URL"})
    assert response.status_code == 201, response.text
    assert response.json()["source"] == f"{file_server}/train.csv"
    assert response.json()["num_rows"] == 3
    missing = api.client.post("/api/v1/datasets", headers=h, json={
        "name": "remote", "url": f"{file_server}/nope.csv"})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "source_unreachable"
    not_http = api.client.post("/api/v1/datasets", headers=h, json={
        "name": "remote", "url": "file:///etc/passwd"})
    assert not_http.status_code == 422
