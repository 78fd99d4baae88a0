"""Web API throughput: requests per second and p50/p95 latency of ``POST /api/predict`` at 1, 4
and 16 concurrent clients, against a real ``whodirected serve`` process, beside the rate of
back-to-back warm ``Model.predict`` calls measured in the same run. The load generator is this
process (threads); the CPU it used is printed with each line.

Each client opens its connection and sends one untimed request before the timing starts, and
every level runs at least 8 rounds of requests per client, so neither connecting nor the first
convoy of a level is what gets measured.

    python benchmarks/serve.py [--requests 64]
"""

from __future__ import annotations

import argparse
import resource
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from _common import CACHE, demo_model, median_seconds

from whodirected.config import ServeConfig
from whodirected.models.model import Model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=64, help="requests per level (at least 8 per client)")
    parser.add_argument(
        "--max-batch", type=int, default=None, help="[serve] max_batch (default: the config's)"
    )
    args = parser.parse_args()
    model_dir, dataset, _ = demo_model()
    images = [Path(p).read_bytes() for p in dataset.frames.path.iloc[:: max(1, len(dataset) // 32)]]

    model = Model.load(model_dir)
    path = dataset.frames.path.iloc[0]
    warm = median_seconds(lambda: model.predict(path), 20)
    print(f"warm Model.predict in this process: {warm * 1000:.1f} ms, {1 / warm:.1f} back-to-back calls/s")

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "whodirected", "serve", "--model", str(model_dir), "--port", str(port)]
    if args.max_batch is not None:
        config = CACHE / "serve-bench.toml"
        config.write_text(f"[serve]\nmax_batch = {args.max_batch}\n")
        command += ["--config", str(config)]
    print(f"server: max_batch {args.max_batch or ServeConfig.max_batch}")
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)

        local = threading.local()  # one keep-alive connection per client, as a browser keeps one

        def one(i: int) -> float:
            if not hasattr(local, "client"):  # TCP_NODELAY: no 40 ms Nagle wait between headers and body
                nodelay = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
                local.client = httpx.Client(timeout=120, transport=nodelay)
            start = time.perf_counter()
            reply = local.client.post(
                f"{url}/api/predict", files={"file": ("f.jpg", images[i % len(images)])}
            )
            reply.raise_for_status()
            return time.perf_counter() - start

        one(0)  # warm-up
        print(
            f"{'clients':>8} {'req/s':>8} {'of warm':>8} {'p50 ms':>8} {'p95 ms':>8} {'load-generator cores':>21}"
        )
        for clients in (1, 4, 16):
            requests = max(args.requests, 8 * clients)
            with ThreadPoolExecutor(max_workers=clients) as pool:
                everyone = threading.Barrier(clients)  # each thread connects and warms up once

                def warm_up(i: int, everyone: threading.Barrier = everyone) -> None:
                    one(i)
                    everyone.wait()

                list(pool.map(warm_up, range(clients)))
                cpu = resource.getrusage(resource.RUSAGE_SELF)
                start = time.perf_counter()
                latencies = list(pool.map(one, range(requests)))
                wall = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_SELF)
            used = (after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime) / wall
            p50, p95 = np.percentile(latencies, [50, 95]) * 1000
            rate = requests / wall
            print(f"{clients:>8} {rate:>8.1f} {rate * warm:>8.0%} {p50:>8.1f} {p95:>8.1f} {used:>21.2f}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    after = median_seconds(lambda: model.predict(path), 20)
    print(
        f"warm Model.predict again, server stopped: {after * 1000:.1f} ms (this machine's timings drift run to run)"
    )


if __name__ == "__main__":
    main()
