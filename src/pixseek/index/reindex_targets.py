"""Where `pixseek reindex` builds the new index, per backend, and how it switches readers to it.

OpenSearch: `<name>-v(N+1)` beside the live `<name>-vN`, then one `_aliases` call moves the alias.
LanceDB: a store folder `<db>/lance-v(N+1)`, then the `<db>/lance` symlink is replaced (`lance_versions`).
Either way an interrupted build is found again by its version number and resumed.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pixseek.config import Settings
from pixseek.index import lance_versions
from pixseek.index.protocol import ModelMismatchError, Store
from pixseek.index.reindex import ImageWithObjects, ReindexTarget
from pixseek.models.protocols import PackInfo

if TYPE_CHECKING:
    from pixseek.index.opensearch_store import OpenSearchStore


def _unfinished(location: str, exc: ModelMismatchError) -> ValueError:
    return ValueError(
        f"{location} holds an unfinished re-index to pack {exc.stored_id!r}, not {exc.wanted_id!r}; "
        f"delete it to start over, or resume with that pack"
    )


class OpenSearchTarget:
    def __init__(self, source: OpenSearchStore, pack: PackInfo) -> None:
        # No refresh per bulk request: nobody reads the new index before the swap, which refreshes it.
        self._builder = source.for_pack(pack, refresh="false")
        version = source.current_version() + 1
        try:
            self._index = self._builder.create_version(version, exist_ok=True)
        except ModelMismatchError as exc:
            self._builder.close()
            raise _unfinished(source.physical_index(version), exc) from None
        self.location = self._index

    def existing_ids(self, image_ids: Sequence[str]) -> set[str]:
        return self._builder.existing_ids_in(self._index, image_ids)

    def upsert(self, images: Sequence[ImageWithObjects]) -> None:
        self._builder.upsert_into(self._index, images)

    def switch(self) -> list[str]:
        return self._builder.swap_alias(self._index)

    def delete_replaced(self, replaced: Sequence[str]) -> None:
        for index in replaced:
            self._builder.delete_index(index)

    def close(self) -> None:
        self._builder.close()


class LanceTarget:
    def __init__(self, db: Path, pack: PackInfo, ann_threshold: int) -> None:
        from pixseek.index.lance_store import LanceStore

        self._db = db
        self._version = lance_versions.current_version(db) + 1
        path = lance_versions.version_path(db, self._version)
        self.location = str(path)
        try:
            self._store = LanceStore(path, pack, ann_threshold=ann_threshold)
        except ModelMismatchError as exc:
            raise _unfinished(self.location, exc) from None

    def existing_ids(self, image_ids: Sequence[str]) -> set[str]:
        return self._store.existing_ids(image_ids)

    def upsert(self, images: Sequence[ImageWithObjects]) -> None:
        self._store.upsert(images)

    def switch(self) -> list[str]:
        self._store.optimize()  # the ANN index, if the store is large enough, before readers arrive
        old = lance_versions.switch_to(self._db, self._version)
        return [] if old is None else [str(old)]

    def delete_replaced(self, replaced: Sequence[str]) -> None:
        for folder in replaced:
            shutil.rmtree(folder)

    def close(self) -> None:
        self._store.close()


def open_target(settings: Settings, source: Store, pack: PackInfo) -> ReindexTarget:
    """The target for the backend the settings name; `source` is the live store it replaces."""
    if settings.store == "opensearch":
        from pixseek.index.opensearch_store import OpenSearchStore

        if not isinstance(source, OpenSearchStore):
            raise TypeError(f"an OpenSearch re-index needs an OpenSearch source, got {type(source)}")
        return OpenSearchTarget(source, pack)
    return LanceTarget(settings.db, pack, settings.ann_threshold)
