"""The open inference protocol (v2), as used by KServe, Triton and MLServer clients.

Each model input column is one named tensor: ``{"name": "age", "shape": [n],
"datatype": "FP64", "data": [...]}``. The answer has a ``predict`` tensor
(labels or values) and, for classifiers, a ``predict_proba`` tensor of shape
[n, n_classes] (row-major, classes in ``parameters.classes``). A request may
ask for one of them with ``"outputs": [{"name": "predict_proba"}]``.
Errors use the platform's envelope, ``{"error": {"code", "message", "hint"}}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from slipway.core.errors import InvalidInput
from slipway.serving.model import LoadedModel

_DATATYPES = {"numeric": "FP64", "boolean": "BOOL"}
OUTPUTS = ("predict", "predict_proba")


def model_metadata(model: LoadedModel, name: str) -> dict[str, Any]:
    inputs = [{"name": c.name, "datatype": _DATATYPES.get(c.type, "BYTES"), "shape": [-1]}
              for c in model.signature.inputs]
    outputs: list[dict[str, Any]] = [{"name": "predict", "datatype": _label_datatype(model),
                                      "shape": [-1]}]
    if model.is_classifier:
        outputs.append({"name": "predict_proba", "datatype": "FP64",
                        "shape": [-1, len(model.classes)]})
    return {"name": name, "versions": ["1"], "platform": "sklearn", "inputs": inputs,
            "outputs": outputs,
            "parameters": {"task": model.task, "classes": model.classes,
                           "fast_path": model.fast.enabled}}


def _label_datatype(model: LoadedModel) -> str:
    if not model.is_classifier:
        return "FP64"
    kinds = {type(c) for c in model.classes}
    if kinds <= {int}:
        return "INT64"
    if kinds <= {bool}:
        return "BOOL"
    return "BYTES" if kinds <= {str} else "FP64"


def records_from_tensors(payload: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """(rows, requested output names) from a v2 infer request body."""
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list):
        raise InvalidInput('the request needs "inputs": a list of named tensors',
                           code="invalid_body",
                           hint='send {"inputs": [{"name": "<column>", "shape": [n], '
                                '"datatype": "FP64", "data": [...]}]}')
    names: list[str] = []
    columns: list[list[Any]] = []
    for i, tensor in enumerate(payload["inputs"]):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise InvalidInput(f"input {i} is not a tensor with a name", code="invalid_body")
        data = tensor.get("data")
        if not isinstance(data, list):
            raise InvalidInput(f"input {tensor['name']!r} has no data list", code="invalid_body")
        if data and isinstance(data[0], list):  # [[v], [v], ...] for shape [n, 1]
            data = [v for row in data for v in (row if isinstance(row, list) else [row])]
        names.append(tensor["name"])
        columns.append(data)
    lengths = {len(c) for c in columns}
    if len(lengths) > 1:
        raise InvalidInput("input tensors have different lengths: "
                           + ", ".join(f"{n}={len(c)}" for n, c in zip(names, columns,
                                                                         strict=True)),
                           code="invalid_body", hint="send one value per row in every tensor")
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    wanted = payload.get("outputs")
    outputs = list(OUTPUTS)
    if isinstance(wanted, list) and wanted:
        outputs = [str(o.get("name")) for o in wanted if isinstance(o, dict)]
        unknown = [o for o in outputs if o not in OUTPUTS]
        if unknown:
            raise InvalidInput(f"unknown output {unknown[0]!r}", code="invalid_body",
                               hint=f"outputs are {', '.join(OUTPUTS)}")
    return rows, outputs


def infer_response(model: LoadedModel, name: str, request_id: str, labels: np.ndarray,
                   proba: np.ndarray | None, outputs: list[str]) -> dict[str, Any]:
    n = int(labels.shape[0])
    result: list[dict[str, Any]] = []
    if "predict" in outputs:
        data = labels.tolist()
        if not model.is_classifier:
            data = [None if v != v else v for v in data]  # NaN is not JSON
        result.append({"name": "predict", "datatype": _label_datatype(model), "shape": [n],
                       "data": data})
    if "predict_proba" in outputs and proba is not None:
        result.append({"name": "predict_proba", "datatype": "FP64",
                       "shape": [n, int(proba.shape[1])], "data": proba.ravel().tolist(),
                       "parameters": {"classes": model.classes}})
    return {"model_name": name, "model_version": "1", "id": request_id, "outputs": result}
