"""The store's identity file: schema version and the model pack its vectors come from."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from pixseek.index.protocol import ModelMismatchError
from pixseek.models.protocols import PackInfo

SCHEMA_VERSION = 1
META_FILE = "pixseek-store.json"


@dataclass(frozen=True)
class StoreMeta:
    schema_version: int
    model_id: str
    dim: int
    class_names: tuple[str, ...]

    @classmethod
    def for_pack(cls, pack: PackInfo) -> StoreMeta:
        return cls(SCHEMA_VERSION, pack.model_id, pack.dim, tuple(pack.class_names))

    def check_compatible(self, pack: PackInfo) -> None:
        if (self.model_id, self.dim) != (pack.model_id, pack.dim):
            raise ModelMismatchError(self.model_id, self.dim, pack.model_id, pack.dim)
        if self.class_names != tuple(pack.class_names):
            raise ValueError(
                f"store was built for classes {self.class_names}, pack {pack.model_id!r} differs"
            )
        if self.schema_version != SCHEMA_VERSION:
            raise ValueError(
                f"store schema version {self.schema_version} is not this pixseek's {SCHEMA_VERSION}: "
                "open it with the pixseek version that wrote it"
            )


def read_meta(folder: Path) -> StoreMeta | None:
    path = folder / META_FILE
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return StoreMeta(raw["schema_version"], raw["model_id"], raw["dim"], tuple(raw["class_names"]))
    except (ValueError, KeyError, TypeError) as exc:  # hand-edited or damaged: say which file
        raise ValueError(f"{path} is not a pixseek store identity file ({exc!r}); restore it") from None


def write_meta(folder: Path, meta: StoreMeta) -> None:
    """Write via a temporary file and rename, so a crash leaves the old file or the new one."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{META_FILE}.tmp"
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(asdict(meta), f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / META_FILE)
