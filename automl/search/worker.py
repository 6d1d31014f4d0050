"""Search stage across processes: the worker's side (`automl worker --chief HOST:PORT RUN_DIR`).

A worker (automl.pipeline.work_for_chief) rebuilds what the chief built from the run's own record
(RUN_DIR/run.json: the data and the settings, so the same seeded split, profile and plan), then runs Keras
Tuner's search as a client of the chief's oracle: it asks for a trial, trains it with the same callbacks a single-process search uses,
reports it, and asks again until the oracle says stop. Its trial log (times and per-epoch histories) is
RUN_DIR/trial_log.WORKER.json, which the chief merges; its tf.data cache is its own.

A worker ends by itself when its chief is gone (the chief's process ended, or its port stopped answering
for CHIEF_SILENCE_SECONDS), so a killed chief leaves no orphans behind and `--resume` can start afresh.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

import tensorflow as tf

from automl.errors import ConfigError
from automl.modalities.batching import batched
from automl.progress import NullProgress
from automl.search.callbacks import DeadlineStop, TrialWatcher
from automl.search.devices import setup_devices
from automl.search.distributed import read_workers_file
from automl.search.tuner import make_tuner, training_callbacks

CHIEF_SILENCE_SECONDS = 20.0
WATCH_SECONDS = 1.0


def connect_to_chief(chief: str, worker_id: str | None = None) -> str:
    """Makes this process a Keras Tuner worker of the chief at chief ("host:port"), which must answer, and
    watches it; returns this worker's tuner id.

    Raises:
        ConfigError: chief is not host:port, or no chief answers there.
    """
    host, _, port = chief.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--chief {chief!r} is not HOST:PORT. Give the address the chief printed, e.g. "
                          "--chief 10.0.0.5:8000.")
    if not _answers(host, int(port)):
        raise ConfigError(f"No chief answers at {chief}. Start `automl run DATA --workers N` first (it prints the "
                          "address), and check that this machine can reach that port.")
    worker_id = worker_id or f"worker-{socket.gethostname()}-{os.getpid()}"
    os.environ.update(KERASTUNER_TUNER_ID=worker_id, KERASTUNER_ORACLE_IP=host, KERASTUNER_ORACLE_PORT=port)
    _watch_chief(host, int(port))
    return worker_id


def size_thread_pools() -> None:
    """TensorFlow's thread pools sized to this worker's share of the cores, not to the machine's."""
    cores = os.environ.get("AUTOML_WORKER_CORES")  # the chief started this worker pinned to these cores
    if cores:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(len(cores.split(",")))
            tf.config.threading.set_inter_op_parallelism_threads(max(1, len(cores.split(",")) // 2))
        except RuntimeError:  # TensorFlow already started: its pools keep their size, on the pinned cores
            pass


def search_as_worker(plan, dataset, profile, config, worker_id: str) -> int:
    """Trains the trials the chief's oracle hands out until it has none left; returns how many this worker
    trained. The plan, data and profile are rebuilt from the run's record (automl.pipeline.work_for_chief)."""
    setup_devices(config.precision)
    run_dir = Path(config.run_dir)
    cache = run_dir / "cache" / worker_id
    train = batched(dataset.train, profile, config.batch_size, cache / "train", seed=config.seed)
    val = batched(dataset.val, profile, config.batch_size, cache / "val")
    steps = -(-dataset.train.size // config.batch_size)
    shared = read_workers_file(run_dir)
    deadline = None if shared.get("deadline") is None else time.monotonic() + shared["deadline"] - time.time()
    tuner = make_tuner(plan, profile, run_dir, config, worker=True)
    watcher = TrialWatcher(tuner, run_dir / f"trial_log.{worker_id}.json", NullProgress(), plan.epochs)
    stopper = DeadlineStop(tuner, deadline, shared.get("setup_seconds", 0.0))
    print(f"{worker_id}: joined the search of {run_dir} ({plan.family}, {plan.tuner} tuner)", flush=True)
    tuner.search(train, validation_data=val, epochs=plan.epochs, verbose=0, class_weight=profile.class_weight,
                 callbacks=[*training_callbacks(config.patience, deadline, steps), stopper, watcher])
    watcher.mark_cut(stopper.cut_trial)
    trained = len(watcher.seconds())
    print(f"{worker_id}: the oracle has no more trials; trained {trained}", flush=True)
    return trained


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def _watch_chief(host: str, port: int) -> None:
    """Ends this process when the chief is gone: Keras Tuner's client would otherwise wait an hour for it."""
    parent = os.environ.get("AUTOML_CHIEF_PID")

    def watch():
        silent_since = None
        while True:
            time.sleep(WATCH_SECONDS)
            if parent and os.getppid() != int(parent):  # started by a chief that has since died
                _leave("the chief process ended")
            if _answers(host, port):
                silent_since = None
            elif silent_since is None:
                silent_since = time.monotonic()
            elif time.monotonic() - silent_since > CHIEF_SILENCE_SECONDS:
                _leave(f"the chief at {host}:{port} has not answered for {CHIEF_SILENCE_SECONDS:.0f}s")

    threading.Thread(target=watch, name="watch-chief", daemon=True).start()


def _leave(why: str) -> None:
    print(f"Stopping: {why}. Its trial continues from its last finished epoch when the run is resumed.",
          file=sys.stderr, flush=True)
    os._exit(3)

