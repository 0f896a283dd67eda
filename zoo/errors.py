"""The project's own error type: raised for bad input, printed by the CLI as one line.

Also the two small pieces every entry point uses to build those errors, kept here because
this module loads no TensorFlow (the ONNX sampler needs them too).
"""

import numbers


class ZooError(Exception):
    """A user-facing error; its message says what was wrong and what to do instead."""


def is_integer(value) -> bool:
    """True for Python and NumPy integers, False for bools: what a count, seed, epoch or
    label must be."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none), to
    quote a library's multi-line error inside a one-line ZooError."""
    lines = str(error).splitlines()
    return lines[0] if lines else type(error).__name__
