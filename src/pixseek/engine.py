"""The composition root: one object holding the pack, store, ingestor and search for a Settings."""

from __future__ import annotations

from pathlib import Path

from pixseek.config import Settings
from pixseek.index.factory import open_store
from pixseek.index.protocol import Store
from pixseek.ingest.media import MediaStore
from pixseek.ingest.pipeline import Ingestor
from pixseek.models.loader import load_pack
from pixseek.models.protocols import ModelPack
from pixseek.search.cache import TextEmbeddingCache
from pixseek.search.service import SearchService


def check_db_folder(db: Path) -> None:
    """ValueError when the store folder's path is taken by a file."""
    if db.exists() and not db.is_dir():
        raise ValueError(f"{db} is a file, not a store folder")


class Engine:
    def __init__(self, settings: Settings, pack: ModelPack, store: Store) -> None:
        self.settings = settings
        self.pack = pack
        self.store = store
        self.media = MediaStore(settings.db / "media")
        # One analysis shard per core suits CPU models; a GPU or Triton wants whole batches.
        on_accelerator = settings.inference == "triton" or settings.onnx_providers == "cuda"
        self.ingestor = Ingestor(
            pack, store, self.media, settings.max_image_pixels, analyze_workers=1 if on_accelerator else None
        )
        self.cache = TextEmbeddingCache(settings.text_cache_size)
        self.search = SearchService(
            pack,
            store,
            self.cache,
            settings.max_image_pixels,
            max_query_chars=settings.max_query_chars,
            date_pool=settings.date_sort_pool,
        )

    @classmethod
    def open(cls, settings: Settings, pack: ModelPack | None = None) -> Engine:
        """Load the models (unless given) and open the store; a pack mismatch raises here."""
        check_db_folder(settings.db)
        settings.db.mkdir(parents=True, exist_ok=True)
        pack = pack or load_pack(settings)
        return cls(settings, pack, open_store(settings, pack.info))

    def delete_image(self, image_id: str) -> bool:
        """Remove an image, its objects and the store's own copy of its file."""
        record = self.store.get(image_id)
        if record is None:
            return False
        deleted = self.store.delete(image_id)
        self.media.remove(Path(record.path))
        return deleted

    def close(self) -> None:
        self.ingestor.close()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
