"""The address clients should use for something bound on this machine.

A server or endpoint bound to every interface (``0.0.0.0``, ``::``) cannot
advertise that address: clients need this machine's name. It is
``SLIPWAY_PUBLIC_HOST`` when set, else the fully qualified host name (or the
plain host name when the resolver only knows ``localhost``)."""

from __future__ import annotations

import os
import socket
from functools import cache

WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]", ""})


@cache
def _machine_name() -> str:
    name = socket.getfqdn()
    if not name or name.startswith("localhost"):
        name = socket.gethostname() or "127.0.0.1"
    return name


def advertised_host(bind_host: str) -> str:
    """The host name to put in URLs for a socket bound to ``bind_host``."""
    if bind_host not in WILDCARD_HOSTS:
        return bind_host
    return os.environ.get("SLIPWAY_PUBLIC_HOST", "").strip() or _machine_name()


def http_url(bind_host: str, port: int) -> str:
    """``http://host:port`` for a socket bound to ``bind_host`` (IPv6 in brackets)."""
    host = advertised_host(bind_host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"
