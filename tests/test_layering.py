"""The wall between the two packages, checked on the source (DESIGN: hashing never imports
linkage; the matching and aggregation modules of linkage touch no key material)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# linkage modules that only ever see tokens, sealed blobs and aggregates.
KEYLESS = ("linkage/matching", "linkage/measure", "linkage/contracts.py", "linkage/evaluate.py")
ALLOWED_FROM_HASHING_IN_KEYLESS = {"hashing.errors"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules(prefix: str) -> list[Path]:
    target = ROOT / prefix
    return [target] if target.is_file() else sorted(target.rglob("*.py"))


def test_hashing_never_imports_linkage() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in _modules("hashing")
        if any(name == "linkage" or name.startswith("linkage.") for name in _imports(p))
    ]
    assert offenders == []


def test_keyless_linkage_modules_import_no_key_material() -> None:
    offenders: list[str] = []
    for prefix in KEYLESS:
        for path in _modules(prefix):
            for name in _imports(path):
                if name == "cryptography" or name.startswith("cryptography."):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
                if (
                    name.startswith("hashing")
                    and not any(
                        name == ok or name.startswith(ok + ".")
                        for ok in ALLOWED_FROM_HASHING_IN_KEYLESS
                    )
                    and name != "hashing"
                ):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_the_wall_test_sees_the_modules() -> None:
    # Guard against the walk silently finding nothing (which would make the checks vacuous).
    assert _modules("hashing")
    assert _modules("linkage/contracts.py")
