"""A large folder through `pixseek index`: flat memory, and a killed run resumed to the full count.

    python benchmarks/bench_ingest_large.py [--images 10000] [--size 320] [--pack starter]

Generates the images (random crops of the package-shipped samples, `--size` px on the longer side),
then runs `pixseek index` in a child process twice:
  1. sampling the child's RSS every 0.5 s and the store's row count (read from this process), and
     sending SIGKILL once half the images are stored;
  2. again over the same folder, to the end: images already stored are skipped by content hash.
Reports peak RSS, RSS at 25/50/75/100% of the images stored, throughput, and that the final count
equals the number of distinct images (a few random crops repeat; the store keeps one per content).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result
from ingest_support import load_average, make_images
from pixseek.config import Settings
from pixseek.index.factory import open_store
from pixseek.ingest.pipeline import content_id
from pixseek.models.loader import load_pack
from pixseek.models.protocols import PackInfo

SAMPLE_S = 0.5
MILESTONES = (0.25, 0.5, 0.75, 1.0)


def tree_rss(process: psutil.Process) -> int:
    try:
        return sum(p.memory_info().rss for p in (process, *process.children(recursive=True)))
    except psutil.Error:
        return 0


def stored(settings: Settings, info: PackInfo) -> int:
    try:
        store = open_store(settings, info)
    except Exception:  # the child has not created the store yet
        return 0
    try:
        return store.count()
    finally:
        store.close()


def run_index(
    folder: Path, db: Path, settings: Settings, info: PackInfo, total: int, kill_at: float | None
) -> dict[str, object]:
    """One `pixseek index` run, sampled; SIGKILLed once `kill_at` of `total` images are stored."""
    pack = settings.models
    command = [sys.executable, "-m", "pixseek.cli.main", "index", str(folder), "--db", str(db),
               "--pack", pack, "--no-progress", "--json"]  # fmt: skip
    already = stored(settings, info)  # milestones count only images this run stores
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process = psutil.Process(child.pid)
    peak, rss, last_count_check = 0, 0, 0.0
    rss_at: dict[str, float] = {}
    killed = False
    while child.poll() is None:
        rss = tree_rss(process) or rss
        peak = max(peak, rss)
        now = time.perf_counter()
        if now - last_count_check > 2.0:
            count, last_count_check = stored(settings, info), now
            for mark in MILESTONES:
                if already < mark * total <= count and f"{mark:.0%}" not in rss_at:
                    rss_at[f"{mark:.0%}"] = round(rss / 2**20, 1)
            if kill_at is not None and count >= kill_at * total:
                os.kill(child.pid, signal.SIGKILL)
                killed = True
        time.sleep(SAMPLE_S)
    seconds = time.perf_counter() - started
    _, err = child.communicate()
    final = stored(settings, info)
    if not killed and child.returncode != 0:
        raise RuntimeError(f"pixseek index failed ({child.returncode}):\n{err[-3000:]}")
    if final >= total:
        rss_at.setdefault("100%", round(rss / 2**20, 1))  # the last sample before the child exited
    return {
        "killed": killed,
        "returncode": child.returncode,
        "seconds": round(seconds, 1),
        "stored_after": final,
        "peak_rss_mib": round(peak / 2**20, 1),
        "rss_mib_at_stored": rss_at,
    }


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=320, help="longer side of the generated images")
    parser.add_argument("--pack", default="starter")
    parser.add_argument("--kill-at", type=float, default=0.5)
    args = parser.parse_args()
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        folder, db = Path(tmp) / "images", Path(tmp) / "db"
        folder.mkdir()
        started = time.perf_counter()
        paths = make_images(folder, args.images, seed=2, longest=args.size)
        generated = round(time.perf_counter() - started, 1)
        # A few random crops repeat; the store keeps one image per content, so that is the target.
        distinct = len({content_id(path.read_bytes()) for path in paths})
        print(f"generated {args.images} images ({distinct} distinct) in {generated}s", flush=True)
        settings = Settings(db=db, models=args.pack)
        info = load_pack(settings).info
        first = run_index(folder, db, settings, info, distinct, args.kill_at)
        print(f"first run: {first}", flush=True)
        second = run_index(folder, db, settings, info, distinct, None)
        print(f"resumed run: {second}", flush=True)
    new_in_second = distinct - int(first["stored_after"])  # type: ignore[call-overload]
    figures = {
        "pack": args.pack,
        "images": args.images,
        "distinct_images": distinct,
        "image_size": args.size,
        "first_run_killed_at": first,
        "resumed_run": second,
        "final_count_equals_distinct_images": second["stored_after"] == distinct,
        "resumed_images_per_s": round(new_in_second / float(second["seconds"]), 2),  # type: ignore[arg-type]
        "peak_rss_mib": max(float(first["peak_rss_mib"]), float(second["peak_rss_mib"])),  # type: ignore[arg-type]
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }
    print(write_result("ingest_large", figures).read_text())


if __name__ == "__main__":
    main()
