"""read_table: formats, delimiters, URLs, and one clear error per kind of bad file."""

from __future__ import annotations

import functools
import socket
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from slipway.core.errors import InvalidInput, NotFound, Unavailable
from slipway.data import read_table
from slipway.data.read import sniff_delimiter


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_detects_each_delimiter(tmp_path: Path, delimiter: str) -> None:
    rows = [["name", "score", "city"], ["ann", "1.5", "oslo"], ["bob", "2.5", "rome"]]
    path = write(tmp_path, "t.csv", "\n".join(delimiter.join(r) for r in rows) + "\n")
    table = read_table(path)
    assert table.column_names == ["name", "score", "city"]
    assert table.column("score").to_pylist() == [1.5, 2.5]


def test_delimiter_inside_quotes_does_not_fool_the_sniffer(tmp_path: Path) -> None:
    text = 'id;comment\n1;"a, b, c, d"\n2;"e, f, g"\n3;"h, i"\n'
    assert sniff_delimiter(text) == ";"
    table = read_table(write(tmp_path, "q.csv", text))
    assert table.column("comment").to_pylist() == ["a, b, c, d", "e, f, g", "h, i"]


def test_quoted_newlines_inside_values(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "n.csv", 'id,note\n1,"line one\nline two"\n2,plain\n'))
    assert table.column("note").to_pylist() == ["line one\nline two", "plain"]


def test_quoted_line_break_on_a_block_boundary(tmp_path: Path) -> None:
    # pyarrow splits files into 1 MiB blocks for parallel parsing; a quoted line break
    # right at a boundary looks like a short row unless the file is re-read quote-aware.
    row = "1,x\n"
    head = "a,b\n" + row * ((1 << 20) // len(row) - 3)
    path = write(tmp_path, "edge.csv", head + '2,"yy\nz"\n' + row * 1000)
    table = read_table(path)
    assert table.num_rows == (1 << 20) // len(row) - 3 + 1 + 1000
    assert "yy\nz" in table.column("b").to_pylist()


def test_expands_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path, "home.csv", "a\n1\n")
    assert read_table("~/home.csv").num_rows == 1


def test_single_column_csv(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "one.csv", "value\n3\n4\n"))
    assert table.column_names == ["value"]
    assert table.column("value").to_pylist() == [3, 4]


def test_utf8_bom_and_non_ascii_values(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "bom.csv", "\ufeffcity,n\nZürich,1\nKraków,2\n"))
    assert table.column_names == ["city", "n"]
    assert table.column("city").to_pylist() == ["Zürich", "Kraków"]


def test_empty_string_cells_are_missing(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "m.csv", "a,b\nx,1\n,2\nz,\n"))
    assert table.column("a").null_count == 1
    assert table.column("b").null_count == 1


def test_parquet_is_detected_by_magic_bytes_not_extension(tmp_path: Path) -> None:
    source = pa.table({"a": [1, 2, 3], "b": ["x", "y", None]})
    path = tmp_path / "data.csv"  # misleading extension on purpose
    pq.write_table(source, path)
    assert read_table(path).equals(source)


def test_accepts_str_path(tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "a\n1\n")
    assert read_table(str(path)).num_rows == 1


# --- bad input -------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"file not found: .*nope\.csv") as info:
        read_table(tmp_path / "nope.csv")
    assert info.value.hint


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="is a directory, not a file"):
        read_table(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"is empty \(0 bytes\)"):
        read_table(write(tmp_path, "e.csv", b""))


def test_blank_lines_only(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no header row"):
        read_table(write(tmp_path, "b.csv", "\n\n  \n"))


def test_header_only(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="has a header but no data rows"):
        read_table(write(tmp_path, "h.csv", "a,b,c\n"))


def test_duplicate_column_names_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as info:
        read_table(write(tmp_path, "d.csv", "age,job,age,x,job\n1,a,2,3,b\n"))
    assert info.value.message.endswith("d.csv has duplicate column names: 'age', 'job'")


def test_missing_header_row(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="first line looks like data, not a header"):
        read_table(write(tmp_path, "nh.csv", "1,2.5,3\n4,5.5,6\n"))


def test_some_numeric_column_names_are_fine(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "years.csv", "country,2023,2024\nno,1,2\n"))
    assert table.column_names == ["country", "2023", "2024"]


def test_numeric_column_names_are_fine_in_parquet(tmp_path: Path) -> None:
    path = tmp_path / "n.parquet"
    pq.write_table(pa.table({"0": [1], "1": [2]}), path)
    assert read_table(path).column_names == ["0", "1"]


def test_empty_column_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="column 2 has an empty name"):
        read_table(write(tmp_path, "n.csv", "a,,c\n1,2,3\n"))


def test_non_utf8_in_first_bytes_says_where(tmp_path: Path) -> None:
    path = write(tmp_path, "latin1.csv", "name,city\nann,Zürich\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match=r"not UTF-8 text .*line 2.*must be UTF-8") as info:
        read_table(path)
    assert info.value.details["line"] == 2
    assert "iconv" in (info.value.hint or "")


def test_non_utf8_far_into_the_file_names_line_and_column(tmp_path: Path) -> None:
    body = "".join(f"{i},plain value {i}\n" for i in range(5000))  # > 64 KiB sniff window
    data = ("id,city\n" + body).encode() + "5000,Zürich\n".encode("latin-1")
    with pytest.raises(InvalidInput, match=r"line 5002, column 'city'") as info:
        read_table(write(tmp_path, "late.csv", data))
    assert info.value.details["line"] == 5002
    assert info.value.details["byte"] == data.index(b"\xfc")


def test_non_utf8_in_two_columns_reports_the_first_bad_line(tmp_path: Path) -> None:
    body = "".join(f"{i},name {i},city {i}\n" for i in range(5000))
    tail = "5000,ann,Zürich\n5001,Jürgen,oslo\n".encode("latin-1")
    with pytest.raises(InvalidInput, match=r"first bad byte at line 5002, byte \d+\)") as info:
        read_table(write(tmp_path, "two.csv", ("id,name,city\n" + body).encode() + tail))
    assert "column" not in info.value.details


def test_ragged_row_reports_line_and_field_counts(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n")
    with pytest.raises(InvalidInput) as info:
        read_table(path)
    assert info.value.message.endswith("r.csv: line 4 has 2 fields, but the header has 3 columns")
    assert info.value.details == {"expected_fields": 3, "line": 4}
    assert "CSV parse error" not in str(info.value)


def test_ragged_row_with_too_many_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "a;b\n1;2\n3;4;5\n")
    with pytest.raises(InvalidInput, match="line 3 has 3 fields, but the header has 2 columns"):
        read_table(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a PNG image, not a CSV or Parquet file"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "is a gzip archive"),
        (b"PK\x03\x04\x14\x00\x00\x00", "is a zip archive"),
        (bytes(range(256)) * 4, "is a binary file, not a CSV or Parquet file"),
    ],
)
def test_binary_files_are_refused(tmp_path: Path, content: bytes, expected: str) -> None:
    with pytest.raises(InvalidInput, match=expected):
        read_table(write(tmp_path, "blob.csv", content))


def test_corrupt_parquet(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot be read as Parquet"):
        read_table(write(tmp_path, "bad.parquet", b"PAR1" + b"\x00garbage" * 10))


def test_parquet_with_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.int64())}), path)
    with pytest.raises(InvalidInput, match="no data rows"):
        read_table(path)


# --- URLs --------------------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/moved/"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/moved"))
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_reads_csv_from_url(http_root: tuple[str, Path]) -> None:
    base, root = http_root
    (root / "train.csv").write_text("a;b\n1;x\n2;y\n", encoding="utf-8")
    table = read_table(f"{base}/train.csv")
    assert table.column_names == ["a", "b"]
    assert table.column("b").to_pylist() == ["x", "y"]


def test_follows_redirects(http_root: tuple[str, Path]) -> None:
    base, root = http_root
    (root / "new.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert read_table(f"{base}/moved/new.csv").column("b").to_pylist() == [2]


def test_reads_parquet_from_url_without_extension(http_root: tuple[str, Path]) -> None:
    base, root = http_root
    pq.write_table(pa.table({"v": [1.5, 2.5]}), root / "blob")
    assert read_table(f"{base}/blob").column("v").to_pylist() == [1.5, 2.5]


def test_url_errors_report_the_url_and_status(http_root: tuple[str, Path]) -> None:
    base, _ = http_root
    with pytest.raises(Unavailable, match=rf"{base}/missing.csv answered HTTP 404") as info:
        read_table(f"{base}/missing.csv")
    assert info.value.details["status"] == 404


def test_bad_file_at_url_names_the_url(http_root: tuple[str, Path]) -> None:
    base, root = http_root
    (root / "rag.csv").write_text("a,b\n1\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=rf"^{base}/rag.csv: line 2 has 1 fields"):
        read_table(f"{base}/rag.csv")


def test_other_url_schemes_are_refused() -> None:
    with pytest.raises(InvalidInput, match=r"unsupported URL scheme 's3' in s3://bucket/train\.csv"):
        read_table("s3://bucket/train.csv")


def test_unreachable_url() -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/data.csv"
    with pytest.raises(Unavailable, match=rf"could not download {url}: ConnectError"):
        read_table(url)
