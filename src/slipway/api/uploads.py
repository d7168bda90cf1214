"""Streaming a ``multipart/form-data`` upload straight to a file in the
workspace's staging area, under a size limit, without holding it in memory.

The caller owns the folder (``ArtifactStore.staging_dir``), so whatever
happens (limit exceeded, malformed body, client gone half way) the partial
file is removed with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from slipway.api.middleware import too_large
from slipway.core.errors import InvalidInput

MAX_FIELD_BYTES = 4096
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and text fields around the file
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Upload:
    fields: dict[str, str]
    path: Path | None = None
    filename: str = ""
    size_bytes: int = 0


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


class _Receiver:
    """python-multipart callbacks: text fields in memory, the one file on disk."""

    def __init__(self, folder: Path, *, file_field: str, text_fields: set[str],
                 max_file_bytes: int) -> None:
        self.folder = folder
        self.file_field = file_field
        self.text_fields = text_fields
        self.max_file_bytes = max_file_bytes
        self.upload = Upload(fields={})
        self.ended = False
        self._part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._out: BinaryIO | None = None

    def callbacks(self) -> dict[str, object]:
        return {"on_part_begin": self._begin, "on_header_field": self._field,
                "on_header_value": self._value, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_done, "on_part_data": self._data,
                "on_part_end": self._part_end, "on_end": self._end}

    def _begin(self) -> None:
        self._part = _Part()

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if bytes(self._header_field).lower() == b"content-disposition":
            _, options = parse_options_header(bytes(self._header_value))
            self._part.name = options.get(b"name", b"").decode("utf-8", "replace")
            filename = options.get(b"filename")
            self._part.filename = None if filename is None else filename.decode("utf-8", "replace")
        self._header_field.clear()
        self._header_value.clear()

    def _headers_done(self) -> None:
        part = self._part
        if part.name == self.file_field:
            if self.upload.path is not None:
                raise InvalidInput(f"send one '{self.file_field}' part, not several",
                                   code="invalid_upload")
            self.upload.filename = _safe_filename(part.filename or "")
            self.upload.path = self.folder / self.upload.filename
            self._out = self.upload.path.open("wb")
        elif part.name not in self.text_fields:
            allowed = ", ".join([self.file_field, *sorted(self.text_fields)])
            raise InvalidInput(f"unknown form field {part.name!r}", code="validation_failed",
                               hint=f"the fields are: {allowed}", details={"field": part.name})

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._out is not None:
            self.upload.size_bytes += end - start
            if self.max_file_bytes and self.upload.size_bytes > self.max_file_bytes:
                raise too_large(self.max_file_bytes, "the uploaded file")
            self._out.write(data[start:end])
            return
        self._part.data += data[start:end]
        if len(self._part.data) > MAX_FIELD_BYTES:
            raise InvalidInput(f"form field {self._part.name!r} is longer than "
                               f"{MAX_FIELD_BYTES} bytes", code="validation_failed",
                               details={"field": self._part.name})

    def _part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        elif self._part.name:
            value = self._part.data.decode("utf-8", "replace")
            if "\x00" in value:
                raise InvalidInput(f"form field {self._part.name!r} contains a NUL character",
                                   code="validation_failed", details={"field": self._part.name})
            self.upload.fields[self._part.name] = value

    def _end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self._out is not None:
            self._out.close()


def _safe_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip("._")[:100]
    return cleaned or "upload"


async def receive_upload(request: Request, folder: Path, *, file_field: str,
                         text_fields: set[str], max_file_bytes: int) -> Upload:
    """Read the request body as multipart, the file part into ``folder``."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidInput("send the file as multipart/form-data",
                           code="invalid_upload",
                           hint=f"curl -F name=NAME -F {file_field}=@train.csv ...")
    declared = int(request.headers.get("content-length") or 0)
    if max_file_bytes and declared > max_file_bytes + MULTIPART_OVERHEAD:
        raise too_large(max_file_bytes, "the uploaded file")
    receiver = _Receiver(folder, file_field=file_field, text_fields=text_fields,
                         max_file_bytes=max_file_bytes)
    parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if receiver.ended:
                break
    except ClientDisconnect:
        raise InvalidInput("the client went away before the upload finished",
                           code="upload_incomplete") from None
    except ValueError as exc:  # MultipartParseError
        raise InvalidInput(f"the multipart body is malformed: {exc}",
                           code="invalid_upload") from None
    finally:
        receiver.close()
    if not receiver.ended:
        raise InvalidInput("the upload ended before its closing boundary",
                           code="upload_incomplete", hint="send the whole file again")
    if receiver.upload.path is None:
        raise InvalidInput(f"no '{file_field}' part in the upload", code="validation_failed",
                           hint=f"curl -F {file_field}=@train.csv ...",
                           details={"field": file_field})
    return receiver.upload
