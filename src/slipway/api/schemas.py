"""Request bodies. Unknown fields are refused (``extra="forbid"``) so a typo is
an error, not a silently ignored setting. Responses are the entities'
``to_dict()`` shapes; lists are ``{"items": [...]}``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

MAX_INT = 2**31 - 1  # the database's INTEGER; larger numbers are a 422, not an overflow
Name = Annotated[str, Field(min_length=1, max_length=128, examples=["bankmarketing"])]
ShortText = Annotated[str, Field(max_length=4096)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        # PostgreSQL refuses NUL in text and JSON: refuse it here, naming the field.
        where = _find_nul(data, "")
        if where is not None:
            raise ValueError(f"{where or 'a value'} contains a NUL character")
        return data


def _find_nul(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    items: Any = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return f"{path}.{key!r}".lstrip(".")
        found = _find_nul(item, f"{path}.{key}".lstrip("."))
        if found is not None:
            return found
    return None


# -- datasets ---------------------------------------------------------------------------------

class RegisterDatasetFromUrl(Body):
    """Register the CSV or Parquet file at ``url`` as the next version of ``name``."""

    name: Name
    url: HttpUrl
    description: ShortText = ""


# -- runs -------------------------------------------------------------------------------------

class AutoMLSettingsBody(Body):
    """``slipway.automl.AutoMLSettings``; the engine validates the values."""

    task: Literal["classification", "regression"] = "classification"
    target: Annotated[str, Field(min_length=1, max_length=256)]
    primary_metric: str | None = None
    timeout_s: Annotated[float, Field(gt=0, le=7 * 24 * 3600)] = 300.0
    iterations: Annotated[int, Field(ge=1, le=100_000)] | None = None
    concurrency: Annotated[int, Field(ge=1, le=256)] = 2
    cv_folds: Annotated[int, Field(ge=2, le=20)] | None = None
    validation_size: Annotated[float, Field(gt=0, lt=1)] | None = None
    allowed_learners: list[str] | None = None
    blocked_learners: list[str] | None = None
    exclude_columns: list[str] = Field(default_factory=list)
    ensembles: bool = True
    class_weight: Literal["auto", "balanced", "none"] = "auto"
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    featurization: Literal["auto", "off"] = "auto"
    column_types: dict[str, str] | None = None
    learner_params: dict[str, dict[str, Any]] = Field(default_factory=dict)


class SubmitAutoMLRun(Body):
    """Queue an AutoML run over a registered dataset."""

    experiment: Name = "default"
    dataset: Name
    dataset_version: Annotated[int, Field(ge=1, le=MAX_INT)] | None = None
    automl: AutoMLSettingsBody


# -- models -----------------------------------------------------------------------------------

class RegisterModel(Body):
    """Register a run's model (an AutoML run's best child unless ``child``)."""

    run_id: Annotated[str, Field(min_length=1, max_length=256)]
    name: Name
    child: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    description: ShortText = ""
    tags: dict[str, str] = Field(default_factory=dict)


class UpdateModel(Body):
    tags: dict[str, str] = Field(default_factory=dict)
    description: ShortText | None = None


class ArchiveFormat(StrEnum):
    zip = "zip"
    tar = "tar"


# -- endpoints --------------------------------------------------------------------------------

class DeployEndpoint(Body):
    """Start a scoring endpoint for a registered model."""

    name: Name
    model: Annotated[str, Field(min_length=1, max_length=140, examples=["bank-model:1"])]
    auth: Literal["key", "token", "none"] = "key"
    workers: Annotated[int, Field(ge=1, le=32)] = 1
    monitoring: bool = False
    port: Annotated[int, Field(ge=1024, le=65535)] | None = None
    # Default: the address the server listens on, so endpoints are reachable where it is.
    host: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    wait: bool = False
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 180.0


class UpdateEndpoint(Body):
    monitoring: bool | None = None
    model: Annotated[str, Field(min_length=1, max_length=140)] | None = None
    workers: Annotated[int, Field(ge=1, le=32)] | None = None


class RegenerateKey(Body):
    key: Literal["primary", "secondary"]


# -- identities -------------------------------------------------------------------------------

Role = Literal["owner", "contributor", "reader"]


class IdentityKind(StrEnum):
    """The path segment of an identity kind."""

    users = "users"
    service_principals = "service-principals"

    @property
    def kind(self) -> str:
        return "user" if self is IdentityKind.users else "service_principal"


class CreateServicePrincipal(Body):
    name: Name
    role: Role = "contributor"


class AddUser(Body):
    name: Name
    role: Role = "reader"
    password: Annotated[str, Field(min_length=1, max_length=1024)] | None = None


class ResetPassword(Body):
    password: Annotated[str, Field(min_length=1, max_length=1024)] | None = None


class ChangePassword(Body):
    """A signed-in user's own password: the current one, and the new one."""

    old_password: Annotated[str, Field(min_length=1, max_length=1024)]
    new_password: Annotated[str, Field(min_length=1, max_length=1024)]


class SetRole(Body):
    role: Role


class ErrorBody(BaseModel):
    code: str
    message: str
    hint: str | None = None
    details: dict[str, Any] | None = None


class ErrorEnvelope(BaseModel):
    """Every JSON error of the API (``/oauth/token`` answers RFC 6749 errors)."""

    error: ErrorBody
