"""The open inference protocol v2: health, model metadata, infer with named column tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .conftest import AppClient


def tensors(frame: pd.DataFrame) -> list[dict]:
    out = []
    for name in frame.columns:
        numeric = frame[name].dtype.kind in "if"
        out.append({"name": name, "shape": [len(frame)], "datatype": "FP64" if numeric else "BYTES",
                    "data": frame[name].tolist()})
    return out


def test_metadata_lists_inputs_and_outputs(client: AppClient) -> None:
    meta = client.get("/v2/models/bank-endpoint").json()
    assert meta["name"] == "bank-endpoint"
    inputs = {t["name"]: t["datatype"] for t in meta["inputs"]}
    assert inputs["age"] == "FP64" and inputs["job"] == "BYTES"
    assert [o["name"] for o in meta["outputs"]] == ["predict", "predict_proba"]
    assert client.get("/v2/models/bank-endpoint/ready").status_code == 200
    assert client.get("/v2").json()["name"] == "slipway"


def test_infer_matches_the_pipeline(client: AppClient, bank: pd.DataFrame,
                                    bank_model_dir: Path) -> None:
    frame = bank.drop(columns=["y"]).head(20)
    response = client.post("/v2/models/bank-endpoint/infer",
                           json={"id": "req-1", "inputs": tensors(frame)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "req-1" and body["model_name"] == "bank-endpoint"
    outputs = {o["name"]: o for o in body["outputs"]}
    pipeline = client.app.model.pipeline
    assert outputs["predict"]["data"] == pipeline.predict(frame).tolist()
    assert outputs["predict"]["datatype"] == "BYTES"
    proba = np.array(outputs["predict_proba"]["data"]).reshape(outputs["predict_proba"]["shape"])
    assert np.max(np.abs(proba - pipeline.predict_proba(frame))) < 1e-6


def test_infer_can_ask_for_one_output_and_checks_lengths(client: AppClient,
                                                         bank: pd.DataFrame) -> None:
    frame = bank.drop(columns=["y"]).head(3)
    only = client.post("/v2/models/bank-endpoint/infer",
                       json={"inputs": tensors(frame), "outputs": [{"name": "predict_proba"}]})
    assert [o["name"] for o in only.json()["outputs"]] == ["predict_proba"]
    bad = tensors(frame)
    bad[0]["data"] = bad[0]["data"][:2]
    response = client.post("/v2/models/bank-endpoint/infer", json={"inputs": bad})
    assert response.status_code == 400
    missing = client.post("/v2/models/bank-endpoint/infer", json={"inputs": tensors(frame)[1:]})
    assert missing.json()["error"]["code"] == "missing_column"
