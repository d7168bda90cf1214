"""The SDK. ``Workspace`` is the entry point."""

from slipway.client.experiments import AutoMLConfig
from slipway.client.workspace import Workspace

__all__ = ["AutoMLConfig", "Workspace"]
