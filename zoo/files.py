"""Atomic writes for the project's files: build under a temporary name beside the target,
then rename (`zoo.contract.publish`, which gives the result a plain file's permissions)."""

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from zoo.contract import publish, write_atomically
from zoo.errors import ZooError


@contextlib.contextmanager
def staged_folder(out_dir: str | os.PathLike, replace: bool = False) -> Iterator[Path]:
    """A temporary folder beside `out_dir` to assemble it in; moved into place when the
    block ends (an old `out_dir`, with `replace`, is swapped out, then removed), removed
    when it raises. Refuses an existing `out_dir` without `replace` before anything is written."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not replace:
        raise ZooError(f"{out_dir} already exists; remove it or pass --force to replace it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        yield staging
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{staging.name.rsplit('-', 1)[-1]}")
            out_dir.rename(old)
        publish(staging, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_json(path: str | os.PathLike, obj) -> Path:
    """Writes `obj` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2) + "\n"
    return write_atomically(path, lambda tmp: Path(tmp).write_text(text))


def save_keras(model, path: str | os.PathLike) -> Path:
    """Saves a Keras model to a `.keras` file atomically."""
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
