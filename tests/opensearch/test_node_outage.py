"""OpenSearch going away after start-up: the API answers 503 (not 500) and recovers when it is back."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from pixseek.api import create_app
from pixseek.engine import Engine
from pixseek.errors import BackendUnavailable
from pixseek.index.opensearch_store import OpenSearchStore
from pixseek.models.starter.pack import StarterPack
from tests.api.conftest import wait_until_ready
from tests.index.conftest import OPENSEARCH_URL, TEST_PACK
from tests.opensearch.conftest import NEEDS_NODE, backend_settings


class TcpProxy:
    """Forwards 127.0.0.1:port to the node; `stop` closes the port and every open connection."""

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(self.target)
                self.sockets += [client, upstream]
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@contextlib.contextmanager
def proxy_to_node(port: int = 0) -> Iterator[TcpProxy]:
    assert OPENSEARCH_URL is not None
    parts = urlsplit(OPENSEARCH_URL)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 9200), port)
    try:
        yield proxy
    finally:
        proxy.stop()


def test_a_closed_port_is_backend_unavailable_for_every_call() -> None:
    store = OpenSearchStore("http://127.0.0.1:9", "pixseek-nowhere", TEST_PACK, open_alias=False, timeout_s=2)
    for call in (lambda: store.count(), lambda: store.get("x"), lambda: store.search_images([0.0] * 16, 3)):
        try:
            call()
        except BackendUnavailable as exc:
            assert "OpenSearch at http://127.0.0.1:9 is unreachable" in str(exc)
        else:
            raise AssertionError("a call to a closed port returned")


@NEEDS_NODE[0]
@NEEDS_NODE[1]
def test_api_answers_503_while_the_node_is_away_and_recovers(
    starter_pack: StarterPack, tmp_path: Path, index_name: str
) -> None:
    cache = starter_pack.image_embedder.cache_file.parent
    with proxy_to_node() as proxy:
        port = proxy.port
        settings = backend_settings("opensearch", tmp_path / "db", cache, index_name)
        settings = settings.model_copy(update={"opensearch_url": f"http://127.0.0.1:{port}"})
        engine = Engine.open(settings, pack=starter_pack)
    try:
        with TestClient(create_app(engine=engine)) as client:
            with proxy_to_node(port):
                wait_until_ready(client)
                assert client.get("/search/text", params={"q": "a cat"}).status_code == 200
            away = client.get("/search/text", params={"q": "a dog"})
            assert away.status_code == 503, away.text
            assert away.json()["error"]["code"] == "backend_unavailable"
            assert "unreachable" in away.json()["error"]["message"] and away.headers["Retry-After"]
            with proxy_to_node(port):
                assert client.get("/search/text", params={"q": "a dog"}).status_code == 200
    finally:
        engine.close()


@NEEDS_NODE[0]
@NEEDS_NODE[1]
def test_an_api_started_before_its_node_waits_for_it_then_serves(
    starter_pack: StarterPack, tmp_path: Path, index_name: str
) -> None:
    cache = starter_pack.image_embedder.cache_file.parent
    with proxy_to_node() as proxy:
        port = proxy.port  # a port nothing listens on once the block ends
    settings = backend_settings("opensearch", tmp_path / "db", cache, index_name)
    settings = settings.model_copy(update={"opensearch_url": f"http://127.0.0.1:{port}"})
    with TestClient(create_app(settings=settings)) as client:
        deadline = time.monotonic() + 60
        while "waiting for a backend" not in str(client.get("/health").json().get("error")):
            assert time.monotonic() < deadline, client.get("/health").json()
            time.sleep(0.2)
        assert client.get("/health").json()["status"] == "starting"
        with proxy_to_node(port):
            wait_until_ready(client)
            assert client.get("/search/text", params={"q": "a cat"}).status_code == 200
            assert client.get("/health").json()["error"] is None
