import numpy as np

from zoo.contract import is_integer
from zoo.errors import first_line


def test_is_integer_takes_python_and_numpy_integers_but_not_bools_or_floats():
    assert all(is_integer(v) for v in (0, -3, np.int8(1), np.int32(7), np.uint8(2), np.int64(9)))
    assert not any(is_integer(v) for v in (True, np.bool_(False), 1.0, np.float32(2), "1", None))


def test_first_line_quotes_one_line_even_of_an_empty_message():
    assert first_line(ValueError("bad header\nat byte 12\n")) == "bad header"
    assert first_line(OSError()) == "OSError"
