"""manifest.json: what an exported folder holds, read and verified without TensorFlow."""

from pathlib import Path

from export import sample
from zoo import files
from zoo.errors import ZooError

FORMAT = sample.FORMAT
NAME = sample.MANIFEST


sha256 = files.sha256


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` but the manifest, by relative POSIX path."""
    return files.file_hashes(root, skip=NAME)


def read(export_dir: str | Path, verify: bool = True) -> dict:
    """Loads manifest.json; with `verify`, checks every listed file's sha256 (the standalone
    sampler's own reading, with its errors as ZooError)."""
    try:
        return sample.read_manifest(export_dir, verify)
    except sample.SampleError as e:
        raise ZooError(str(e)) from e
