"""Slipway: a tabular dataset to a production model and a retraining
pipeline, on infrastructure you own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slipway.client import Workspace
    from slipway.client.auth import (
        InteractiveLoginAuthentication,
        ServicePrincipalAuthentication,
        TokenAuthentication,
    )
    from slipway.client.experiments import AutoMLConfig

__all__ = ["AutoMLConfig", "InteractiveLoginAuthentication", "ServicePrincipalAuthentication",
           "TokenAuthentication", "Workspace"]
_AUTH = ("InteractiveLoginAuthentication", "ServicePrincipalAuthentication", "TokenAuthentication")
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Lazy, so the scoring server can import slipway.serving without pulling
    # in the control plane (SQLAlchemy, Alembic) it never uses.
    if name == "Workspace":
        from slipway.client import Workspace

        return Workspace
    if name == "AutoMLConfig":
        from slipway.client.experiments import AutoMLConfig

        return AutoMLConfig
    if name in _AUTH:
        from slipway.client import auth

        return getattr(auth, name)
    raise AttributeError(f"module 'slipway' has no attribute {name!r}")
