"""Atomic writes for the project's files: build under a temporary name beside the target,
then rename (`zoo.contract.publish`, which gives the result a plain file's permissions)."""

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from zoo.contract import publish, write_atomically
from zoo.errors import ZooError

# What the disk or its permissions refuse, as opposed to a fault of the code: a full disk, a
# read-only or forbidden folder, a quota, a file too large.
_WRITE_FAULTS = (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG)


def write_fault(error: BaseException) -> str | None:
    """Why a write failed ("No space left on device") when the disk or its permissions
    refused it; None for any other error. Libraries that write (h5py, TensorFlow) wrap the
    OS error in their own types, so their text is searched too."""
    if isinstance(error, OSError) and error.errno in _WRITE_FAULTS:
        return os.strerror(error.errno)
    text = str(error)
    for code in _WRITE_FAULTS:
        if os.strerror(code) in text or f"errno = {code}," in text:
            return os.strerror(code)
    return None


@contextlib.contextmanager
def writing(target: str | os.PathLike, then: str) -> Iterator[None]:
    """Turns a write to `target` that the disk refuses into one line: what could not be
    written, why, and `then` (what was kept, what to do)."""
    try:
        yield
    except ZooError:
        raise
    except Exception as e:
        reason = write_fault(e)
        if reason is None:
            raise
        raise ZooError(f"cannot write {target} ({reason}); {then}") from e


def check_writable(folder: str | os.PathLike, then: str) -> None:
    """Refuses, in one line ending in `then`, a folder this process cannot write in
    (read-only, forbidden, full), before anything is written there."""
    with writing(folder, then):
        Path(folder).mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)


@contextlib.contextmanager
def staged_folder(out_dir: str | os.PathLike, replace: bool = False) -> Iterator[Path]:
    """A temporary folder beside `out_dir` to assemble it in; moved into place when the
    block ends (an old `out_dir`, with `replace`, is swapped out, then removed), removed
    when it raises. Refuses an existing `out_dir` without `replace` before anything is written."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not replace:
        raise ZooError(f"{out_dir} already exists; remove it or pass --force to replace it")
    kept = f"the previous {out_dir.name} is intact" if out_dir.exists() else "nothing was written"
    with writing(out_dir, kept):
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        with writing(out_dir, kept):
            yield staging
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{staging.name.rsplit('-', 1)[-1]}")
            out_dir.rename(old)
        try:
            publish(staging, out_dir)
        except BaseException:
            if old is not None:  # put the previous one back
                old.rename(out_dir)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_json(path: str | os.PathLike, obj) -> Path:
    """Writes `obj` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2) + "\n"
    with writing(path, "the previous file is intact"):
        return write_atomically(path, lambda tmp: Path(tmp).write_text(text))


def save_keras(model, path: str | os.PathLike) -> Path:
    """Saves a Keras model to a `.keras` file atomically."""
    with writing(path, "the previous file is intact"):
        return write_atomically(path, model.save)


def read_json_object(path: str | os.PathLike, advice: str, what: str = "JSON object") -> dict:
    """A JSON object from `path`, or a ZooError ending in `advice` (what the user should do);
    `what` names the object in that error."""
    path = Path(path)
    try:
        value = json.loads(path.read_bytes())
    except OSError as e:
        raise ZooError(f"cannot read {path}: {e.strerror or e}; {advice}") from e
    except ValueError as e:  # not JSON, or not text
        raise ZooError(f"{path} is not valid JSON ({type(e).__name__}); {advice}") from e
    if not isinstance(value, dict):
        raise ZooError(f"{path} holds no {what}; {advice}")
    return value
