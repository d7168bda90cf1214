from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slipway.cli.main import app

runner = CliRunner()
CSV = "a;b\n1;x\n2;y\n"


def _run(ws: Path, *args: str) -> object:
    return runner.invoke(app, ["--workspace", str(ws), *args], catch_exceptions=False)


def test_register_show_list_preview_versions_consume(ws_path: Path, tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text(CSV)
    result = _run(ws_path, "datasets", "register", "toy", "--file", str(data), "-o", "json")
    assert result.exit_code == 0, result.output
    registered = json.loads(result.stdout)
    assert registered["version"] == 1 and registered["created"] is True

    shown = json.loads(_run(ws_path, "datasets", "show", "toy", "--output", "json").stdout)
    assert {"name", "version", "num_rows", "num_columns", "columns", "profile"} <= set(shown)
    assert shown["columns"] == [{"name": "a", "type": "numeric", "arrow_type": "int64"},
                                {"name": "b", "type": "categorical", "arrow_type": "string"}]
    assert set(shown["profile"]) == {"a", "b"}

    listed = json.loads(_run(ws_path, "datasets", "list", "-o", "json").stdout)
    assert [(d["name"], d["latest_version"]) for d in listed] == [("toy", 1)]
    rows = json.loads(_run(ws_path, "datasets", "preview", "toy", "--rows", "1", "-o", "json").stdout)
    assert rows == [{"a": 1, "b": "x"}]
    versions = json.loads(_run(ws_path, "datasets", "versions", "toy", "-o", "json").stdout)
    assert [v["version"] for v in versions] == [1]
    assert "ws.datasets.get('toy', version=1)" in _run(ws_path, "datasets", "consume", "toy").stdout
    table = _run(ws_path, "datasets", "show", "toy").stdout
    assert "toy" in table and "categorical" in table


def test_errors_are_one_line_with_exit_code(ws_path: Path, tmp_path: Path) -> None:
    result = _run(ws_path, "datasets", "show", "nothing")
    assert result.exit_code == 3
    assert "dataset 'nothing' does not exist" in result.stderr
    result = _run(ws_path, "datasets", "register", "a/b", "--file", str(tmp_path / "x.csv"))
    assert result.exit_code == 2 and "not allowed" in result.stderr


def test_init_writes_config_found_from_subfolders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init", "ws"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "slipway.json").read_text()) == {"workspace": "ws"}
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    from slipway.client.config import resolve_workspace

    assert resolve_workspace() == (tmp_path / "ws").resolve()


def test_workspace_refuses_a_nonempty_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("not a workspace")
    result = _run(tmp_path, "datasets", "list")
    assert result.exit_code == 2 and "slipway init" in result.stderr


def test_samples_writes_a_registrable_csv(ws_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "sample.csv"
    args = ["samples", "bank-marketing", "--rows", "500", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    result = _run(ws_path, "datasets", "register", "sample", "--file", str(out), "-o", "json")
    shown = json.loads(result.stdout)
    assert shown["num_rows"] == 500 and shown["num_columns"] == 21


def test_console_script_reports_errors_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "SLIPWAY_WORKSPACE": str(tmp_path / "ws"), "HOME": str(tmp_path)}
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    proc = subprocess.run([sys.executable, "-m", "slipway", "datasets", "register", "e",
                           "--file", str(empty)], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "empty" in proc.stderr
    assert proc.stderr.count("\n") <= 3
