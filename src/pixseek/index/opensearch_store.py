"""The server backend: one OpenSearch index (k-NN plugin, Lucene HNSW) of images with nested objects.

The store reads and writes through an alias, `<name>`, over a versioned physical index `<name>-vN`,
so a re-index can build `<name>-v(N+1)` beside the live one and switch readers in one atomic step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opensearchpy import OpenSearch, Transport, helpers
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import NotFoundError, RequestError

from pixseek.errors import BackendUnavailable
from pixseek.index.opensearch_mapping import (
    VECTOR_FIELDS,
    ClassFields,
    HnswParams,
    check_meta,
    detection_from_doc,
    image_document,
    index_body,
    record_from_source,
)
from pixseek.index.opensearch_query import (
    cosine,
    image_filter_query,
    image_search_body,
    list_body,
    object_filter_query,
    object_search_body,
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

# Documents per bulk request, and a byte cap: an image with 50 objects of 512-d vectors is ~0.5 MB.
BULK_DOCS = 200
BULK_BYTES = 10 * 1024 * 1024
BULK_RETRIES = 5  # on 429 (bulk queue full), with exponential back-off from 1 s
IDS_PER_MGET = 1_000
MAX_TAGS_LISTED = 10_000  # distinct tags `tag_counts` returns (the most used first)
# Tags live on the image and on each nested object (for object-search filters): set both in one update.
# Merges under the document's version: concurrent updates of one image add up (retry_on_conflict).
SET_METADATA = """
boolean changed = false;
if (params.path != null && params.path != ctx._source.path) {
  ctx._source.path = params.path; changed = true;
}
List tags = ctx._source.tags == null ? new ArrayList() : new ArrayList(ctx._source.tags);
for (def tag : params.add_tags) { if (!tags.contains(tag)) { tags.add(tag); changed = true; } }
if (!changed) { ctx.op = 'noop'; return; }
ctx._source.tags = tags;
if (ctx._source.objects != null) { for (def o : ctx._source.objects) { o.tags = new ArrayList(tags); } }
"""
# Force-merging a large index takes minutes; the client's default 10 s would abandon the call.
OPTIMIZE_TIMEOUT_S = 3600


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class _ReportingTransport(Transport):
    """Turns "cannot connect" (after the client's retries) into BackendUnavailable, at start-up and
    later alike, so the CLI exits with its message and the API answers 503 instead of 500."""

    def perform_request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().perform_request(method, url, *args, **kwargs)
        except OpenSearchConnectionError as exc:
            hosts = self.hosts or []
            where = ", ".join(
                f"http{'s' if h.get('use_ssl') else ''}://{h.get('host')}:{h.get('port')}" for h in hosts
            )
            raise BackendUnavailable(
                f"OpenSearch at {where} is unreachable ({exc.error}); check PIXSEEK_OPENSEARCH_URL "
                "and that the cluster is up"
            ) from exc


class OpenSearchStore:
    """Images as documents with their objects nested; see `opensearch_mapping` for the layout."""

    backend = "opensearch"

    def __init__(
        self,
        url: str,
        index_name: str,
        pack: PackInfo,
        *,
        http_auth: tuple[str, str] | None = None,
        verify_certs: bool = True,
        ca_certs: str | None = None,
        ef_construction: int = 512,
        m: int = 16,
        refresh: str = "wait_for",
        timeout_s: float = 30.0,
        open_alias: bool = True,
    ) -> None:
        """`open_alias=False` skips creating and checking the alias: for `for_pack` (see there)."""
        self._url, self.alias, self._pack = url, index_name, pack
        self._hnsw = HnswParams(m=m, ef_construction=ef_construction)
        self._classes = ClassFields(pack.class_names)
        # "wait_for": an upsert returns once its documents are searchable, without forcing a refresh.
        self._refresh = refresh
        self._options: dict[str, Any] = {
            "http_auth": http_auth,
            "verify_certs": verify_certs,
            "ca_certs": ca_certs,
            "ef_construction": ef_construction,
            "m": m,
            "refresh": refresh,
            "timeout_s": timeout_s,
        }
        self._client = OpenSearch(
            hosts=[url],
            http_auth=http_auth,
            verify_certs=verify_certs,
            ca_certs=ca_certs,
            timeout=timeout_s,
            max_retries=3,
            retry_on_timeout=True,
            transport_class=_ReportingTransport,
        )
        if open_alias:
            self._open_or_create()

    def for_pack(self, pack: PackInfo, refresh: str | None = None) -> OpenSearchStore:
        """A store on the same cluster and alias for another pack, to build a version and swap it in.

        It neither creates nor checks the alias, which still serves the old pack's index: use it only
        for `create_version`, `existing_ids_in`, `upsert_into` and `swap_alias` until the swap.
        `refresh` overrides the write refresh policy ("false" for a bulk build: the swap refreshes).
        """
        options = {**self._options, "refresh": refresh or self._refresh}
        return OpenSearchStore(self._url, self.alias, pack, open_alias=False, **options)

    # -- index and alias ------------------------------------------------------------------------------

    def physical_index(self, version: int) -> str:
        return f"{self.alias}-v{version}"

    def _open_or_create(self) -> None:
        if not self._client.indices.exists(index=self.alias):
            body = index_body(self._pack, self._hnsw, self._classes)
            body["aliases"] = {self.alias: {}}
            try:
                self._client.indices.create(index=self.physical_index(1), body=body)
            except RequestError as exc:
                # Another process created it first; its index is checked like any existing one below.
                if exc.error != "resource_already_exists_exception":
                    raise
        self._check_meta(self.alias)

    def _check_meta(self, index: str) -> None:
        mappings = self._client.indices.get_mapping(index=index)
        for name, body in mappings.items():
            check_meta(body["mappings"].get("_meta"), self._pack, name)

    def current_indices(self) -> list[str]:
        """The physical indices the alias points at (one, outside a manual repair)."""
        try:
            return sorted(self._client.indices.get_alias(name=self.alias))
        except NotFoundError:
            return []

    def current_version(self) -> int:
        """The highest version number among the indices the alias points at (0: no alias yet)."""
        prefix = f"{self.alias}-v"
        versions = [name.removeprefix(prefix) for name in self.current_indices()]
        return max((int(v) for v in versions if v.isdigit()), default=0)

    def create_version(self, version: int, *, exist_ok: bool = False) -> str:
        """Create `<name>-v<version>` with this store's mapping, outside the alias (to fill, then swap).

        `exist_ok`: an existing index of this pack is reused (a resumed re-index); of another, refused.
        """
        name = self.physical_index(version)
        if exist_ok and self._client.indices.exists(index=name):
            self._check_meta(name)
            return name
        self._client.indices.create(index=name, body=index_body(self._pack, self._hnsw, self._classes))
        return name

    def delete_index(self, index: str) -> None:
        """Delete a physical index the alias has left (after a swap); the live one is refused."""
        if index in self.current_indices() or index == self.alias:
            raise ValueError(f"index {index!r} is live behind alias {self.alias!r}; swap away from it first")
        self._client.indices.delete(index=index)

    def swap_alias(self, new_index: str) -> list[str]:
        """Point the alias at `new_index` in one atomic `_aliases` call; returns the indices it left.

        Searches through the alias see either the old index or the new one, never neither.
        The old indices are kept: delete them once the new one has proved itself.
        """
        self._check_meta(new_index)
        self._client.indices.refresh(index=new_index)  # readers must find every document written to it
        old = [name for name in self.current_indices() if name != new_index]
        actions: list[dict[str, Any]] = [{"remove": {"index": name, "alias": self.alias}} for name in old]
        actions.append({"add": {"index": new_index, "alias": self.alias}})
        self._client.indices.update_aliases(body={"actions": actions})
        return old

    # -- writes ---------------------------------------------------------------------------------------

    def upsert(self, images: Sequence[tuple[ImageRecord, Sequence[ObjectRecord]]]) -> None:
        self.upsert_into(self.alias, images)

    def upsert_into(self, index: str, images: Sequence[tuple[ImageRecord, Sequence[ObjectRecord]]]) -> None:
        """Index images into `index` (the alias, or a new version being filled before a swap)."""
        latest = {record.id: (record, objects) for record, objects in images}  # a repeated id: last wins
        # Build every document before sending, so invalid input writes nothing.
        actions = [
            {
                "_op_type": "index",  # replaces the whole document, objects included
                "_index": index,
                "_id": record.id,
                "_source": image_document(record, objects, self._classes, self._pack.dim),
            }
            for record, objects in latest.values()
        ]
        for _ok, _item in self._bulk(actions, raise_on_error=True):
            pass  # raise_on_error raises a BulkIndexError listing the failed documents

    def _bulk(self, actions: list[dict[str, Any]], *, raise_on_error: bool) -> Iterator[tuple[bool, Any]]:
        if not actions:
            return iter(())
        results: Iterator[tuple[bool, Any]] = helpers.streaming_bulk(
            self._client,
            actions,
            chunk_size=BULK_DOCS,
            max_chunk_bytes=BULK_BYTES,
            max_retries=BULK_RETRIES,
            initial_backoff=1,
            max_backoff=30,
            raise_on_error=raise_on_error,
            refresh=self._refresh,
        )
        return results

    def delete(self, image_id: str) -> bool:
        try:
            self._client.delete(index=self.alias, id=image_id, refresh=self._refresh)
        except NotFoundError:
            return False
        return True

    def update_metadata(self, updates: Sequence[MetadataUpdate]) -> set[str]:
        actions = [
            {
                "_op_type": "update",
                "_index": self.alias,
                "_id": update.image_id,
                "retry_on_conflict": 5,
                "script": {
                    "source": SET_METADATA,
                    "lang": "painless",
                    "params": {"path": update.path, "add_tags": list(update.add_tags)},
                },
            }
            for update in updates  # one id's updates apply in order, as bulk runs them
        ]
        changed = set()
        for ok, item in self._bulk(actions, raise_on_error=False):
            outcome = item["update"]
            if ok and outcome.get("result") == "updated":
                changed.add(outcome["_id"])
            elif not ok and outcome.get("status") != 404:  # 404: not stored, ignored
                error = outcome.get("error")
                raise RuntimeError(f"OpenSearch could not update image {outcome['_id']}: {error}")
        return changed

    def optimize(self) -> None:
        """Make recent writes searchable and merge segments: fewer HNSW graphs to search per query."""
        self._client.indices.refresh(index=self.alias)
        self._client.indices.forcemerge(
            index=self.alias, max_num_segments=1, params={"request_timeout": OPTIMIZE_TIMEOUT_S}
        )

    # -- reads ----------------------------------------------------------------------------------------

    def get(self, image_id: str) -> ImageRecord | None:
        try:
            found = self._client.get(index=self.alias, id=image_id, _source_excludes=["objects"])
        except NotFoundError:
            return None
        return record_from_source(found["_source"]) if found.get("found") else None

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        check_hex(prefix)
        body = {"query": {"prefix": {"id": prefix}}, "size": limit, "_source": False}
        return [hit["_id"] for hit in self._client.search(index=self.alias, body=body)["hits"]["hits"]]

    def get_many(self, image_ids: Sequence[str]) -> list[ImageRecord]:
        unique = list(dict.fromkeys(image_ids))
        records = []
        for start in range(0, len(unique), IDS_PER_MGET):
            chunk = unique[start : start + IDS_PER_MGET]
            docs = self._client.mget(
                index=self.alias, body={"ids": chunk}, _source_excludes=[*VECTOR_FIELDS, "objects"]
            )["docs"]
            records += [record_from_source(doc["_source"]) for doc in docs if doc.get("found")]
        return records

    def existing_ids(self, image_ids: Sequence[str]) -> set[str]:
        return self.existing_ids_in(self.alias, image_ids)

    def existing_ids_in(self, index: str, image_ids: Sequence[str]) -> set[str]:
        """The ids among `image_ids` stored in `index` (the alias, or a version being filled)."""
        unique = list(dict.fromkeys(image_ids))
        found: set[str] = set()
        for start in range(0, len(unique), IDS_PER_MGET):
            chunk = unique[start : start + IDS_PER_MGET]
            docs = self._client.mget(index=index, body={"ids": chunk}, _source=False)["docs"]
            found.update(doc["_id"] for doc in docs if doc.get("found"))
        return found

    def scan_records(self, batch_size: int = 1_000) -> Iterator[list[ImageRecord]]:
        """Every stored image (without vectors), in batches, via a scroll: no 10,000-hit window."""
        body = {"query": {"match_all": {}}, "_source": {"excludes": [*VECTOR_FIELDS, "objects"]}}
        batch: list[ImageRecord] = []
        for hit in helpers.scan(self._client, query=body, index=self.alias, size=batch_size):
            batch.append(record_from_source(hit["_source"]))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def count(self) -> int:
        return int(self._client.count(index=self.alias)["count"])  # top-level documents: images

    def search_images(self, vector: Vector, k: int, flt: ImageFilter = ImageFilter()) -> list[ImageHit]:
        query = image_filter_query(flt, self._classes)
        if k <= 0:
            return []
        hits = self._client.search(index=self.alias, body=image_search_body(vector, k, query))
        return [ImageHit(record_from_source(h["_source"]), cosine(h["_score"])) for h in hits["hits"]["hits"]]

    def search_objects(self, vector: Vector, k: int, flt: ObjectFilter = ObjectFilter()) -> list[ObjectHit]:
        query = object_filter_query(flt, self._classes)
        if k <= 0:
            return []
        response = self._client.search(index=self.alias, body=object_search_body(vector, k, query))
        hits = []
        for image_hit in response["hits"]["hits"]:
            record = record_from_source(image_hit["_source"])
            for inner in image_hit["inner_hits"]["objects"]["hits"]["hits"]:
                obj = inner["_source"]
                hits.append(
                    ObjectHit(record, int(obj["index"]), detection_from_doc(obj), cosine(inner["_score"]))
                )
        hits.sort(key=lambda h: h.score, reverse=True)  # stable: ties keep the engine's order
        return hits[:k]

    def list_images(self, k: int, offset: int = 0, flt: ImageFilter = ImageFilter()) -> list[ImageRecord]:
        query = image_filter_query(flt, self._classes)
        if k <= 0:
            return []
        hits = self._client.search(index=self.alias, body=list_body(k, offset, query))
        return [record_from_source(h["_source"]) for h in hits["hits"]["hits"]]

    def tag_counts(self) -> dict[str, int]:
        aggregation = {"terms": {"field": "tags", "size": MAX_TAGS_LISTED}}
        body = {"size": 0, "aggs": {"tags": aggregation}}
        buckets = self._client.search(index=self.alias, body=body)["aggregations"]["tags"]["buckets"]
        return {bucket["key"]: int(bucket["doc_count"]) for bucket in buckets}

    def info(self) -> StoreInfo:
        body = {"size": 0, "track_total_hits": True, "aggs": {"objects": {"nested": {"path": "objects"}}}}
        response = self._client.search(index=self.alias, body=body)
        return StoreInfo(
            backend=self.backend,
            location=f"{_redacted(self._url).rstrip('/')}/{self.alias}",
            model_id=self._pack.model_id,
            dim=self._pack.dim,
            images=int(response["hits"]["total"]["value"]),
            objects=int(response["aggregations"]["objects"]["doc_count"]),
            indexed=True,  # HNSW graphs are built as segments are written
            extra={
                "indices": self.current_indices(),
                "engine": self._hnsw.engine,
                "m": self._hnsw.m,
                "ef_construction": self._hnsw.ef_construction,
            },
        )

    def close(self) -> None:
        self._client.close()
