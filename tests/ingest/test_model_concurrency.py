"""The starter runtimes under concurrent callers (ingest workers): pooled, and results unchanged."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from pixseek.models.starter.pack import StarterPack
from pixseek.models.starter.pool import InstancePool
from pixseek.samples import sample_images


def test_pool_lends_each_instance_to_one_caller_and_creates_no_more_than_its_size() -> None:
    created: list[object] = []
    pool: InstancePool[object] = InstancePool(lambda: created.append(object()) or created[-1], size=2)
    in_use: set[int] = set()
    clash = threading.Event()
    lock = threading.Lock()

    def use(_: int) -> None:
        with pool.lease() as instance:
            with lock:
                if id(instance) in in_use:
                    clash.set()
                in_use.add(id(instance))
            time.sleep(0.01)
            with lock:
                in_use.discard(id(instance))

    with ThreadPoolExecutor(6) as callers:
        list(callers.map(use, range(30)))
    assert not clash.is_set()
    assert 1 <= len(created) <= 2


def test_a_failed_load_frees_its_slot() -> None:
    attempts = iter([RuntimeError("no model"), "net"])

    def factory() -> str:
        outcome = next(attempts)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    pool: InstancePool[str] = InstancePool(factory, size=1)
    with pytest.raises(RuntimeError), pool.lease():
        pass
    with pool.lease() as instance:
        assert instance == "net"


def test_concurrent_analysis_gives_the_sequential_results(starter_pack: StarterPack) -> None:
    photos = [np.asarray(Image.open(path).convert("RGB")) for path in sample_images()[:4]]
    assert len(photos) == 4
    alone = starter_pack.analyzer.analyze(photos)
    with ThreadPoolExecutor(2) as callers:
        together = [
            a for part in callers.map(starter_pack.analyzer.analyze, [photos[:2], photos[2:]]) for a in part
        ]
    for one, other in zip(alone, together, strict=True):
        assert [d.class_name for d in one.detections] == [d.class_name for d in other.detections]
        np.testing.assert_allclose(one.image_vector, other.image_vector, atol=1e-5)
        np.testing.assert_allclose(one.object_vectors, other.object_vectors, atol=1e-5)
