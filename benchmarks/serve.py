"""Web API throughput: requests per second and p50/p95 latency of ``POST /api/predict`` at 1, 4
and 16 concurrent clients, against a real ``whodirected serve`` process, beside the warm
``Model.predict`` time measured in the same run.

    python benchmarks/serve.py [--requests 48]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from _common import demo_model, median_seconds

from whodirected.models.model import Model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=48, help="requests per concurrency level")
    args = parser.parse_args()
    model_dir, dataset, _ = demo_model()
    images = [Path(p).read_bytes() for p in dataset.frames.path.iloc[:: max(1, len(dataset) // 32)]]

    model = Model.load(model_dir)
    path = dataset.frames.path.iloc[0]
    warm = median_seconds(lambda: model.predict(path), 20)
    print(f"warm Model.predict in this process: {warm * 1000:.1f} ms")

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "whodirected", "serve", "--model", str(model_dir), "--port", str(port)],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)

        def one(i: int) -> float:
            start = time.perf_counter()
            reply = httpx.post(
                f"{url}/api/predict", files={"file": ("f.jpg", images[i % len(images)])}, timeout=120
            )
            reply.raise_for_status()
            return time.perf_counter() - start

        one(0)  # warm-up
        print(f"{'clients':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
        for clients in (1, 4, 16):
            with ThreadPoolExecutor(max_workers=clients) as pool:
                start = time.perf_counter()
                latencies = list(pool.map(one, range(args.requests)))
                wall = time.perf_counter() - start
            p50, p95 = np.percentile(latencies, [50, 95]) * 1000
            print(f"{clients:>8} {args.requests / wall:>8.1f} {p50:>8.1f} {p95:>8.1f}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
