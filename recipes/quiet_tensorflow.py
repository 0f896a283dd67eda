"""Imports TensorFlow without its load-time C++ log lines on stderr.

TensorFlow 2.21 writes info lines (oneDNN, CUDA probing) while its libraries load,
before any log level applies, so a one-line CLI error would arrive under a screenful
of them. Those lines are captured and shown only if the import fails.
"""

import os
import sys
import tempfile


def import_tensorflow_quietly() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # later C++ info/warning logs
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.buffer.write(captured.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
