"""Memory across trials: one run of many small trials, resident memory (RSS) after warm-up and at the end.

Keras Tuner builds a new model per trial; a search that keeps graphs, models or datasets alive grows
until the process dies. This runs `automl.run` in-process with random search (default 50 trials of
2 epochs on scikit-learn's breast_cancer table), samples RSS after every trial, and fails (exit 1)
when it grows by 10 % or more from the end of warm-up to the end of the search.

What grew (measured with glibc's mallinfo2 and gc object counts between trials): not freed-but-kept
heap (with malloc_trim after every trial, RSS still rose 7 MiB a trial) but live graphs: about 12,000
more Python objects (operations, tensors) and 5 MiB more heap in use after every trial. Each traced
train step registers a tf.custom_gradient function (tf.distribute's all-reduce of the gradients) in
TensorFlow's process-wide gradient registry, and its closure holds the whole graph; clear_session
does not remove it (tensorflow/tensorflow#97697, #27492). automl's search drops the functions a trial
registered when its training ends (automl.search.callbacks.ReleaseTrialGraphs).

    python benchmarks/memory_check.py [--trials 50] [--epochs 2] [--warmup 5] [--data example:breast_cancer]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MAX_GROWTH = 0.10  # the limit: under 10 % growth after warm-up


def resident_mib() -> float:
    """Current resident set size of this process (Linux /proc; peak RSS elsewhere)."""
    status = Path("/proc/self/status")
    if status.exists():
        line = next(line for line in status.read_text().splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


def heap_mib() -> tuple[float, float] | None:
    """glibc's heap in use and free-but-kept, in MiB (None off glibc 2.33+). Growth in use is live
    memory; RSS growth with flat use is fragmentation, which malloc_trim would give back."""
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return info.uordblks / 2**20, info.fordblks / 2**20


class MemoryProgress:
    """A progress receiver (see automl.progress.NullProgress) that samples RSS after each trial."""

    def __init__(self, detail: bool = False):
        self.samples: list[tuple[str, float]] = []
        self.started, self.detail = time.monotonic(), detail

    def stage(self, name, detail=""):
        pass

    def search_started(self, max_trials, deadline, epoch_seconds):
        pass

    def trial_started(self, trial_id, number, hyperparameters):
        pass

    def epoch_ended(self, trial_id, epoch, epochs, logs):
        pass

    def trial_ended(self, trial_id, seconds):
        gc.collect()
        self.samples.append((trial_id, resident_mib()))
        count = len(self.samples)
        if count % 5 == 0:
            heap = heap_mib() if self.detail else None
            extra = (f"; Python objects {len(gc.get_objects()):,}" if self.detail else "") + (
                f"; heap in use {heap[0]:.1f} MiB, free {heap[1]:.1f} MiB" if heap else "")
            print(f"  trial {count:3d}: RSS {self.samples[-1][1]:7.1f} MiB{extra} "
                  f"({time.monotonic() - self.started:5.0f} s)", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=5, help="trials before the baseline sample")
    parser.add_argument("--data", default="example:breast_cancer")
    parser.add_argument("--detail", action="store_true",
                        help="also print live Python objects and glibc's heap (tells a leak from fragmentation)")
    args = parser.parse_args(argv)

    from automl.config import load_config
    from automl.pipeline import run

    with tempfile.TemporaryDirectory(prefix="automl-memory-") as folder:
        config = load_config(data=args.data, run_dir=str(Path(folder) / "run"), tuner="random",
                             max_trials=args.trials, epochs=args.epochs, time_budget=None, batch_size=32)
        progress = MemoryProgress(args.detail)
        start_rss = resident_mib()
        started = time.monotonic()
        result = run(config, progress)
        seconds = time.monotonic() - started
    samples = [rss for _, rss in progress.samples]
    if len(samples) <= args.warmup:
        print(f"Only {len(samples)} trials ran; need more than --warmup {args.warmup}.")
        return 1
    warm, end, peak = samples[args.warmup - 1], samples[-1], max(samples[args.warmup - 1:])
    growth = (end - warm) / warm
    print(f"{args.data}: {len(result.search.trials)} trials of up to {args.epochs} epochs in {seconds:.0f} s")
    print(f"RSS before the run {start_rss:.1f} MiB; after warm-up (trial {args.warmup}) {warm:.1f} MiB; "
          f"at the end (trial {len(samples)}) {end:.1f} MiB; peak after warm-up {peak:.1f} MiB")
    print(f"Growth after warm-up: {growth:+.1%} (limit {MAX_GROWTH:.0%}) -> {'OK' if growth < MAX_GROWTH else 'FAIL'}")
    return 0 if growth < MAX_GROWTH else 1


if __name__ == "__main__":
    sys.exit(main())
