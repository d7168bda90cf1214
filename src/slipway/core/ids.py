"""Identifiers: time-ordered, readable, unique without coordination."""

from __future__ import annotations

import secrets
import time


def new_run_id(prefix: str) -> str:
    """e.g. ``AutoML_01j9z3k4m2_5f3a9c`` — sorts by creation time."""
    millis = int(time.time() * 1000)
    return f"{prefix}_{_base36(millis)}_{secrets.token_hex(3)}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
    return out or "0"
