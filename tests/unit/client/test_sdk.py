"""The same SDK calls against a local and a remote workspace (``sdk``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from api.conftest import toy_frame

from slipway.client import AutoMLConfig, Workspace
from slipway.core.entities import DatasetSummary, DatasetVersion, Endpoint, Run
from slipway.core.errors import Conflict, InvalidInput, NotFound, SlipwayError


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

