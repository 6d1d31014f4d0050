"""Load on `automl serve`, over loopback only: cold start, requests/s, p50/p95/p99 latency and error rate at 1, 8
and 32 concurrent clients, for an image model and a table model.

    python benchmarks/serve_load.py [--image-run RUN_DIR] [--table-run RUN_DIR] [--requests 400]

Without a run directory, one is trained first (`automl run example:digits` / `example:breast_cancer` with
`--pipeline quick --time-budget 60`). Each server is started as its own process (`automl serve`); cold start
is from starting that process to its first healthy /healthz (TensorFlow's import and the model's load).
Each client sends one instance a request, the way a single-example service is called, on its own keep-alive
HTTP connection, for a bounded number of requests per concurrency level. Prints JSON lines and a Markdown
table for benchmarks/RESULTS.md; never run it beside tests or another benchmark (they share the cores).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd


def train(example: str, run_dir: Path) -> Path:
    subprocess.run([sys.executable, "-m", "automl", "run", example, "--pipeline", "quick", "--time-budget", "60",
                    "-o", str(run_dir)], check=True, stdout=subprocess.DEVNULL)
    return run_dir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(run_dir: Path, port: int) -> tuple[subprocess.Popen, float]:
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "automl", "serve", str(run_dir), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    while time.monotonic() - started < 120:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process, time.monotonic() - started
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"automl serve {run_dir} did not become healthy in 120 s")


def client(port: int, body: bytes, count: int) -> tuple[list[float], int]:
    """count requests on one keep-alive connection; returns latencies (s) and errors."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, errors = [], 0
    for _ in range(count):
        start = time.perf_counter()
        try:
            connection.request("POST", "/v1/models/automl:predict", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            errors += response.status != 200
        except OSError:
            errors += 1
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies.append(time.perf_counter() - start)
    return latencies, errors


def load(port: int, body: bytes, concurrency: int, total: int) -> dict:
    client(port, body, 5)  # warm-up, not counted
    per_client = max(1, total // concurrency)
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda _: client(port, body, per_client), range(concurrency)))
    wall = time.perf_counter() - start
    latencies = np.array([value for latency, _ in results for value in latency]) * 1000
    errors = sum(error for _, error in results)
    return {"concurrency": concurrency, "requests": len(latencies), "requests_per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p95_ms": round(float(np.percentile(latencies, 95)), 1),
            "p99_ms": round(float(np.percentile(latencies, 99)), 1), "error_rate": round(errors / len(latencies), 4)}


def image_body(run_dir: Path) -> bytes:
    data = json.loads((run_dir / "run.json").read_text())["data"]
    folder = run_dir / "example-data" / "digits" if data.startswith("example:") else Path(data)
    image = next(p for p in sorted(folder.rglob("*")) if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    return json.dumps({"instances": [{"b64": base64.b64encode(image.read_bytes()).decode()}]}).encode()


def table_body(run_dir: Path) -> bytes:
    meta = json.loads((run_dir / "model" / "metadata.json").read_text())
    data = json.loads((run_dir / "run.json").read_text())["data"]
    table = (run_dir / "example-data" / f"{data.split(':')[1]}.csv") if data.startswith("example:") else Path(data)
    row = pd.read_csv(table).iloc[0]
    return json.dumps({"instances": [{c["name"]: row[c["name"]].item() if hasattr(row[c["name"]], "item")
                                      else row[c["name"]] for c in meta["columns"]}]}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-run", type=Path)
    parser.add_argument("--table-run", type=Path)
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="automl-serve-load-") as scratch:
        runs = {"image (digits, cnn)": (args.image_run or train("example:digits", Path(scratch) / "digits"), image_body),
                "table (breast_cancer)": (args.table_run or train("example:breast_cancer", Path(scratch) / "bc"),
                                          table_body)}
        for name, (run_dir, make_body) in runs.items():
            port = free_port()
            process, cold_start = start_server(run_dir, port)
            try:
                body = make_body(run_dir)
                for concurrency in map(int, args.concurrency.split(",")):
                    row = {"model": name, "cold_start_s": round(cold_start, 2), **load(port, body, concurrency,
                                                                                      args.requests)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            finally:
                process.terminate()
                process.wait(timeout=30)
    print("\n| model | clients | requests/s | p50 ms | p95 ms | p99 ms | error rate | cold start |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['concurrency']} | {r['requests_per_s']} | {r['p50_ms']} | {r['p95_ms']} | "
              f"{r['p99_ms']} | {r['error_rate']:.2%} | {r['cold_start_s']} s |")


if __name__ == "__main__":
    main()
