"""Search stage across processes, on Keras Tuner's own distributed engine: the chief's side.

With `--workers N` the run's process is the chief. It serves its oracle to workers over gRPC, as Keras
Tuner's chief does (KERASTUNER_TUNER_ID / KERASTUNER_ORACLE_IP / KERASTUNER_ORACLE_PORT), and starts N
`automl worker` processes on this machine, each pinned to its share of the cores (and, on a GPU machine,
to one GPU). Workers on other machines can join with `automl worker --chief HOST:PORT RUN_DIR` when they
share the run directory. The oracle hands out every trial exactly once; workers train them and write
their checkpoints and trial logs into the shared run directory. The chief does not train: it watches
the workers and the clock, fails the trial of a worker that died, stops new trials at the deadline, and
once the search is over goes on alone with the ranking, cross-validation, ensemble, export and report.

Keras Tuner's gRPC service has no authentication: the chief listens on 127.0.0.1 unless the user names
another interface (`--chief-address`), and that port must never face the internet.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from automl.errors import ConfigError
from automl.files import write_text_atomic
from automl.search._compat import all_trials, fail_trial_of, running_trials, serve_oracle, stop_new_trials

WORKERS_FILE = "workers.json"  # RUN_DIR/search/workers.json: where the chief listens, and the deadline
DEFAULT_HOST = "127.0.0.1"
POLL_SECONDS = 0.5
# A worker that joined from another machine and stopped answering holds its trial until the deadline
# plus this grace; then its trial is failed and the search ends without it.
REMOTE_GRACE_SECONDS = 60.0
# A local worker that dies is started again once (the search keeps its width); a second death is final.
RESTARTS_PER_WORKER = 1


@dataclass
class WorkersOutcome:
    """What happened in a search spread over workers: whether the deadline stopped it, and sentences for the
    report (worker deaths and restarts)."""

    fired: bool = False
    notes: list[str] = field(default_factory=list)


def worker_ids(count: int) -> list[str]:
    """The local workers' tuner ids: the same on every session of a run, so a resumed run's workers are the
    same Keras Tuner tuners."""
    return [f"worker-{index}" for index in range(count)]


def core_shares(cores: list[int], count: int) -> list[list[int]]:
    """Splits the cores among count workers as evenly as they go (each worker gets at least one core; with
    more workers than cores, workers share cores round-robin)."""
    if count <= len(cores):
        size, extra = divmod(len(cores), count)
        shares, start = [], 0
        for index in range(count):
            end = start + size + (1 if index < extra else 0)
            shares.append(cores[start:end])
            start = end
        return shares
    return [[cores[index % len(cores)]] for index in range(count)]


def parse_address(address: str | None) -> tuple[str, int]:
    """"host" or "host:port" → (host, port); port 0 means a free port is picked."""
    address = (address or DEFAULT_HOST).strip()
    host, _, port = address.rpartition(":") if address.count(":") == 1 else (address, "", "0")
    return host or DEFAULT_HOST, int(port or 0)


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def read_workers_file(run_dir: Path) -> dict:
    path = Path(run_dir) / "search" / WORKERS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def search_with_workers(tuner, config, deadline: float | None, setup_seconds: float, progress,
                        gpu_count: int = 0) -> WorkersOutcome:
    """Runs the tuner's search on config.workers worker processes; returns when every trial is done, the
    trial cap or the deadline is reached, or no worker is left.

    Raises:
        ConfigError: The chief cannot listen on config.chief_address.

    Args:
        deadline: time.monotonic() by which the trials must end (None: no limit).
        setup_seconds: Building and tracing one model: no trial starts closer to the deadline than twice this.
        gpu_count: GPUs on this machine; worker i is given GPU i mod gpu_count.
    """
    run_dir = Path(config.run_dir)
    host, port = parse_address(config.chief_address)
    port = port or free_port(host)
    tuner.oracle.verbose = 0  # Keras Tuner's own trial printout: the progress below says it once, in our words
    try:
        server = serve_oracle(tuner.oracle, f"{host}:{port}")
    except RuntimeError as error:
        raise ConfigError(f"Cannot serve the search to workers on {host}:{port} ({error}). Give --chief-address an "
                          "interface of this machine and a free port, or leave it out (127.0.0.1, a free port).") from None
    tuner.save()  # the chief's own tuner state, as Keras Tuner's chief saves before it serves
    wall_deadline = None if deadline is None else time.time() + (deadline - time.monotonic())
    write_text_atomic(run_dir / "search" / WORKERS_FILE, json.dumps(
        {"chief": f"{host}:{port}", "deadline": wall_deadline, "setup_seconds": setup_seconds,
         "workers": config.workers}, indent=1))
    progress.note(f"Searching on {config.workers} worker processes; the oracle listens on {host}:{port} (Keras "
                  f"Tuner's gRPC, no authentication: keep this port off the internet). More workers can join "
                  f"from machines sharing the run directory: automl worker --chief {host}:{port} {run_dir}")
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    shares = dict(zip(worker_ids(config.workers), core_shares(cores, config.workers)))
    gpus = {worker: str(index % gpu_count) for index, worker in enumerate(shares)} if gpu_count else {}
    outcome, restarts = WorkersOutcome(), dict.fromkeys(shares, 0)
    per_worker = ", ".join(f"{worker} on cores {','.join(map(str, share))}"
                           + (f" and GPU {gpus[worker]}" if worker in gpus else "") for worker, share in shares.items())
    outcome.notes.append(f"Trials trained on {config.workers} worker processes at once ({per_worker}), handed out "
                         "by this process as Keras Tuner's chief.")
    processes = {worker: _start_worker(run_dir, f"{host}:{port}", worker, shares[worker], gpus.get(worker))
                 for worker in shares}
    watcher = _TrialProgress(tuner, progress)
    try:
        while True:
            time.sleep(POLL_SECONDS)
            watcher.poll()
            for worker, process in list(processes.items()):
                code = process.poll()
                if code is None:
                    continue
                del processes[worker]
                if code != 0:
                    _worker_died(tuner, run_dir, worker, code, outcome)
                    if restarts[worker] < RESTARTS_PER_WORKER and not outcome.fired:
                        restarts[worker] += 1
                        processes[worker] = _start_worker(run_dir, f"{host}:{port}", worker, shares[worker],
                                                          gpus.get(worker))
            if deadline is not None and not outcome.fired and time.monotonic() + 2 * setup_seconds >= deadline:
                outcome.fired = True
                stop_new_trials(tuner)  # workers finish their trials (their own deadline cuts them) and exit
            running = running_trials(tuner.oracle)
            if not processes and not running:
                break
            if not processes and deadline is not None and time.monotonic() > deadline + REMOTE_GRACE_SECONDS:
                for worker in running:  # workers from other machines that never reported back
                    _worker_died(tuner, run_dir, worker, None, outcome)
                break
    finally:
        for process in processes.values():  # an interrupt (Ctrl-C): workers stop with the chief
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        server.stop(grace=None)
    watcher.poll()
    return outcome


def _start_worker(run_dir: Path, chief: str, worker: str, cores: list[int], gpu: str | None) -> subprocess.Popen:
    """`automl worker` as a child process, its output in RUN_DIR/search/WORKER.log."""
    env = {**os.environ, "AUTOML_WORKER_CORES": ",".join(map(str, cores)), "AUTOML_CHIEF_PID": str(os.getpid()),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu
    # Pinned before it starts, so every thread TensorFlow makes is on the worker's cores.
    pin = (lambda: os.sched_setaffinity(0, cores)) if hasattr(os, "sched_setaffinity") else None
    log = open(run_dir / "search" / f"{worker}.log", "ab")  # noqa: SIM115 - the child holds it open
    try:
        return subprocess.Popen([sys.executable, "-m", "automl", "worker", "--chief", chief, "--worker-id", worker,
                                 str(run_dir)], env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=pin)
    finally:
        log.close()


def _worker_died(tuner, run_dir: Path, worker: str, code: int | None, outcome: WorkersOutcome) -> None:
    how = f"exit code {code}" if code is not None else "no word since the deadline"
    trial = fail_trial_of(tuner.oracle, worker, f"worker {worker} stopped ({how})")
    lost = f"during trial {trial}, which is marked failed" if trial else "between trials"
    outcome.notes.append(f"Worker {worker} stopped ({how}) {lost}; its log is {run_dir / 'search' / worker}.log.")


class _TrialProgress:
    """Turns the oracle's trials into progress events: the chief trains nothing, so it cannot hear epochs."""

    def __init__(self, tuner, progress):
        self.tuner, self.progress = tuner, progress
        self.started: dict[str, float] = {}
        self.ended: set[str] = set()

    def poll(self) -> None:
        trials = all_trials(self.tuner)
        for number, (trial_id, trial) in enumerate(sorted(trials.items()), start=1):
            if trial_id not in self.started and trial.status == "RUNNING":
                self.started[trial_id] = time.monotonic()
                values = {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
                self.progress.trial_started(trial_id, number, values)
            elif trial_id in self.started and trial_id not in self.ended and trial.status != "RUNNING":
                self.ended.add(trial_id)
                self.progress.trial_ended(trial_id, time.monotonic() - self.started[trial_id])
