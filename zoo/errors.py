"""The project's own error type: raised for bad input, printed by the CLI as one line."""


class ZooError(Exception):
    """A user-facing error; its message says what was wrong and what to do instead."""
