"""Open the store that the settings name, for the loaded model pack."""

from __future__ import annotations

from pixseek.config import Settings
from pixseek.index.protocol import Store
from pixseek.models.protocols import PackInfo


def open_store(settings: Settings, pack: PackInfo) -> Store:
    if settings.store == "opensearch":
        from pixseek.index.opensearch_store import OpenSearchStore

        auth = (
            (settings.opensearch_user, settings.opensearch_password or "")
            if settings.opensearch_user
            else None
        )
        return OpenSearchStore(
            settings.opensearch_url,
            settings.opensearch_index,
            pack,
            http_auth=auth,
            verify_certs=settings.opensearch_verify_certs,
            ca_certs=settings.opensearch_ca_certs,
        )
    from pixseek.index.lance_store import LanceStore
    from pixseek.index.lance_versions import POINTER

    # Resolved: a process stays on the version it opened when `pixseek reindex` switches the pointer.
    return LanceStore(
        (settings.db / POINTER).resolve(),
        pack,
        ann_threshold=settings.ann_threshold,
        resident_index=settings.resident_index,
    )


def store_missing(settings: Settings) -> str | None:
    """Why there is no store to read where the settings point (an embedded store never written to),
    else None. OpenSearch is asked when opened, not here."""
    if settings.store == "opensearch":
        return None
    from pixseek.index.lance_versions import POINTER

    if not (settings.db / POINTER).exists():
        return (
            f"no pixseek store at {settings.db}: index images first (pixseek index FOLDER --db {settings.db})"
        )
    return None
