"""OpenVINO's first inferences from two threads at once do not hang a fresh process.

Before `core()` set up the bindings' numpy interop, about one fresh process in twenty hung for good
in two concurrent first `infer` calls (an ingest's two analysis workers). The race lives once per
process, so the test starts many: with the old code it fails in most runs of the test, not all.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("openvino")

PROCESSES = 24
HANG_S = 60  # a run takes about a second

RACE = """
import threading
import numpy as np
from pixseek.models.openvino_session import core
import openvino as ov
import openvino.opset13 as ops

x = ops.parameter([-1, 3, 64, 64], np.float32, name="x")
graph = core().compile_model(ov.Model([ops.relu(x)], [x], "relu"), "CPU", {"NUM_STREAMS": 2})
requests = [graph.create_infer_request() for _ in range(2)]
start = threading.Barrier(2)

def first_inference(request):
    start.wait()
    request.infer({"x": np.ones((1, 3, 64, 64), np.float32)})

threads = [threading.Thread(target=first_inference, args=(r,)) for r in requests]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("done")
"""


def race_once(_: int) -> str:
    try:
        done = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=HANG_S)
    except subprocess.TimeoutExpired:
        return "hung"
    return done.stdout.strip() if done.returncode == 0 else done.stderr[-500:]


def test_concurrent_first_inferences_in_fresh_processes_finish() -> None:
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(race_once, range(PROCESSES)))
    assert outcomes == ["done"] * PROCESSES, [o for o in outcomes if o != "done"]
