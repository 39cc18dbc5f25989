class Conflict(Exception):
    """The record changed since the caller read it (stale version)."""

    code = "stale_version"
