"""Load test: `pixseek serve` on 127.0.0.1 with the package samples ingested, under locust's mixed traffic.

    python benchmarks/run_locust.py [--users 16] [--run-time 60]

Starts the server on a free loopback port over a temporary store, runs `benchmarks/locustfile.py`
headless for the given time (locust stops itself; the whole run is bounded by a timeout too), and
writes requests/s, p50/p95/p99 and failures per endpoint to `benchmarks/results/locust.json`.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.api.live_server
from tests.api.live_server import live_server
from tests.helpers import copy_samples

from common import write_result
from pixseek.config import Settings

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
GRACE_S = 120  # start-up and shutdown beyond the run time, before the run is killed
PERCENTILES = ("50%", "95%", "99%")


def ingest_samples(db: Path, cache_dir: Path) -> None:
    folder = db.parent / "samples"
    copy_samples(folder)
    command = [sys.executable, "-m", "pixseek.cli.main", "index", str(folder), "--db", str(db),
               "--no-progress"]  # fmt: skip
    env = {**os.environ, "PIXSEEK_CACHE_DIR": str(cache_dir)}
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def stored_ids(base_url: str) -> list[str]:
    hits = httpx.get(f"{base_url}/search/text", params={"q": "a photo", "k": 100}, timeout=60).json()
    return [hit["image_id"] for hit in hits]


def run_locust(base_url: str, users: int, run_time_s: int, csv_prefix: Path) -> None:
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "--host", base_url, "--users", str(users), "--spawn-rate", str(users),
        "--run-time", f"{run_time_s}s", "--stop-timeout", "10", "--csv", str(csv_prefix),
        "--exit-code-on-error", "0",
    ]  # fmt: skip
    command += ["--stored-ids", ",".join(stored_ids(base_url))]
    subprocess.run(command, check=True, timeout=run_time_s + GRACE_S)


def _number(value: str) -> float:
    return round(float(value), 2) if value not in ("", "N/A") else float("nan")


def endpoint_stats(stats_csv: Path) -> dict[str, dict[str, Any]]:
    """Per endpoint (and "Aggregated"): requests, failures, requests/s and latency percentiles in ms."""
    stats = {}
    with stats_csv.open(newline="") as f:
        for row in csv.DictReader(f):
            stats[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "requests_per_s": _number(row["Requests/s"]),
                **{f"p{p.rstrip('%')}_ms": _number(row[p]) for p in PERCENTILES},
            }
    return stats


def failure_messages(failures_csv: Path) -> list[dict[str, str]]:
    if not failures_csv.exists():
        return []
    with failures_csv.open(newline="") as f:
        return [
            {"name": r["Name"], "error": r["Error"], "occurrences": r["Occurrences"]}
            for r in csv.DictReader(f)
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--run-time", type=int, default=60, help="seconds")
    args = parser.parse_args()
    cache_dir = Settings().resolved_cache_dir()
    with tempfile.TemporaryDirectory(prefix="pixseek-locust-") as tmp:
        db, csv_prefix = Path(tmp) / "db", Path(tmp) / "locust"
        ingest_samples(db, cache_dir)
        load_before = os.getloadavg()
        with live_server(db, cache_dir) as base_url:
            run_locust(base_url, args.users, args.run_time, csv_prefix)
        load_after = os.getloadavg()
        figures = {
            "users": args.users,
            "run_time_s": args.run_time,
            "load_avg_before": load_before,
            "load_avg_after": load_after,
            "endpoints": endpoint_stats(Path(f"{csv_prefix}_stats.csv")),
            "failures": failure_messages(Path(f"{csv_prefix}_failures.csv")),
        }
    print(write_result("locust", figures))
    for name, stats in figures["endpoints"].items():
        print(f"{name:16} {stats}")


if __name__ == "__main__":
    main()
