"""The embedded store (default backend): two LanceDB tables, images and their objects, in one folder."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import lancedb
import pyarrow as pa
import pyarrow.compute as pc
from lancedb.index import Bitmap, BTree, LabelList
from lancedb.query import ColumnOrdering

from pixseek.index.lance_ann import IndexPolicy, ScalarIndexes, unindexed_rows
from pixseek.index.lance_filters import image_filter_sql, object_filter_sql, sql_string, sql_string_list
from pixseek.index.lance_journal import WriteJournal, held_lock
from pixseek.index.lance_meta import StoreMeta, read_meta, write_meta
from pixseek.index.lance_query import nearest
from pixseek.index.lance_resident import ResidentIndex
from pixseek.index.lance_schema import (
    IMAGES_TABLE,
    OBJECTS_TABLE,
    RECORD_COLUMNS,
    VECTOR_COLUMN,
    ClassColumns,
    image_row,
    images_schema,
    object_rows,
    objects_schema,
    records_from_arrow,
)
from pixseek.index.protocol import (
    ImageFilter,
    ImageHit,
    ImageRecord,
    MetadataUpdate,
    ObjectFilter,
    ObjectHit,
    ObjectRecord,
    StoreInfo,
    Vector,
    check_hex,
)
from pixseek.models.protocols import PackInfo

log = logging.getLogger(__name__)
# Read-modify-write steps (which ids are stored, then write) hold this flock across processes.
WRITE_LOCK = "write.lock"
# Another process (a CLI ingest beside the API server) may write; look for its commits this often.
READ_CONSISTENCY = timedelta(seconds=1)
# LanceDB's metadata cache (manifests, fragment and file metadata) keeps entries for every table
# version a long ingest writes: with its default size, 10k images upserted 16 at a time grew the
# process from 208 to 747 MiB and still rising; capped here, it levels off at ~370 MiB. The index cache
# keeps its default: ANN queries need it.
METADATA_CACHE_BYTES = 128 * 1024 * 1024
# Ids per `IN (...)` list, to bound the SQL text of one statement.
IDS_PER_STATEMENT = 2_000
# Built with the ANN index: they serve lookups by id and the filters' pre-filter step.
IMAGE_SCALAR_INDEXES: ScalarIndexes = {"id": BTree(), "captured_at": BTree(), "tags": LabelList()}
OBJECT_SCALAR_INDEXES: ScalarIndexes = {
    "image_id": BTree(),
    "class_name": Bitmap(),  # few distinct values
    "captured_at": BTree(),
    "tags": LabelList(),
}
NEWEST_CAPTURE_FIRST = [
    ColumnOrdering(column_name="captured_at", ascending=False, nulls_first=False),
    ColumnOrdering(column_name="ingested_at", ascending=False),
    ColumnOrdering(column_name="id"),
]


def _columns(schema: pa.Schema, **columns: Sequence[object]) -> pa.Table:
    """Some of a table's columns, typed as the table has them (for a partial merge)."""
    return pa.table(columns, schema=pa.schema([schema.field(name) for name in columns]))


@contextmanager
def _query_errors() -> Iterator[None]:
    """LanceDB reports a query it cannot run as ValueError, which callers take for bad input (the API
    answers 422 and echoes it: SQL, paths). Our filters are built and checked before they get here,
    so such an error is the store's: a RuntimeError (a logged 500 that echoes nothing)."""
    try:
        yield
    except ValueError as exc:
        raise RuntimeError(f"LanceDB could not run a query: {exc}") from exc


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + IDS_PER_STATEMENT] for i in range(0, len(ids), IDS_PER_STATEMENT)]


class LanceStore:
    """Images (one row each, with per-class confidence columns for filtering) and their objects.

    The image row is the commit marker: objects are written before it and deleted after it, so a crash
    leaves at worst objects without an image; the write journal names them, and opening the store
    removes them.
    """

    backend = "lancedb"

    def __init__(
        self, path: Path, pack: PackInfo, ann_threshold: int = 50_000, resident_index: bool = True
    ) -> None:
        """`resident_index`: let `optimize()` build, and searches use, the in-memory HNSW snapshot
        (`lance_resident`) once the library reaches `ann_threshold` images."""
        self._path = Path(path)
        self._pack = pack
        self._classes = ClassColumns(pack.class_names)
        self._indexes = IndexPolicy(ann_threshold)
        self._write_lock = threading.RLock()
        meta = read_meta(self._path)
        if meta is None:
            write_meta(self._path, StoreMeta.for_pack(pack))
        else:
            meta.check_compatible(pack)
        self._db = lancedb.connect(
            self._path,
            read_consistency_interval=READ_CONSISTENCY,
            session=lancedb.Session(metadata_cache_size_bytes=METADATA_CACHE_BYTES),
        )
        self._images_schema = images_schema(self._classes, pack.dim)
        self._objects_schema = objects_schema(pack.dim)
        self._images = self._db.create_table(IMAGES_TABLE, schema=self._images_schema, exist_ok=True)
        self._objects = self._db.create_table(OBJECTS_TABLE, schema=self._objects_schema, exist_ok=True)
        self._journal = WriteJournal(self._path / "journal")
        self._resident = (
            ResidentIndex(self._path / "resident", pack.dim, self._classes) if resident_index else None
        )
        self._repair_interrupted_writes()

    # -- writes ---------------------------------------------------------------------------------------

    def upsert(self, images: Sequence[tuple[ImageRecord, Sequence[ObjectRecord]]]) -> None:
        latest = {record.id: (record, objects) for record, objects in images}  # a repeated id: last wins
        if not latest:
            return
        # Build every row before writing, so invalid input writes nothing.
        image_table = pa.Table.from_pylist(
            [image_row(record, self._classes, self._pack.dim) for record, _ in latest.values()],
            schema=self._images_schema,
        )
        object_table = pa.Table.from_pylist(
            [row for rec, objs in latest.values() for row in object_rows(rec, objs, self._pack.dim)],
            schema=self._objects_schema,
        )
        with self._writing(), self._journal.writing(list(latest)):
            self._delete_images(sorted(self.existing_ids(list(latest))))
            if object_table.num_rows:
                self._objects.add(object_table)
            self._images.add(image_table)
            self._maintain_indexes(refresh=False)

    def add_arrow(self, images: pa.Table, objects: pa.Table | None = None) -> None:
        """Bulk-load rows already in the tables' schemas (new ids only; for benchmarks and migrations)."""
        with self._write_lock:
            if objects is not None and objects.num_rows:
                self._objects.add(objects.cast(self._objects_schema))
            self._images.add(images.cast(self._images_schema))
            self._maintain_indexes(refresh=False)

    def delete(self, image_id: str) -> bool:
        with self._writing():
            if not self.existing_ids([image_id]):
                return False
            with self._journal.writing([image_id]):
                self._delete_images([image_id])
            return True

    def _delete_images(self, image_ids: Sequence[str]) -> None:
        # Image rows first: once they are gone the images are absent, whatever happens to their objects.
        for chunk in _chunks(image_ids):
            self._images.delete(f"id IN ({sql_string_list(chunk)})")
        for chunk in _chunks(image_ids):
            self._objects.delete(f"image_id IN ({sql_string_list(chunk)})")

    def update_metadata(self, updates: Sequence[MetadataUpdate]) -> set[str]:
        by_id: dict[str, list[MetadataUpdate]] = {}
        for update in updates:
            by_id.setdefault(update.image_id, []).append(update)
        # Read, merge and write under a lock that other processes (API workers, a CLI index) take
        # too, reading the latest commit rather than one up to READ_CONSISTENCY old.
        with self._writing():
            changed = []
            for record in self._records_of(set(by_id)):
                path, tags = record.path, record.tags
                for update in by_id[record.id]:  # in order
                    path, tags = update.applied_to(path, tags)
                if (path, tags) != (record.path, record.tags):
                    changed.append((record.id, path, list(tags), tags != record.tags))
            if not changed:
                return set()
            # One merge per table; objects first, as in upsert.
            retagged = [(image_id, tags) for image_id, _, tags, new_tags in changed if new_tags]
            if retagged:
                ids, tags = zip(*retagged, strict=True)
                objects = _columns(self._objects_schema, image_id=ids, tags=tags)
                self._objects.merge_insert("image_id").when_matched_update_all().execute(objects)
            ids, paths, tags, _ = zip(*changed, strict=True)
            images = _columns(self._images_schema, id=ids, path=paths, tags=tags)
            self._images.merge_insert("id").when_matched_update_all().execute(images)
            return set(ids)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """This process's threads and other processes (API workers, a CLI index beside the server)
        one at a time, each reading the latest commit: a read up to READ_CONSISTENCY old let two
        processes both store one new image (duplicate rows) and lose each other's tags."""
        with self._write_lock, held_lock(self._path / WRITE_LOCK):
            self._images.checkout_latest()
            self._objects.checkout_latest()
            yield

    def _repair_interrupted_writes(self) -> None:
        """Remove the objects that a crashed write left without their image row. Where the store
        cannot be written (a read-only copy, a full disk) the repair waits for a writable open: the
        orphans are never returned by searches meanwhile (they lack their image row)."""
        if not self._journal.has_entries():
            return
        try:
            with self._writing():
                for image_ids in self._journal.abandoned():
                    orphaned = set(image_ids) - self.existing_ids(image_ids)
                    for chunk in _chunks(sorted(orphaned)):
                        self._objects.delete(f"image_id IN ({sql_string_list(chunk)})")
        except (OSError, RuntimeError) as exc:
            log.warning("could not repair an interrupted write in %s (will retry on the next open): %s",
                        self._path, exc)  # fmt: skip

    def optimize(self) -> None:
        with self._write_lock:
            self._maintain_indexes(refresh=True)
            if self._resident is None:
                return
            if self._images.count_rows() >= self._indexes.ann_threshold:
                self._resident.rebuild(self._images)
            else:
                self._resident.clear()

    def _maintain_indexes(self, *, refresh: bool) -> None:
        self._indexes.maintain(self._images, IMAGE_SCALAR_INDEXES, refresh=refresh)
        self._indexes.maintain(self._objects, OBJECT_SCALAR_INDEXES, refresh=refresh)

    # -- reads ----------------------------------------------------------------------------------------

    def get(self, image_id: str) -> ImageRecord | None:
        rows = (
            self._images.search()
            .where(f"id = {sql_string(image_id)}")
            .select([*RECORD_COLUMNS, VECTOR_COLUMN])
            .limit(1)
            .to_arrow()
        )
        records = records_from_arrow(rows)
        return records[0] if records else None

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        check_hex(prefix)
        query = self._images.search().where(f"id LIKE '{prefix}%'").select(["id"]).limit(limit)
        return list(query.to_arrow()["id"].to_pylist())

    def get_many(self, image_ids: Sequence[str]) -> list[ImageRecord]:
        return self._records_of(set(image_ids))

    def existing_ids(self, image_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(image_ids))):
            query = self._images.search().where(f"id IN ({sql_string_list(chunk)})").select(["id"])
            found.update(query.limit(len(chunk)).to_arrow()["id"].to_pylist())
        return found

    def count(self) -> int:
        return self._images.count_rows()

    def search_images(self, vector: Vector, k: int, flt: ImageFilter = ImageFilter()) -> list[ImageHit]:
        where = image_filter_sql(flt, self._classes)
        if k <= 0:
            return []
        rows = None
        with _query_errors():
            if self._resident is not None:
                rows = self._resident.nearest(self._images, vector, k, RECORD_COLUMNS, flt)
            if rows is None:
                rows = nearest(self._images, vector, k, where, RECORD_COLUMNS)
        records = records_from_arrow(rows)
        distances = rows["_distance"].to_pylist()
        return [ImageHit(record, 1.0 - d) for record, d in zip(records, distances, strict=True)]

    def search_objects(self, vector: Vector, k: int, flt: ObjectFilter = ObjectFilter()) -> list[ObjectHit]:
        where = object_filter_sql(flt, self._classes)
        if k <= 0:
            return []
        with _query_errors():
            rows = nearest(self._objects, vector, k, where, ("image_id", "idx")).to_pylist()
        records = {r.id: r for r in self._records_of({row["image_id"] for row in rows})}
        hits = []
        for row in rows:
            record = records.get(row["image_id"])
            if record is None:  # its image row is not written yet: an upsert in progress
                continue
            idx = row["idx"]
            hits.append(ObjectHit(record, idx, record.detections[idx], 1.0 - row["_distance"]))
        return hits

    def list_images(self, k: int, offset: int = 0, flt: ImageFilter = ImageFilter()) -> list[ImageRecord]:
        where = image_filter_sql(flt, self._classes)
        if k <= 0:
            return []
        query = self._images.search().select(list(RECORD_COLUMNS)).order_by(NEWEST_CAPTURE_FIRST)
        if where is not None:
            query = query.where(where)
        with _query_errors():
            return records_from_arrow(query.offset(offset).limit(k).to_arrow())

    def tag_counts(self) -> dict[str, int]:
        with _query_errors():
            tags = self._images.search().select(["tags"]).limit(None).to_arrow().column("tags")
        counts = pc.value_counts(pc.list_flatten(tags)).to_pylist()
        return {item["values"]: item["counts"] for item in counts}

    def _records_of(self, image_ids: set[str]) -> list[ImageRecord]:
        records = []
        for chunk in _chunks(sorted(image_ids)):
            query = self._images.search().where(f"id IN ({sql_string_list(chunk)})")
            records += records_from_arrow(query.select(list(RECORD_COLUMNS)).limit(len(chunk)).to_arrow())
        return records

    def info(self) -> StoreInfo:
        images, objects = self._images.count_rows(), self._objects.count_rows()
        unindexed_images, unindexed_objects = unindexed_rows(self._images), unindexed_rows(self._objects)
        resident = None if self._resident is None else self._resident.snapshot_version()
        return StoreInfo(
            backend=self.backend,
            location=str(self._path),
            model_id=self._pack.model_id,
            dim=self._pack.dim,
            images=images,
            objects=objects,
            indexed=unindexed_images is not None,
            extra={
                "objects_indexed": unindexed_objects is not None,
                "unindexed_images": images if unindexed_images is None else unindexed_images,
                "unindexed_objects": objects if unindexed_objects is None else unindexed_objects,
                "resident_snapshot_version": resident,
            },
        )

    def close(self) -> None:
        """Nothing to flush: every write is committed when it returns."""
