"""The project's own error type: raised for bad input, printed by the CLI as one line.

Also `first_line`, which every entry point uses to build those errors (this module loads
no TensorFlow). Whether a value is an integer is the deployment contract's
`zoo.contract.is_integer`.
"""


class ZooError(Exception):
    """A user-facing error; its message says what was wrong and what to do instead.

    `exit_status` is the CLI's: 2 for bad input or a failed write, 3 for a lost worker."""

    exit_status = 2


class LostWorker(ZooError):
    """Another worker of a multi-worker run is gone; the survivors stop with this."""

    exit_status = 3


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none), to
    quote a library's multi-line error inside a one-line ZooError."""
    lines = str(error).splitlines()
    return lines[0] if lines else type(error).__name__
