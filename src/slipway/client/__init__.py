"""The SDK. ``Workspace`` is the entry point; the ``*Authentication`` classes
sign in to a remote one."""

from slipway.client.auth import (
    InteractiveLoginAuthentication,
    ServicePrincipalAuthentication,
    TokenAuthentication,
)
from slipway.client.experiments import AutoMLConfig
from slipway.client.workspace import Workspace

__all__ = ["AutoMLConfig", "InteractiveLoginAuthentication", "ServicePrincipalAuthentication",
           "TokenAuthentication", "Workspace"]
