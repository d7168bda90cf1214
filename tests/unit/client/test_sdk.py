"""The same SDK calls against a local and a remote workspace (``sdk``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from api.conftest import toy_frame
from typer.testing import CliRunner

from slipway.client import AutoMLConfig, Workspace
from slipway.core.entities import (
    DatasetSummary,
    DatasetVersion,
    Endpoint,
    EndpointState,
    Run,
    RunStatus,
)
from slipway.core.errors import Conflict, InvalidInput, NotFound, SlipwayError, Unauthenticated
from slipway.services import tokens

from .conftest import Backend


def test_datasets(sdk: Workspace, tmp_path: Path) -> None:
    csv = tmp_path / "more.csv"
    frame = pd.concat([toy_frame(), toy_frame()])
    frame.to_csv(csv, index=False)
    registered = sdk.datasets.register("toy", csv, "twice the rows")
    assert (registered.version, registered.created, registered.num_rows) == (2, True, 40)
    again = sdk.datasets.register("toy", csv)
    assert (again.version, again.created) == (2, False)

    latest = sdk.datasets.get("toy")
    assert isinstance(latest.entity, DatasetVersion)
    assert latest.version == 2 and latest.entity.description == "twice the rows"
    assert set(latest.profile) == {"x", "c", "y"}
    assert sdk.datasets.get("toy", version=1).num_rows == 20
    assert sorted(v.version for v in sdk.datasets.versions("toy")) == [1, 2]
    listed = sdk.datasets.list()
    assert all(isinstance(d, DatasetSummary) for d in listed)
    assert [(d.name, d.latest_version) for d in listed] == [("toy", 2)]

    df = latest.to_pandas()
    assert df.shape == (40, 3) and list(df.columns) == ["x", "c", "y"]
    assert latest.preview(3) == df.head(3).to_dict(orient="records")
    snippet = sdk.datasets.consume_snippet("toy")
    assert "ws.datasets.get('toy', version=2)" in snippet
    assert f"Workspace({sdk.url or str(sdk.path)!r})" in snippet

    sdk.datasets.unregister("toy")
    assert sdk.datasets.list() == []
    assert [d.name for d in sdk.datasets.list(include_archived=True)] == ["toy"]
    sdk.datasets.restore("toy")
    assert [d.name for d in sdk.datasets.list()] == ["toy"]


def test_dataset_errors_are_the_same_classes(sdk: Workspace, tmp_path: Path) -> None:
    with pytest.raises(NotFound) as missing:
        sdk.datasets.get("nope")
    assert missing.value.exit_code == 3 and "nope" in missing.value.message
    with pytest.raises(NotFound):
        sdk.datasets.get("toy", version=9)
    bad = tmp_path / "bad.csv"
    bad.write_text("")
    with pytest.raises(InvalidInput):
        sdk.datasets.register("empty", bad)
    with pytest.raises(NotFound):
        sdk.datasets.register("toy", tmp_path / "missing.csv")


def test_runs(sdk: Workspace) -> None:
    run = sdk.runs.get("AutoML_p")
    assert isinstance(run, Run) and run.is_terminal and run.kind == "automl"
    assert run.properties["best_child_run_id"] == "AutoML_p_0"
    assert [r.id for r in sdk.runs.list()] == ["AutoML_p"]
    assert [r.id for r in sdk.runs.list(experiment="other")] == []
    assert [(e.name, e.num_runs) for e in sdk.experiments.list()] == [("e", 1)]

    handle = sdk.runs.handle("AutoML_p")
    assert handle.status == "Completed"
    assert sorted(c.id for c in handle.get_children()) == ["AutoML_p_0", "AutoML_p_1"]
    board = handle.leaderboard()
    assert [row["run_id"] for row in board] == ["AutoML_p_0", "AutoML_p_1"]
    assert board == sdk.runs.leaderboard("AutoML_p")
    assert sdk.runs.get("AutoML_p_0").metrics == {"AUC_weighted": 0.9}
    done = handle.wait_for_completion(show_output=True, timeout_s=5)
    assert done["status"] == "Completed" and done["run_id"] == "AutoML_p"
    assert sdk.runs.cancel("AutoML_p").status == "Completed"  # already over: unchanged
    assert handle.get_logs() == ""
    assert sdk.runs.charts("AutoML_p") == (None, {})
    with pytest.raises(NotFound):
        sdk.runs.handle("AutoML_nope")

    config = AutoMLConfig(task="classification", training_data="nope", label_column_name="y")
    with pytest.raises(NotFound):
        sdk.experiments.submit("e", config)


def test_models(sdk: Workspace, tmp_path: Path) -> None:
    model = sdk.models.register("AutoML_p", "toy-model", description="again",
                                tags={"team": "risk"})
    assert model.ref == "toy-model:2" and model.run_id == "AutoML_p_0"
    assert model.to_dict()["lineage"]["dataset"] == "toy"
    assert sdk.models.get("toy-model").ref == "toy-model:2"
    assert sdk.models.get("toy-model:1").version == 1
    assert [m.ref for m in sdk.models.list()] == ["toy-model:2"]
    assert sorted(m.version for m in sdk.models.versions("toy-model")) == [1, 2]
    tagged = sdk.models.set_tags("toy-model:2", {"stage": "prod"}, description="best")
    assert tagged.tags == {"team": "risk", "stage": "prod"} and tagged.description == "best"

    folder = sdk.models.download("toy-model:1", tmp_path / "dl")
    assert (folder / "model.pkl").is_file() and (folder / "signature.json").is_file()
    with pytest.raises(InvalidInput):
        sdk.models.download("toy-model:1", tmp_path / "dl")  # not empty any more

    pipeline = sdk.models.load("toy-model:1")
    frame = toy_frame()
    assert list(pipeline.predict(frame[["x", "c"]])) == list(frame["y"])
    source = tmp_path / "score.csv"
    frame[["x", "c"]].to_csv(source, index=False)
    rows = sdk.models.predict_file("toy-model", source, tmp_path / "out.csv", proba=True)
    scored = pd.read_csv(tmp_path / "out.csv")
    assert rows == 20 and {"prediction", "proba_yes"} <= set(scored.columns)

    with pytest.raises(NotFound):
        sdk.models.get("nope:1")
    with pytest.raises(NotFound):
        sdk.models.versions("nope")


def test_endpoints(sdk: Workspace, tmp_path: Path) -> None:
    endpoint = sdk.endpoints.get("ep")
    assert isinstance(endpoint, Endpoint)
    assert (endpoint.state, endpoint.model, endpoint.port) == ("Stopped", "toy-model:1", 18999)
    assert endpoint.scoring_uri == "http://127.0.0.1:18999/score"
    assert [e.name for e in sdk.endpoints.list()] == ["ep"]
    assert sdk.endpoints.get_keys("ep") == {"primary_key": "primary-key-1",
                                            "secondary_key": "secondary-key-1"}
    fresh = sdk.endpoints.regen_key("ep", "secondary")
    assert fresh["primary_key"] == "primary-key-1" and fresh["secondary_key"] != "secondary-key-1"
    service = sdk.endpoints.service("ep")
    assert service.get_keys() == (fresh["primary_key"], fresh["secondary_key"])
    assert service.state == "Stopped"
    assert sdk.endpoints.logs("ep") == ([], 0)
    assert sdk.endpoints.metrics("ep") == []
    with pytest.raises(InvalidInput):
        sdk.endpoints.get_token("ep")  # a key-auth endpoint
    with pytest.raises(NotFound):
        sdk.endpoints.get("nope")
    written = sdk.endpoints.consume_files("ep", tmp_path / "client")
    assert sorted(p.name for p in written) == ["benchmark.sh", "data.json", "endpoint.py"]
    assert 'key = "primary-key-1"' in (tmp_path / "client" / "endpoint.py").read_text()
    assert '"data"' in (tmp_path / "client" / "data.json").read_text()
    sdk.endpoints.delete("ep")
    assert sdk.endpoints.list() == []


def test_identities(sdk: Workspace) -> None:
    sps = sdk.identities.service_principals
    issued = sps.create("robot", role="reader")
    assert issued.secret and issued.identity.client_id and issued.identity.role == "reader"
    creds = sps.sdk_auth(issued, "http://slipway.example:8765")
    assert creds["clientSecret"] == issued.secret
    assert creds["tokenUrl"] == "http://slipway.example:8765/oauth/token"
    assert sps.get("robot").client_id == issued.identity.client_id
    assert "robot" in [i.name for i in sps.list()]
    assert sps.set_role("robot", "contributor").role == "contributor"
    assert sps.reset_secret("robot").secret not in (None, issued.secret)
    with pytest.raises(Conflict):
        sps.create("robot")

    users = sdk.identities.users
    added = users.add("alice", role="reader")
    assert added.secret and added.identity.kind == "user"
    assert users.add("bob", password="a long enough passphrase").secret is None
    assert {"alice", "bob"} <= {u.name for u in users.list()}
    assert users.set_role("alice", "contributor").role == "contributor"
    assert users.reset_password("alice").secret
    assert sdk.identities.revoke_tokens("robot").name == "robot"
    assert {"alice", "bob", "robot"} <= {i.name for i in sdk.identities.list()}
    assert sdk.identities.jwks()["keys"]
    sps.delete("robot")
    users.delete("bob")
    with pytest.raises(NotFound):
        sps.get("robot")
    with pytest.raises(SlipwayError):
        users.get("bob")



def test_a_runs_model_scores_the_same_everywhere(sdk: Workspace, tmp_path: Path) -> None:
    """``get_output`` and ``predict_file`` of a run: a remote workspace downloads
    the run's model (hash checked) and gets what the local one does."""
    frame = toy_frame()
    best, fitted = sdk.runs.handle("AutoML_p").get_output()
    assert best.id == "AutoML_p_0"
    assert list(fitted.predict(frame[["x", "c"]])) == list(frame["y"])
    child, child_fitted = sdk.runs.handle("AutoML_p_0").get_output()
    assert child.id == "AutoML_p_0"
    assert (child_fitted.predict_proba(frame[["x", "c"]]) ==
            fitted.predict_proba(frame[["x", "c"]])).all()

    source = tmp_path / "score.csv"
    frame[["x", "c"]].to_csv(source, index=False)
    rows = sdk.runs.predict_file("AutoML_p", source, tmp_path / "run.csv", proba=True)
    sdk.models.predict_file("toy-model:1", source, tmp_path / "model.csv", proba=True)
    assert rows == 20
    assert (tmp_path / "run.csv").read_text() == (tmp_path / "model.csv").read_text()


def test_a_run_without_a_model_says_what_to_do(sdk: Workspace, backend: Backend,
                                               tmp_path: Path) -> None:
    with pytest.raises(NotFound) as missing:
        sdk.runs.handle("AutoML_nope").get_output()
    assert "AutoML_nope" in missing.value.message
    with pytest.raises(NotFound):
        sdk.runs.predict_file("AutoML_nope", tmp_path / "a.csv", tmp_path / "b.csv")
    with pytest.raises(NotFound) as child:  # a trial that failed to fit
        sdk.runs.predict_file("AutoML_p_1", tmp_path / "a.csv", tmp_path / "b.csv")
    assert child.value.code == "model_not_found" and "AutoML_p_1" in child.value.message
    assert "slipway runs leaderboard AutoML_p" in str(child.value.hint)

    backend.ctx.runs.create_run("AutoML_q", experiment="e", kind="automl",
                                status=RunStatus.QUEUED)
    with pytest.raises(NotFound) as queued:
        sdk.runs.handle("AutoML_q").get_output()
    assert queued.value.code == "model_not_found"
    assert queued.value.message == "run 'AutoML_q' has no model (Queued)"
    assert queued.value.hint == "wait for the run to complete: `slipway runs show AutoML_q`"
    backend.ctx.runs.create_run("AutoML_f", experiment="e", kind="automl",
                                status=RunStatus.FAILED)
    with pytest.raises(NotFound) as failed:
        sdk.runs.predict_file("AutoML_f", tmp_path / "a.csv", tmp_path / "b.csv")
    assert "slipway runs logs AutoML_f" in str(failed.value.hint)


def _fake_mlflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for the optional mlflow package (the tests do not install it):
    ``save_model`` writes an MLmodel file, the pipeline and the requirements."""
    import importlib.machinery
    import types

    import joblib

    def save_model(pipeline: Any, path: str, *, signature: Any, input_example: Any,
                   pip_requirements: list[str]) -> None:
        folder = Path(path)
        folder.mkdir(parents=True)
        (folder / "MLmodel").write_text(f"flavors: sklearn\nsignature: {signature}\n")
        joblib.dump(pipeline, folder / "model.pkl")
        (folder / "requirements.txt").write_text("\n".join(pip_requirements) + "\n")

    modules = {name: types.ModuleType(name) for name in ("mlflow", "mlflow.sklearn",
                                                         "mlflow.models")}
    modules["mlflow"].__spec__ = importlib.machinery.ModuleSpec("mlflow", None)
    modules["mlflow.sklearn"].save_model = save_model  # type: ignore[attr-defined]
    modules["mlflow.models"].infer_signature = (  # type: ignore[attr-defined]
        lambda inputs, outputs: list(inputs.columns))
    modules["mlflow"].sklearn = modules["mlflow.sklearn"]  # type: ignore[attr-defined]
    modules["mlflow"].models = modules["mlflow.models"]  # type: ignore[attr-defined]
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)


def test_export_mlflow(sdk: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import joblib

    _fake_mlflow(monkeypatch)
    target = sdk.models.export_mlflow("toy-model:1", tmp_path / "exports" / "mlflow")
    assert target == tmp_path / "exports" / "mlflow"
    assert sorted(p.name for p in target.iterdir()) == ["MLmodel", "model.pkl",
                                                         "requirements.txt"]
    assert "signature: ['x', 'c']" in (target / "MLmodel").read_text()
    assert (target / "requirements.txt").read_text().splitlines()[-1] == "slipway"
    frame = toy_frame()
    assert list(joblib.load(target / "model.pkl").predict(frame[["x", "c"]])) == list(frame["y"])
    with pytest.raises(InvalidInput) as exists:
        sdk.models.export_mlflow("toy-model:1", target)
    assert "already exists" in exists.value.message
    with pytest.raises(NotFound):
        sdk.models.export_mlflow("nope:1", tmp_path / "other")


# mlflow's own input-example code trips a pandas 3 deprecation warning.
@pytest.mark.filterwarnings("ignore:Operation with range is deprecated")
def test_export_mlflow_with_the_real_mlflow_predicts_the_same(sdk: Workspace,
                                                              tmp_path: Path) -> None:
    """Runs where the optional extra is installed (`pip install -e '.[mlflow]'`)."""
    pyfunc = pytest.importorskip("mlflow.pyfunc")
    target = sdk.models.export_mlflow("toy-model:1", tmp_path / "mlflow")
    frame = toy_frame()
    loaded = pyfunc.load_model(str(target))
    assert list(loaded.predict(frame[["x", "c"]])) == list(frame["y"])
    assert "slipway" in (target / "requirements.txt").read_text().split()


def test_export_mlflow_without_mlflow_says_what_to_install(
        sdk: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if it were not installed
    with pytest.raises(InvalidInput) as missing:
        sdk.models.export_mlflow("toy-model:1", tmp_path / "mlflow")
    assert missing.value.code == "mlflow_not_installed"
    assert "slipway[mlflow]" in str(missing.value.hint)
    if sdk.is_remote:
        assert "server" in missing.value.message and "server" in str(missing.value.hint)
    assert not (tmp_path / "mlflow").exists()


def test_start_all(sdk: Workspace, backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    from slipway.services import endpoints as endpoint_service

    assert sdk.endpoints.start_all() == []  # "ep" is stopped on purpose: left alone
    started: list[str] = []

    def start_process(ctx: Any, endpoint: Endpoint) -> None:  # no real scoring server
        started.append(endpoint.name)
        ctx.endpoints.update(endpoint.name, state=EndpointState.FAILED, error="fake start")

    monkeypatch.setattr(endpoint_service, "_start_process", start_process)
    backend.ctx.endpoints.update("ep", desired_running=True)  # as after a reboot
    result = sdk.endpoints.start_all()
    assert started == ["ep"]
    assert [(e.name, e.state, e.error) for e in result] == [("ep", "Failed", "fake start")]
    assert [e.to_dict() for e in result] == [backend.ctx.endpoints.get("ep").to_dict()]


OLD, NEW = "the old passphrase", "the new passphrase"


def test_change_password(sdk: Workspace, backend: Backend) -> None:
    sdk.identities.users.add("carol", password=OLD)
    carol = backend.sign_in("carol", OLD)
    users = carol.identities.users
    with pytest.raises(InvalidInput) as weak:
        users.change_password("carol", OLD, "short")
    assert weak.value.code == "weak_password"
    with pytest.raises(SlipwayError) as wrong:
        users.change_password("carol", "not the password", NEW)
    # Local: Unauthenticated; remote: Forbidden (the caller's token is fine, not a 401).
    assert wrong.value.exit_code == 5 and wrong.value.message == "the current password is wrong"

    changed = users.change_password("carol", OLD, NEW)
    assert (changed.name, changed.kind, changed.role) == ("carol", "user", "reader")
    assert tokens.password_grant(backend.ctx, "carol", NEW).access_token
    with pytest.raises(Unauthenticated):
        tokens.password_grant(backend.ctx, "carol", OLD)
    if sdk.is_remote:  # the token it was changed with ended with the old password
        with pytest.raises(Unauthenticated):
            carol.identities.me()  # type: ignore[union-attr]


def test_change_password_on_the_command_line(sdk: Workspace, backend: Backend,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from slipway.cli import context
    from slipway.cli.main import app

    sdk.identities.users.add("carol", password=OLD)
    monkeypatch.setattr(context, "_open", lambda path: backend.sign_in("carol", OLD))
    runner = CliRunner()
    one_line = runner.invoke(app, ["users", "change-password", "carol", "--password-stdin"],
                             input=f"{NEW}\n")
    assert one_line.exit_code == 2 and "two lines" in one_line.output
    result = runner.invoke(app, ["users", "change-password", "carol", "--password-stdin",
                                 "--output", "json"], input=f"{OLD}\n{NEW}\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "carol"
    assert tokens.password_grant(backend.ctx, "carol", NEW).access_token
