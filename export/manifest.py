"""manifest.json: what an exported folder holds, read and verified without TensorFlow."""

import json
from pathlib import Path

from zoo import files
from zoo.errors import ZooError

FORMAT = "gan-zoo-export/1"
NAME = "manifest.json"


sha256 = files.sha256


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` but the manifest, by relative POSIX path."""
    return files.file_hashes(root, skip=NAME)


def read(export_dir: str | Path, verify: bool = True) -> dict:
    """Loads manifest.json; with `verify`, checks every listed file's sha256."""
    export_dir = Path(export_dir)
    path = export_dir / NAME
    if not path.is_file():
        raise ZooError(f"{export_dir} has no {NAME}; is it an export folder?")
    try:
        manifest = json.loads(path.read_bytes())
    except ValueError as e:  # not JSON, or not text
        raise ZooError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ZooError(f"{path} is not a {FORMAT} manifest")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(name, str) and _inside(name) and isinstance(digest, str) for name, digest in files.items()
    ):
        raise ZooError(f"{path} has a damaged file list; export the run again")
    if verify:
        for name, expected in files.items():
            file = export_dir / name
            try:
                if not file.is_file():
                    raise ZooError(f"{file} is listed in the manifest but missing")
                if sha256(file) != expected:
                    raise ZooError(f"{file} does not match its sha256 in the manifest; it was modified")
            except OSError as e:  # unreadable, or a name the file system refuses
                raise ZooError(f"cannot read {file} listed in the manifest: {e.strerror or e}") from e
    return manifest


def _inside(name: str) -> bool:
    """A relative path that stays inside the export folder."""
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts
