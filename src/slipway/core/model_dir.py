"""The model directory: the unit that AutoML writes, the registry stores and
endpoints serve.

```
<dir>/
  model.pkl          joblib dump of a fitted scikit-learn Pipeline, raw columns -> predictions
  signature.json     input columns and types, target, classes, two example rows
  metrics.json       {metric name: value}
  requirements.txt   pinned versions of the libraries the pickle needs
```

The signature is the single source of truth for a model's input schema:
validation, swagger, the studio and generated clients all read it.
Column ``type`` uses the dataset vocabulary: numeric, categorical, boolean,
datetime, text.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from slipway.core.errors import InvalidInput, NotFound

MODEL_FILE = "model.pkl"
SIGNATURE_FILE = "signature.json"
METRICS_FILE = "metrics.json"
REQUIREMENTS_FILE = "requirements.txt"

_PINNED = ("scikit-learn", "pandas", "numpy", "scipy", "lightgbm", "xgboost", "joblib")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str  # numeric | categorical | boolean | datetime | text
    dtype: str  # pandas dtype string the pipeline was fitted on, e.g. float64, int64, object
    nullable: bool = True
    categories: list[Any] | None = None  # observed values for categoricals (may be truncated)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "dtype": self.dtype,
                               "nullable": self.nullable}
        if self.categories is not None:
            out["categories"] = self.categories
        return out


@dataclass(frozen=True)
class Signature:
    task: str  # classification | regression
    inputs: list[ColumnSpec]
    target: str
    classes: list[Any] | None = None
    example: list[dict[str, Any]] = field(default_factory=list)

    @property
    def input_names(self) -> list[str]:
        return [c.name for c in self.inputs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "target": self.target,
            "inputs": [c.to_dict() for c in self.inputs],
            "classes": self.classes,
            "example": self.example,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        try:
            inputs = [ColumnSpec(**c) for c in data["inputs"]]
            return cls(task=data["task"], inputs=inputs, target=data["target"],
                       classes=data.get("classes"), example=data.get("example", []))
        except (KeyError, TypeError) as exc:
            raise InvalidInput(f"signature.json is malformed: {exc}",
                               hint="re-create the model directory with Slipway") from exc


def json_safe(value: Any) -> Any:
    """Turn numpy/pandas scalars and NaN into plain JSON values (NaN -> None)."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict, str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def infer_signature(X: Any, *, task: str, target: str, column_types: dict[str, str],
                    classes: list[Any] | None = None, n_example: int = 2,
                    max_categories: int = 200) -> Signature:
    """Build a signature from the raw training frame ``X`` (a pandas DataFrame)."""
    inputs = []
    for name in X.columns:
        col = X[name]
        kind = column_types.get(name, "numeric" if col.dtype.kind in "iuf" else "categorical")
        cats = None
        if kind in ("categorical", "boolean"):
            uniques = col.dropna().unique().tolist()
            cats = sorted((json_safe(v) for v in uniques), key=str)[:max_categories]
        inputs.append(ColumnSpec(name=str(name), type=kind, dtype=str(col.dtype),
                                 nullable=bool(col.isna().any()) or kind != "numeric",
                                 categories=cats))
    example = [{str(k): json_safe(v) for k, v in row.items()}
               for row in X.head(n_example).to_dict(orient="records")]
    return Signature(task=task, inputs=inputs, target=target,
                     classes=[json_safe(c) for c in classes] if classes is not None else None,
                     example=example)


def requirements() -> str:
    lines = []
    for dist in _PINNED:
        try:
            lines.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return "\n".join(lines) + "\n"


@dataclass
class ModelDir:
    path: Path
    pipeline: Any
    signature: Signature
    metrics: dict[str, Any]


def save_model_dir(path: str | Path, pipeline: Any, signature: Signature,
                   metrics: dict[str, Any] | None = None) -> Path:
    import joblib

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, out / MODEL_FILE)
    (out / SIGNATURE_FILE).write_text(json.dumps(signature.to_dict(), indent=2))
    clean = {k: json_safe(v) for k, v in (metrics or {}).items()}
    (out / METRICS_FILE).write_text(json.dumps(clean, indent=2))
    (out / REQUIREMENTS_FILE).write_text(requirements())
    return out


def read_signature(path: str | Path) -> Signature:
    sig_path = Path(path) / SIGNATURE_FILE
    if not sig_path.is_file():
        raise NotFound(f"no {SIGNATURE_FILE} in {path}", hint="is this a Slipway model directory?")
    return Signature.from_dict(json.loads(sig_path.read_text()))


def load_model_dir(path: str | Path) -> ModelDir:
    """Load a model directory. Only call this on directories Slipway wrote or
    whose hash the registry has checked: ``model.pkl`` is code."""
    import joblib

    root = Path(path)
    if not (root / MODEL_FILE).is_file():
        raise NotFound(f"no {MODEL_FILE} in {root}", hint="is this a Slipway model directory?")
    signature = read_signature(root)
    metrics_path = root / METRICS_FILE
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return ModelDir(path=root, pipeline=joblib.load(root / MODEL_FILE), signature=signature,
                    metrics=metrics)
