"""Model directories built once per session from the bank marketing sample."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from slipway.core.model_dir import infer_signature, save_model_dir
from slipway.serving.app import create_app
from slipway.serving.config import EndpointConfig, write_endpoint_config, write_keys

BANK_CSV = Path(__file__).resolve().parents[4] / "shared" / "data" / "bankmarketing" / "train.csv"
PRIMARY_KEY = "primary-key-0123456789abcdef"
SECONDARY_KEY = "secondary-key-fedcba9876543210"


def bank_frame() -> pd.DataFrame:
    if not BANK_CSV.is_file():
        pytest.fail(f"real data missing: bank marketing sample not found at {BANK_CSV}")
    return pd.read_csv(BANK_CSV)


def featurizer(X: pd.DataFrame, impute: bool = True) -> ColumnTransformer:
    numeric = [c for c in X.columns if X[c].dtype.kind in "if"]
    categorical = [c for c in X.columns if c not in numeric]
    num_steps: list[tuple[str, Any]] = [("scale", StandardScaler())]
    cat_steps: list[tuple[str, Any]] = [("onehot", OneHotEncoder(handle_unknown="ignore"))]
    if impute:
        num_steps.insert(0, ("impute", SimpleImputer(strategy="median")))
        cat_steps.insert(0, ("impute", SimpleImputer(strategy="most_frequent")))
    return ColumnTransformer([("num", Pipeline(num_steps), numeric),
                              ("cat", Pipeline(cat_steps), categorical)])


def save(path: Path, pipeline: Any, X: pd.DataFrame, task: str, target: str) -> Path:
    classes = list(pipeline.classes_) if task == "classification" else None
    sig = infer_signature(X, task=task, target=target, column_types={}, classes=classes)
    return save_model_dir(path, pipeline, sig)


@pytest.fixture(scope="session")
def bank() -> pd.DataFrame:
    return bank_frame()


@pytest.fixture(scope="session")
def bank_model_dir(tmp_path_factory: pytest.TempPathFactory, bank: pd.DataFrame) -> Path:
    """ColumnTransformer + LGBMClassifier on the whole bank training file."""
    X, y = bank.drop(columns=["y"]), bank["y"]
    pipe = Pipeline([("featurize", featurizer(X)),
                     ("model", LGBMClassifier(n_estimators=60, num_leaves=15, n_jobs=1,
                                              random_state=0, verbose=-1))])
    pipe.fit(X, y)
    return save(tmp_path_factory.mktemp("models") / "bank-lgbm", pipe, X, "classification", "y")


@pytest.fixture(scope="session")
def strict_model_dir(tmp_path_factory: pytest.TempPathFactory, bank: pd.DataFrame) -> Path:
    """No imputers and a logistic regression: it cannot score a null numeric value."""
    sample = bank.sample(3000, random_state=1)
    X, y = sample.drop(columns=["y"]), sample["y"]
    pipe = Pipeline([("featurize", featurizer(X, impute=False)),
                     ("model", LogisticRegression(max_iter=500))])
    pipe.fit(X, y)
    return save(tmp_path_factory.mktemp("models") / "bank-logreg", pipe, X, "classification", "y")


@pytest.fixture(scope="session")
def regression_model_dir(tmp_path_factory: pytest.TempPathFactory, bank: pd.DataFrame) -> Path:
    sample = bank.sample(3000, random_state=2)
    X, y = sample.drop(columns=["y", "duration"]), sample["duration"].astype(float)
    pipe = Pipeline([("featurize", featurizer(X)),
                     ("model", LGBMRegressor(n_estimators=20, n_jobs=1, random_state=0,
                                             verbose=-1))])
    pipe.fit(X, y)
    return save(tmp_path_factory.mktemp("models") / "bank-reg", pipe, X, "regression", "duration")


class AppClient:
    """Calls an ASGI app in-process through httpx, one event loop per request."""

    def __init__(self, app: Any, client: tuple[str, int] = ("10.0.0.7", 4321)) -> None:
        self.app = app
        self._transport = httpx.ASGITransport(app=app, client=client)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            async with httpx.AsyncClient(transport=self._transport,
                                         base_url="http://testserver") as http:
                return await http.request(method, url, **kwargs)

        return asyncio.run(call())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


MakeClient = Callable[..., AppClient]


@pytest.fixture
def make_client(tmp_path: Path, bank_model_dir: Path) -> MakeClient:
    """Build an endpoint (config dir with keys) and a TestClient on its app."""

    def make(model_dir: Path | None = None, **config: Any) -> AppClient:
        config_dir = tmp_path / "endpoint"
        settings = {"name": "bank-endpoint", "auth": "none", **config}
        write_endpoint_config(config_dir, EndpointConfig(**settings))
        write_keys(config_dir, primary=PRIMARY_KEY, secondary=SECONDARY_KEY)
        app = create_app(model_dir or bank_model_dir, config_dir)
        return AppClient(app)

    return make


@pytest.fixture
def client(make_client: MakeClient) -> AppClient:
    return make_client()
