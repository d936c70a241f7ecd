"""docs/ARCHITECTURE.md's table of concerns names every module of the package, and only real ones."""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "pixseek"
# A table row's first cell: backticked paths relative to the package, globs and folders ("api/") allowed.
FIRST_CELL = re.compile(r"^\| ([^|]+) \|", re.MULTILINE)
TICKED = re.compile(r"`([^`]+)`")


def mapped_patterns() -> list[str]:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## Where each concern lives", 1)[1].split("\n## ", 1)[0]
    return [name for cell in FIRST_CELL.findall(section) for name in TICKED.findall(cell)]


def covers(pattern: str, module: str) -> bool:
    return module.startswith(pattern) if pattern.endswith("/") else fnmatch(module, pattern)


def package_modules() -> list[str]:
    return sorted(
        path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py") if path.name != "__init__.py"
    )


def test_every_module_has_a_row() -> None:
    patterns = mapped_patterns()
    unmapped = [m for m in package_modules() if not any(covers(p, m) for p in patterns)]
    assert not unmapped, f"add these to docs/ARCHITECTURE.md: {unmapped}"


def test_every_row_names_something_that_exists() -> None:
    files = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*") if p.is_file()]
    stale = [p for p in mapped_patterns() if not any(covers(p, f) for f in files)]
    assert not stale, f"docs/ARCHITECTURE.md names what the package does not have: {stale}"
