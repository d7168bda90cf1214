"""Read a tabular file (CSV or Parquet, local or over http(s)) into a pyarrow Table.

Every way a file can be unusable becomes one ``InvalidInput`` (or ``NotFound``,
``Unavailable``) with a one-line message naming the file and the problem, and a
hint saying what to do. pyarrow's own error text never reaches the user as the
main message.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from slipway.core.errors import InvalidInput, NotFound, SourceUnreachable

__all__ = ["CSV_DELIMITERS", "read_table", "sniff_delimiter"]

CSV_DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
DOWNLOAD_TIMEOUT_S = 30.0
_SNIFF_BYTES = 64 * 1024
_SCAN_CHUNK = 1 << 20
_PARQUET_MAGIC = b"PAR1"
_BINARY_MAGICS: dict[bytes, str] = {
    b"\x1f\x8b": "a gzip archive",
    b"PK\x03\x04": "a zip archive (or an Excel .xlsx workbook)",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office document",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"SQLite format 3": "an SQLite database",
}
_SAVE_AS_HINT = "Save the data as UTF-8 CSV (comma, semicolon, tab or | separated) or as Parquet."


def read_table(source: str | Path) -> pa.Table:
    """Read a CSV or Parquet file (a local path or an http(s) URL) into a pyarrow Table.

    The format is detected from the content: Parquet by its ``PAR1`` magic bytes,
    anything else is read as UTF-8 CSV with a header row and a delimiter detected
    from the first lines (``,`` ``;`` tab ``|``).

    Example::

        >>> table = read_table("train.csv")
        >>> table.num_rows, table.num_columns
        (26361, 21)
    """
    if isinstance(source, str) and _is_url(source):
        return _read_url(source)
    if isinstance(source, str) and "://" in source:
        scheme = source.split("://", 1)[0]
        raise InvalidInput(
            f"unsupported URL scheme {scheme!r} in {source}",
            hint="Use a local path or an http(s) URL; download other sources first.",
        )
    return _read_path(Path(source).expanduser(), display=str(source))


def sniff_delimiter(sample: str) -> str:
    """Pick the delimiter that splits the sample's lines into the most consistent columns.

    ``sample`` is the start of the file as text. Quoted fields are honoured, so a
    comma inside ``"..."`` does not count. Falls back to ``,`` (a one-column file).
    """
    best, best_key = ",", (0.0, 1)
    for delimiter in CSV_DELIMITERS:
        try:
            rows = csv.reader(io.StringIO(sample), delimiter=delimiter)
            counts = [len(row) for row in rows if row]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts) / len(counts)
        key = (consistent, counts[0])
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _is_url(source: str) -> bool:
    return urlparse(source).scheme.lower() in ("http", "https")


def _read_url(url: str) -> pa.Table:
    suffix = Path(urlparse(url).path).suffix[:16]
    with tempfile.TemporaryDirectory(prefix="slipway-download-") as tmp:
        target = Path(tmp) / f"download{suffix}"
        _download(url, target)
        return _read_path(target, display=url)


def _download(url: str, target: Path) -> None:
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=DOWNLOAD_TIMEOUT_S) as resp:
            if not resp.is_success:
                raise SourceUnreachable(
                    f"{url} answered HTTP {resp.status_code} {resp.reason_phrase}".rstrip(),
                    hint="Check that the URL is right and publicly readable, then try again.",
                    details={"url": url, "status": resp.status_code},
                )
            with target.open("wb") as out:
                for chunk in resp.iter_bytes(_SCAN_CHUNK):
                    out.write(chunk)
    except httpx.HTTPError as exc:
        reason = type(exc).__name__
        raise SourceUnreachable(
            f"could not download {url}: {reason} ({exc})",
            hint="Check the URL and your network connection, then try again.",
            details={"url": url},
        ) from exc


def _read_path(path: Path, display: str) -> pa.Table:
    if not path.exists():
        raise NotFound(
            f"file not found: {display}",
            hint="Check the path; relative paths are resolved from the current directory.",
        )
    if path.is_dir():
        raise InvalidInput(
            f"{display} is a directory, not a file",
            hint="Pass the path of one CSV or Parquet file inside it.",
        )
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head:
        raise InvalidInput(
            f"{display} is empty (0 bytes)",
            hint="Pass a CSV file with a header row and at least one data row.",
        )
    if head.startswith(_PARQUET_MAGIC):
        table = _read_parquet(path, display)
    else:
        table = _read_csv(path, display, head)
    _check_columns(table.column_names, display)
    if table.num_rows == 0:
        raise InvalidInput(
            f"{display} has a header but no data rows", hint="Add at least one data row below the header."
        )
    return table


def _read_parquet(path: Path, display: str) -> pa.Table:
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(
            f"{display} starts like Parquet but cannot be read as Parquet",
            hint="The file may be truncated or corrupt; write it again.",
        ) from exc


def _read_csv(path: Path, display: str, head: bytes) -> pa.Table:
    _reject_binary(head, display)
    text = _decode_head(head, display, truncated=len(head) == _SNIFF_BYTES)
    if not text.strip():
        raise InvalidInput(
            f"{display} has no header row (only blank lines)", hint="The first line must name the columns."
        )
    delimiter = sniff_delimiter(text)
    multiline = _has_multiline_record(text, delimiter)
    try:
        table = _arrow_read_csv(path, delimiter, multiline=multiline)
    except pa.ArrowInvalid as exc:
        error = _explain_csv_error(path, display, delimiter, str(exc))
        if multiline or "line" in error.details or "expected_fields" not in error.details:
            raise error from exc
        # No row is really ragged once quotes are honoured: a quoted line break fell on a
        # boundary between pyarrow's parallel blocks. Read again with quote-aware chunking.
        try:
            table = _arrow_read_csv(path, delimiter, multiline=True)
        except pa.ArrowInvalid as again:
            raise _explain_csv_error(path, display, delimiter, str(again)) from again
    if table.column_names and all(_looks_numeric(name) for name in table.column_names):
        raise InvalidInput(
            f"{display}: the first line looks like data, not a header (every column name is a number)",
            hint="Add a header row naming the columns as the first line.",
        )
    binary = [f.name for f in table.schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    if binary:
        # pyarrow falls back to binary for a column with invalid UTF-8 instead of failing.
        raise _not_utf8(path, display, column=binary[0] if len(binary) == 1 else None)
    return table


def _arrow_read_csv(path: Path, delimiter: str, *, multiline: bool) -> pa.Table:
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=multiline)
    convert = pacsv.ConvertOptions(strings_can_be_null=True)
    return pacsv.read_csv(path, parse_options=parse, convert_options=convert)


def _reject_binary(head: bytes, display: str) -> None:
    for magic, kind in _BINARY_MAGICS.items():
        if head.startswith(magic):
            raise InvalidInput(f"{display} is {kind}, not a CSV or Parquet file", hint=_SAVE_AS_HINT)
    if b"\x00" in head:
        encoding = " (it looks UTF-16 encoded)" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise InvalidInput(
            f"{display} is a binary file, not a CSV or Parquet file{encoding}", hint=_SAVE_AS_HINT
        )


def _decode_head(head: bytes, display: str, *, truncated: bool) -> str:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(head, final=not truncated)
    except UnicodeDecodeError as exc:
        raise _not_utf8_at(display, head, exc.start) from exc
    if truncated and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # the last line may be cut mid-way
    return text


def _has_multiline_record(text: str, delimiter: str) -> bool:
    if '"' not in text:
        return False
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return any(reader.line_num != records for records, _ in enumerate(reader, start=1))
    except csv.Error:
        return True


_RAGGED = re.compile(r"Expected (\d+) columns, got (\d+)")


def _explain_csv_error(path: Path, display: str, delimiter: str, message: str) -> InvalidInput:
    ragged = _RAGGED.search(message)
    if ragged:
        expected = int(ragged.group(1))
        found = _first_ragged_line(path, delimiter, expected)
        where = f"line {found[0]} has {found[1]} fields" if found else f"a row has {ragged.group(2)} fields"
        return InvalidInput(
            f"{display}: {where}, but the header has {expected} columns",
            hint="Make every row have the same number of fields as the header "
            "(quote values that contain the delimiter).",
            details={"expected_fields": expected, **({"line": found[0]} if found else {})},
        )
    reason = message.splitlines()[0].removeprefix("CSV parse error: ").strip()
    return InvalidInput(f"{display} could not be parsed as CSV: {reason}", hint=_SAVE_AS_HINT)


def _first_ragged_line(path: Path, delimiter: str, expected: int) -> tuple[int, int] | None:
    # Only on the error path: pyarrow reads in parallel and does not report line numbers.
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        for row in reader:
            if row and len(row) != expected:
                return reader.line_num, len(row)
    return None


def _not_utf8(path: Path, display: str, column: str | None) -> InvalidInput:
    offset = 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines = 0
    with path.open("rb") as fh:
        for chunk in _chunks(fh):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line = newlines + chunk.count(b"\n", 0, max(exc.start, 0)) + 1
                return _not_utf8_error(display, line, offset + exc.start, column)
            newlines += chunk.count(b"\n")
            offset += len(chunk)
    return _not_utf8_error(display, None, None, column)


def _not_utf8_at(display: str, head: bytes, position: int) -> InvalidInput:
    return _not_utf8_error(display, head.count(b"\n", 0, position) + 1, position, None)


def _not_utf8_error(display: str, line: int | None, offset: int | None, column: str | None) -> InvalidInput:
    where = [f"line {line}"] if line is not None else []
    if column is not None:
        where.append(f"column {column!r}")
    if offset is not None:
        where.append(f"byte {offset}")
    at = f" (first bad byte at {', '.join(where)})" if where else ""
    return InvalidInput(
        f"{display} is not UTF-8 text{at}; the file must be UTF-8",
        hint="Re-save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`, "
        "or 'CSV UTF-8' in a spreadsheet).",
        details={k: v for k, v in (("line", line), ("byte", offset), ("column", column)) if v is not None},
    )


def _chunks(fh: io.BufferedReader) -> Iterator[bytes]:
    while chunk := fh.read(_SCAN_CHUNK):
        yield chunk


def _check_columns(names: list[str], display: str) -> None:
    for position, name in enumerate(names, start=1):
        if not name.strip():
            raise InvalidInput(
                f"{display}: column {position} has an empty name",
                hint="Give every column a name in the header row.",
            )
    duplicates = [name for name, count in Counter(names).items() if count > 1]
    if duplicates:
        listed = ", ".join(repr(n) for n in duplicates)
        raise InvalidInput(
            f"{display} has duplicate column names: {listed}",
            hint="Rename the columns so that every name is unique.",
        )


def _looks_numeric(name: str) -> bool:
    try:
        float(name)
    except ValueError:
        return False
    return True
