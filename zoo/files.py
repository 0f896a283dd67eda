"""Finishing atomic writes: temp files are private (0600), published files should not be."""

import os
from pathlib import Path


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Gives `tmp` the permissions a plainly created file (or folder) would have under the
    current umask, then renames it to `path` in one step."""
    umask = os.umask(0)
    os.umask(umask)
    tmp = Path(tmp)
    if tmp.is_dir():
        for root, _, files in os.walk(tmp):
            os.chmod(root, 0o777 & ~umask)
            for name in files:
                os.chmod(Path(root) / name, 0o666 & ~umask)
    else:
        os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)
    return Path(path)
