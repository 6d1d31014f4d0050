"""After export: the deployment facts the report shows — CPU latency of the exported SavedModel, size on
disk and latency of the top trials, extra formats with their parity checks, and the worst mistakes."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from automl.export.formats import FormatExport, export_format
from automl.export.latency import Latency, first, measure_latency
from automl.files import atomic_path
from automl.modalities.text import register_tokenizer_ops
from automl.modalities import modality_of
from automl.search import make_tuner, rank_trials

# Formats every run writes. None: converting a MobileNet to TFLite took 25.6 s of a 3-minute run here
# (hymenoptera, 2 shared cores), so TFLite and ONNX are added after the run with `automl export`.
DEFAULT_FORMATS: tuple[str, ...] = ()
# Timing a trial means rebuilding it from its checkpoint; the top few are the ones a user would pick.
TIMED_TRIALS = 3
TRIAL_TIMING_SECONDS = 0.5
# Rebuilding trials costs seconds each (a MobileNet trial: several); under a budget they are timed only
# when at least this much of it is left, so measuring never pushes a run past its deadline.
TRIAL_TIMING_MIN_LEFT_S = 30.0
# Held-out inputs kept in the run directory so `automl export` can check parity later without the data.
KEPT_SAMPLES = 16
SAMPLES_FILE = "parity_samples.npz"


@dataclass(frozen=True)
class TrialCost:
    """Weights on disk for every trial; single-example latency (p50, ms) for the top TIMED_TRIALS."""

    trial_id: str
    size_bytes: int
    latency_ms: float | None = None


@dataclass(frozen=True)
class ServingLoad:
    """One concurrency level of `automl serve --benchmark` (automl.serve.load): HTTP requests of one instance
    each from `clients` keep-alive connections over loopback, and the server process's cold start."""

    clients: int
    requests: int
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    error_rate: float
    cold_start_s: float


@dataclass(frozen=True)
class Measurements:
    latency: Latency | None = None
    trial_costs: tuple[TrialCost, ...] = ()
    formats: tuple[FormatExport, ...] = ()
    seconds: float = 0.0
    serving: tuple[ServingLoad, ...] = ()


def serve_caller(model_dir: Path, modality):
    """A function running the exported SavedModel's `serve` on a batch as the Keras model takes it."""
    if modality.name == "text":
        register_tokenizer_ops()  # a text encoder's tokenizer runs on TensorFlow Text's ops
    loaded = tf.saved_model.load(str(model_dir))  # held by the closure: its variables die with it

    def call(samples):
        return loaded.serve(modality.to_serving_input(samples))
    return call


def trial_size(run_dir: Path, trial_id: str) -> int:
    """Bytes of the trial's saved weights in the tuner directory (0 when it kept none)."""
    folder = run_dir / "search" / f"trial_{trial_id}"
    return sum(p.stat().st_size for p in folder.glob("*.weights.h5")) if folder.is_dir() else 0


def _trial_latencies(plan, profile, config, trial_ids, samples) -> dict[str, float]:
    tuner = make_tuner(plan, profile, Path(config.run_dir), config)
    timings = {}
    for trial_id in trial_ids:
        model = tuner.load_model(tuner.oracle.get_trial(trial_id))
        call = tf.function(lambda x, m=model: m(x, training=False))
        timings[trial_id] = measure_latency(call, first(samples, 4), TRIAL_TIMING_SECONDS).p50_ms
    return timings


def trial_costs(plan, profile, config, ranked_ids, trials, samples, deadline=None) -> tuple[TrialCost, ...]:
    run_dir = Path(config.run_dir)
    try:
        if deadline is not None and deadline - time.monotonic() < TRIAL_TIMING_MIN_LEFT_S:
            raise TimeoutError("too little of the time budget left to rebuild trials")
        if not (run_dir / "search" / "oracle.json").is_file():
            raise FileNotFoundError("no Keras Tuner project to rebuild trials from")
        if plan.family == "transfer":
            raise ValueError("rebuilding backbone trials costs more than their timing is worth")
        timed = _trial_latencies(plan, profile, config, ranked_ids[:TIMED_TRIALS], samples)
    except Exception:  # a trial that cannot be rebuilt still has a size; the report marks it untimed
        timed = {}
    return tuple(TrialCost(t.trial_id, trial_size(run_dir, t.trial_id), timed.get(t.trial_id)) for t in trials)


def _as_unicode(values: np.ndarray) -> np.ndarray:
    """Strings from a tf.string batch (bytes: UTF-8, as TensorFlow encodes them) as a unicode array."""
    return np.array([v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v) for v in values.ravel()]
                    ).reshape(values.shape)


def save_samples(samples, run_dir: Path) -> Path:
    """Keeps a few held-out inputs as plain arrays (strings as unicode, never pickled)."""
    kept = first(samples, KEPT_SAMPLES)
    arrays = {key: np.asarray(value) for key, value in kept.items()} if isinstance(kept, dict) else {"": np.asarray(kept)}
    arrays = {key: _as_unicode(value) if value.dtype == object else value for key, value in arrays.items()}
    path = run_dir / SAMPLES_FILE
    with atomic_path(path) as temporary:  # ends in .npz, so numpy adds no suffix
        np.savez_compressed(temporary, **{f"x{key}": value for key, value in arrays.items()})
    return path


def load_samples(run_dir: Path):
    """The inputs save_samples kept, as the Keras model takes them (strings as tf.string tensors)."""
    with np.load(run_dir / SAMPLES_FILE, allow_pickle=False) as data:
        arrays = {name[1:]: data[name] for name in data.files}
    tensors = {key: tf.constant(value.astype(object) if value.dtype.kind == "U" else value) for key, value in arrays.items()}
    return tensors[""] if list(tensors) == [""] else tensors


def measure_run(search, profile, plan, config, samples, export, deadline: float | None = None) -> Measurements:
    """Times the exported model and the top trials, and converts DEFAULT_FORMATS.

    Args:
        search: The SearchResult (its trials are sized and the top ones timed).
        samples: A batch of raw held-out inputs, as the Keras model takes them.
        export: The SavedModel export (its directory is timed).
        deadline: time.monotonic() by which the run must end; trials are timed only when time is left.
    """
    start = time.monotonic()
    run_dir = Path(config.run_dir)
    save_samples(samples, run_dir)
    latency = measure_latency(serve_caller(export.model_dir, modality_of(profile)), samples)
    ranked = [t.trial_id for t in rank_trials(search.trials, search.objective)]
    costs = trial_costs(plan, profile, config, ranked, search.trials, samples, deadline)
    formats = tuple(export_format(search.model, samples, run_dir / "formats", fmt) for fmt in DEFAULT_FORMATS)
    return Measurements(latency, costs, formats, time.monotonic() - start)


# What `automl export --format` adds: every TFLite variant, or ONNX.
FORMAT_GROUPS = {"tflite": ("tflite-float32", "tflite-float16", "tflite-int8-dynamic"), "onnx": ("onnx",)}


def add_formats(model, samples, measurements: Measurements | None, run_dir: Path, group: str):
    """Converts a finished run's model to one FORMAT_GROUPS group, each checked on the kept samples.

    Returns:
        (the measurements with these formats replacing any earlier conversion of them, the formats added)
    """
    added = tuple(export_format(model, samples, Path(run_dir) / "formats", fmt) for fmt in FORMAT_GROUPS[group])
    measurements = measurements or Measurements()
    kept = tuple(f for f in measurements.formats if f.format not in FORMAT_GROUPS[group])
    return dataclasses.replace(measurements, formats=kept + added), added
