"""manifest.json read for the project: the contract's reading, with its errors as ZooError."""

from pathlib import Path

from zoo import contract
from zoo.errors import ZooError

FORMAT = contract.FORMAT
NAME = contract.MANIFEST


def read(export_dir: str | Path, verify: bool = True) -> dict:
    """Loads manifest.json; with `verify`, checks every listed file's sha256."""
    try:
        return contract.read_manifest(export_dir, verify)
    except contract.ContractError as e:
        raise ZooError(str(e)) from e
