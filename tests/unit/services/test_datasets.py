from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from slipway.core.errors import InvalidInput, NotFound, SlipwayError, Unavailable

CSV = "a,b,c\n1,x,2.5\n2,y,3.5\n3,x,\n"


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _objects(ws: Any) -> list[Path]:
    return sorted((ws.path / "artifacts" / "objects").rglob("*.parquet"))


def _row_counts(ws: Any) -> tuple[int, int]:
    with ws._ctx.engine.connect() as conn:
        return (conn.execute(sa.text("SELECT count(*) FROM datasets")).scalar_one(),
                conn.execute(sa.text("SELECT count(*) FROM dataset_versions")).scalar_one())


def test_register_versions_and_dedupes(ws: Any, tmp_path: Path) -> None:
    first = ws.datasets.register("toy", _write(tmp_path, "t.csv", CSV), "a toy")
    assert (first.version, first.created, first.num_rows, first.num_columns) == (1, True, 3, 3)
    again = ws.datasets.register("toy", _write(tmp_path, "t2.csv", CSV))
    assert (again.version, again.created) == (1, False)
    changed = ws.datasets.register("toy", _write(tmp_path, "t3.csv", CSV + "4,z,1.0\n"))
    assert (changed.version, changed.created, changed.num_rows) == (2, True, 4)
    assert [v.version for v in ws.datasets.versions("toy")] == [1, 2]
    assert ws.datasets.get("toy").version == 2
    assert ws.datasets.get("toy", version=1).to_pandas().shape == (3, 3)
    assert len(_objects(ws)) == 2


def test_semicolon_csv_and_parquet_give_the_same_data(ws: Any, tmp_path: Path) -> None:
    semi = ws.datasets.register("semi", _write(tmp_path, "s.csv", CSV.replace(",", ";")))
    df = semi.to_pandas()
    assert list(df.columns) == ["a", "b", "c"] and df["b"].tolist() == ["x", "y", "x"]
    parquet_path = tmp_path / "p.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), parquet_path)
    from_parquet = ws.datasets.register("pq", parquet_path)
    assert from_parquet.entity.source_format == "parquet"
    pd.testing.assert_frame_equal(from_parquet.to_pandas(), df)


def test_show_has_schema_and_profile(ws: Any, tmp_path: Path) -> None:
    data = ws.datasets.register("toy", _write(tmp_path, "t.csv", CSV)).to_dict()
    assert {c["name"]: c["type"] for c in data["columns"]} == {
        "a": "numeric", "b": "categorical", "c": "numeric"}
    assert data["profile"]["c"]["missing"] == 1 and data["profile"]["c"]["count"] == 2
    assert data["profile"]["a"]["mean"] == pytest.approx(2.0)
    assert data["profile"]["b"]["top_values"][0] == {"value": "x", "count": 2}


@pytest.mark.parametrize(("content", "fragment"), [
    (b"", "empty"),
    (b"a,b,c\n", "no data rows"),
    (b"a,b,a\n1,2,3\n", "a"),
    (b"a,b\n1,caf\xe9\n", "UTF-8"),
    (b"a,b\n1,2\n3,4,5\n", "line"),
])
def test_bad_files_leave_nothing_behind(ws: Any, tmp_path: Path, content: bytes,
                                        fragment: str) -> None:
    with pytest.raises(InvalidInput) as info:
        ws.datasets.register("bad", _write(tmp_path, "bad.csv", content))
    assert fragment in info.value.message
    assert _row_counts(ws) == (0, 0)
    assert _objects(ws) == []
    assert list((ws.path / "artifacts" / "tmp").glob("*")) == []


def test_missing_file(ws: Any, tmp_path: Path) -> None:
    with pytest.raises(NotFound) as info:
        ws.datasets.register("gone", tmp_path / "nope.csv")
    assert "nope.csv" in info.value.message


@pytest.mark.parametrize("name", ["a/b", "..", "x..y", "", "n" * 300, "-lead", "sp ace"])
def test_bad_names_are_refused(ws: Any, tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput):
        ws.datasets.register(name, _write(tmp_path, "t.csv", CSV))
    assert _row_counts(ws) == (0, 0)


def test_missing_dataset_and_version(ws: Any, tmp_path: Path) -> None:
    with pytest.raises(NotFound) as info:
        ws.datasets.get("nothing")
    assert info.value.code == "dataset_not_found"
    ws.datasets.register("toy", _write(tmp_path, "t.csv", CSV))
    with pytest.raises(NotFound) as info:
        ws.datasets.get("toy", version=7)
    assert info.value.code == "dataset_version_not_found" and "1" in (info.value.hint or "")


def test_unregister_archives_and_restore_brings_back(ws: Any, tmp_path: Path) -> None:
    ws.datasets.register("toy", _write(tmp_path, "t.csv", CSV))
    ws.datasets.unregister("toy")
    assert ws.datasets.list() == []
    assert [d.name for d in ws.datasets.list(include_archived=True)] == ["toy"]
    assert ws.datasets.get("toy").to_pandas().shape == (3, 3)  # data kept
    ws.datasets.restore("toy")
    assert [d.name for d in ws.datasets.list()] == ["toy"]


def test_tampered_snapshot_is_refused(ws: Any, tmp_path: Path) -> None:
    dataset = ws.datasets.register("toy", _write(tmp_path, "t.csv", CSV))
    snapshot = ws.path / "artifacts" / dataset.entity.artifact
    snapshot.write_bytes(snapshot.read_bytes()[:-10] + b"0" * 10)
    with pytest.raises(SlipwayError) as info:
        dataset.to_pandas()
    assert info.value.code == "artifact_integrity"


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[str]:
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(tmp_path), **kw)
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_register_from_url(ws: Any, tmp_path: Path, http_folder: str) -> None:
    _write(tmp_path, "remote.csv", CSV)
    dataset = ws.datasets.register("remote", f"{http_folder}/remote.csv")
    assert dataset.num_rows == 3 and dataset.entity.source_format == "url"
    with pytest.raises(Unavailable) as info:
        ws.datasets.register("remote", f"{http_folder}/missing.csv")
    assert "404" in info.value.message
    assert ws.datasets.get("remote").version == 1


def test_url_that_does_not_answer(ws: Any) -> None:
    with pytest.raises(Unavailable):
        ws.datasets.register("remote", "http://127.0.0.1:9/data.csv")
    assert _row_counts(ws) == (0, 0)


def test_consume_snippet_runs(ws: Any, tmp_path: Path) -> None:
    ws.datasets.register("toy", _write(tmp_path, "t.csv", CSV))
    snippet = ws.datasets.consume_snippet("toy")
    scope: dict[str, Any] = {}
    exec(snippet.replace("print(df.shape)", "shape = df.shape"), scope)
    assert scope["shape"] == (3, 3)
    scope["ws"].close()


def test_real_bank_file(ws: Any, bank_csv: Path) -> None:
    dataset = ws.datasets.register("bankmarketing", bank_csv)
    assert (dataset.num_rows, dataset.num_columns) == (26361, 21)
    profile = dataset.profile["y"]
    counts = {t["value"]: t["count"] for t in profile["top_values"]}
    expected = pd.read_csv(bank_csv)["y"].value_counts().to_dict()
    assert counts == expected


@pytest.mark.parametrize(("csv", "task", "fragment"), [
    ("a,y\n1,yes\n2,yes\n3,yes\n", "classification", "constant"),
    ("a,y\n1,yes\n2,no\n3,no\n", "classification", "fewer than 2 rows"),
    ("a,y\n1,yes\n2,no\n3,no\n4,yes\n", "regression", "not numeric"),
    ("a,y\n1,\n2,\n", "classification", "no values"),
])
def test_unusable_targets_are_refused_before_queueing(ws: Any, tmp_path: Path, csv: str,
                                                      task: str, fragment: str) -> None:
    from slipway.automl import AutoMLSettings
    from slipway.services import automl

    ws.datasets.register("t", _write(tmp_path, "t.csv", csv))
    with pytest.raises(InvalidInput) as info:
        automl.submit(ws._ctx, "e", "t", AutoMLSettings(task=task, target="y"), launch=False)
    assert fragment in info.value.message
    assert ws._ctx.runs.list_runs() == []
