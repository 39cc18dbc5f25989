class StateError(Exception):
    """The record's state does not allow the command (a lead already converted, a closed ticket…).
    The API answers 409 with `code`; the UI shows `message`."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


class Conflict(Exception):
    """The record changed since the caller read it (stale version)."""

    code = "stale_version"
