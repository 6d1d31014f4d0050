"""Inference latency on this machine: single-example percentiles after warm-up, and batch throughput.

Timings are wall-clock and bounded by a time cap, so measuring never costs a run more than a few
seconds; the report states how many calls each figure comes from.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

# The first calls trace and allocate; they measure TensorFlow, not the model.
WARMUP_CALLS = 5
# Enough calls for a p99 that is not just the maximum of a handful, capped by MAX_SECONDS.
MAX_CALLS = 200
MAX_SECONDS = 2.0
BATCH_REPEATS = 5


@dataclass(frozen=True)
class Latency:
    """Milliseconds per single-example call, and examples per second in batches of batch_size."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    calls: int
    batch_size: int
    throughput: float


def first(samples, count: int = 1):
    """The first `count` examples of a batch (an array or tensor, or a dict or list of them)."""
    if isinstance(samples, dict):
        return {key: value[:count] for key, value in samples.items()}
    if isinstance(samples, list):
        return [value[:count] for value in samples]
    return samples[:count]


def batch_size_of(samples) -> int:
    if isinstance(samples, dict):
        return len(next(iter(samples.values())))
    return len(samples[0]) if isinstance(samples, list) else len(samples)


def _timed(call: Callable, inputs) -> float:
    start = time.perf_counter()
    call(inputs)
    return time.perf_counter() - start


def measure_latency(call: Callable, samples, max_seconds: float = MAX_SECONDS) -> Latency:
    """Times `call` on one example repeatedly, then on the whole batch.

    Args:
        call: Runs the model on a batch and returns once the result is computed (e.g. a SavedModel's
            `serve`, or a TFLite/ONNX runner).
        samples: A batch of raw inputs; the first example is the single-example input.
        max_seconds: Stop the single-example calls after this long (at least WARMUP_CALLS + 3 run).
    """
    single = first(samples)
    for _ in range(WARMUP_CALLS):
        call(single)
    times, deadline = [], time.perf_counter() + max_seconds
    while len(times) < MAX_CALLS and (len(times) < 3 or time.perf_counter() < deadline):
        times.append(_timed(call, single))
    call(samples)  # warm up the batch shape too
    batch = min(_timed(call, samples) for _ in range(BATCH_REPEATS))
    p50, p95, p99 = (float(v) * 1000 for v in np.percentile(times, [50, 95, 99]))
    size = batch_size_of(samples)
    return Latency(p50, p95, p99, len(times), size, size / batch if batch > 0 else float("inf"))
