"""The layering: every import points down, and the deployment contract stands alone.

Layers, lowest first (docs/architecture.md). A module may import from its own group or
from a lower layer; imports inside functions count too.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LAYERS = [
    ("contract", ["zoo.contract"]),
    ("base", ["zoo.errors", "zoo.files", "zoo.multi_worker"]),
    ("models", ["zoo.models"]),
    ("data", ["zoo.data"]),
    ("evaluation", ["zoo.evaluation"]),
    ("training", ["zoo.training"]),
    ("presets", ["zoo.presets"]),
    ("api", ["zoo"]),  # zoo/__init__.py: the public names
    ("export", ["export"]),
    ("run machinery", ["recipes.quiet_tensorflow", "recipes.scale"]),
    ("recipe types", ["recipes.recipe"]),
    ("recipe book", ["recipes.book"]),
    ("run options", ["recipes.run_options"]),
    ("trainer", ["recipes.trainer"]),
    ("shipping", ["recipes.shipping"]),
    ("cli", ["recipes.cli"]),
    ("recipes api", ["recipes"]),  # recipes/__init__.py: the public names
]
# models and data are independent: neither may import the other.
INDEPENDENT = {frozenset({"models", "data"})}


def _layer_of(module: str) -> tuple[int, str] | None:
    """(rank, group) of the longest matching prefix, or None outside the project."""
    best = None
    for rank, (group, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[2]
            ):
                best = (rank, group, len(prefix))
    return None if best is None else best[:2]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(path: Path) -> set[str]:
    """Every project module `path` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from a import b`: module a.b if it is one, else a
                full = f"{node.module}.{alias.name}"
                found.add(full if _is_module(full) else node.module)
    return {m for m in found if _layer_of(m) is not None}


def _sources():
    for package in ("zoo", "export", "recipes"):
        yield from sorted((ROOT / package).rglob("*.py"))


def upward_imports(path: Path, name: str | None = None) -> list[str]:
    """What `path` (module `name`, by default its own) imports from a higher layer."""
    name = name or _module_name(path)
    own = _layer_of(name)
    wrong = []
    for target in sorted(imports_of(path)):
        rank, group = _layer_of(target)
        if group == own[1]:
            continue
        if rank > own[0] or frozenset({group, own[1]}) in INDEPENDENT:
            wrong.append(f"{name} ({own[1]}) imports {target} ({group})")
    return wrong


def test_every_import_points_down():
    wrong = [line for path in _sources() for line in upward_imports(path)]
    assert not wrong, "\n".join(wrong)


def test_the_contract_imports_nothing_from_the_project():
    assert imports_of(ROOT / "zoo" / "contract.py") == set()


def test_the_check_sees_an_upward_import(tmp_path):
    # A module of the game that reached up into training would be caught.
    probe = tmp_path / "probe.py"
    probe.write_text("from zoo.training import callbacks\n\ndef f():\n    import recipes\n")
    wrong = upward_imports(probe, "zoo.models.probe")
    assert len(wrong) == 2 and "recipes" in wrong[0] and "zoo.training.callbacks" in wrong[1]
    assert upward_imports(probe, "recipes") == []  # the public names may use anything


@pytest.mark.parametrize("module", ["zoo.models.adversarial", "zoo.data", "zoo.evaluation.judge", "recipes"])
def test_the_layers_cover_the_project(module):
    assert _layer_of(module) is not None
