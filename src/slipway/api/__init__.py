"""The control plane's HTTP API (``slipway server``)."""

from slipway.api.app import create_app

__all__ = ["create_app"]
