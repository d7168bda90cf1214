"""Human durations: ``90s``, ``5m``, ``1h``, ``1h30m``, or plain seconds."""

from __future__ import annotations

import re

from slipway.core.errors import InvalidInput

_PART = re.compile(r"(\d+(?:\.\d+)?)([smh])")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    value = text.strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        parts = _PART.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise InvalidInput(f"cannot read the duration {text!r}",
                               hint="use e.g. 90s, 5m, 1h or 1h30m") from None
        seconds = sum(float(n) * _UNIT[u] for n, u in parts)
    if seconds <= 0:
        raise InvalidInput(f"the duration {text!r} must be positive", hint="use e.g. 90s, 5m or 1h")
    return seconds
