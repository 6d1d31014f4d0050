"""Load on a running `automl serve`, over loopback: requests/s, p50/p95/p99 latency and error rate at several
concurrency levels, each client on its own keep-alive HTTP connection sending one instance a request (the
way a single-example service is called), for a bounded number of requests; and the cold start of a server
process (from starting it to its first healthy /healthz: TensorFlow's import and the model's load).

Used by `automl serve RUN_DIR --benchmark` (rows into the report's latency section) and
benchmarks/serve_load.py (rows into RESULTS.md)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from automl.export import ServingLoad, load_samples
from automl.modalities import modality_of
from automl.predict import load_run_metadata

CONCURRENCY = (1, 8, 32)
REQUESTS = 400  # per concurrency level
START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(run_dir: Path, port: int) -> tuple[subprocess.Popen, float]:
    """`automl serve` as its own process on loopback; returns it and its cold start in seconds.

    Raises:
        RuntimeError: It did not answer /healthz within START_TIMEOUT_S.
    """
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "automl", "serve", str(run_dir), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    while time.monotonic() - started < START_TIMEOUT_S and process.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process, time.monotonic() - started
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"automl serve {run_dir} did not become healthy in {START_TIMEOUT_S} s")


def _client(port: int, body: bytes, count: int, name: str) -> tuple[list[float], int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, errors = [], 0
    for _ in range(count):
        start = time.perf_counter()
        try:
            connection.request("POST", f"/v1/models/{name}:predict", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            errors += response.status != 200
        except OSError:
            errors += 1
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies.append(time.perf_counter() - start)
    return latencies, errors


def load(port: int, body: bytes, clients: int, total: int, cold_start_s: float, name: str = "automl") -> ServingLoad:
    """total requests (split among the clients) of one instance each, after a warm-up of five."""
    _client(port, body, 5, name)
    per_client = max(1, total // clients)
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda _: _client(port, body, per_client, name), range(clients)))
    wall = time.perf_counter() - start
    latencies = np.array([value for latency, _ in results for value in latency]) * 1000
    errors = sum(error for _, error in results)
    return ServingLoad(clients, len(latencies), round(len(latencies) / wall, 1),
                   *(round(float(np.percentile(latencies, q)), 1) for q in (50, 95, 99)),
                   round(errors / len(latencies), 4), round(cold_start_s, 2))


def one_instance(run_dir: Path) -> bytes:
    """A request body of one real instance: the first of the run's kept held-out samples, as serving takes it."""
    meta = load_run_metadata(Path(run_dir))  # the metadata alone: no need to load the SavedModel here
    samples = modality_of(meta).to_serving_input(load_samples(Path(run_dir)))
    if isinstance(samples, dict):  # a table: one row, by column name
        names = {c["key"]: c["name"] for c in meta["columns"]}
        instance = {names[key]: _plain(np.asarray(values).reshape(-1)[0]) for key, values in samples.items()}
    else:
        instance = _plain(np.asarray(samples)[0])
    return json.dumps({"instances": [instance]}).encode()


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value.item() if hasattr(value, "item") else value


def benchmark(run_dir: Path, concurrency=CONCURRENCY, total: int = REQUESTS) -> tuple[ServingLoad, ...]:
    """Starts a server on run_dir, loads it at each concurrency level, stops it."""
    port = free_port()
    process, cold_start = start_server(Path(run_dir), port)
    try:
        body = one_instance(Path(run_dir))
        return tuple(load(port, body, clients, total, cold_start) for clients in concurrency)
    finally:
        process.terminate()
        process.wait(timeout=30)


def benchmark_into_report(run_dir: Path, concurrency=CONCURRENCY, total: int = REQUESTS) -> tuple[ServingLoad, ...]:
    """`automl serve --benchmark`: the load rows, added to the run's report (its latency section) and
    summary.json, written again from report_state.json."""
    import dataclasses

    from automl.export import Measurements
    from automl.report import load_state, write_report

    rows = benchmark(run_dir, concurrency, total)
    result = load_state(Path(run_dir))
    measurements = dataclasses.replace(result.measurements or Measurements(), serving=rows)
    write_report(dataclasses.replace(result, measurements=measurements), Path(run_dir))
    return rows
