"""The SDK. ``Workspace`` is the entry point."""

from slipway.client.workspace import Workspace

__all__ = ["Workspace"]
