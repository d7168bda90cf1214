"""Use cases, one module per resource. Functions take a ``WorkspaceContext``."""
