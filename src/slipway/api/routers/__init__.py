"""One router per resource, mounted under ``/api/v1`` (``oauth`` at the root)."""
