"""The example notebooks run from a fresh kernel without errors, and hold the generator's cells.

Each run indexes the sample photos into a temporary store with the starter pack (about 10-25 s a
notebook here). The notebooks are built by notebooks/make_notebooks.py.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ("01_ingestion.ipynb", "02_text_search.ipynb", "03_hybrid_search.ipynb",
         "04_embedding_visualization.ipynb")  # fmt: skip
MAX_BYTES = 1024 * 1024
CELL_TIMEOUT_S = 600  # a cell loads models or indexes 16 photos: seconds, unless the machine is loaded


def need(module: str) -> None:
    """Skip on a machine without the docs extra; fail in CI, where scripts/setup.sh installs it."""
    if importlib.util.find_spec(module) is None:
        reason = f"{module} is missing: install the docs extra (scripts/setup.sh)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def generator() -> ModuleType:
    for name in ("nbformat", "nbclient", "ipykernel", "matplotlib", "sklearn"):
        need(name)
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_notebook_is_listed() -> None:
    assert sorted(path.name for path in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_holds_the_generated_cells_with_outputs(name: str) -> None:
    make = generator()
    import nbformat

    committed = nbformat.read(NOTEBOOKS / name, as_version=4)
    expected = make.build(name)
    assert [(c.cell_type, c.source) for c in committed.cells] == [
        (c.cell_type, c.source) for c in expected.cells
    ], f"notebooks/{name} differs from notebooks/make_notebooks.py: run it to rebuild"
    code = [c for c in committed.cells if c.cell_type == "code"]
    executed = all(c.get("execution_count") for c in code) and any(c.get("outputs") for c in code)
    assert executed, f"notebooks/{name} is committed without its outputs: run notebooks/make_notebooks.py"
    assert (NOTEBOOKS / name).stat().st_size < MAX_BYTES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_without_errors(
    name: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    make = generator()
    import nbformat

    # The kernel inherits the environment: a shared cache of the starter pack's class vectors, built once.
    monkeypatch.setenv("PIXSEEK_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "notebook-model-cache"))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    make.execute(notebook, cell_timeout_s=CELL_TIMEOUT_S)  # raises CellExecutionError on an error
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
