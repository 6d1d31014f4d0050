"""--workers N on Keras Tuner's chief/worker engine over loopback: every trial runs exactly once, on real
worker processes; a worker killed mid-trial loses only that trial; a killed chief leaves no workers behind
and a run that --resume finishes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl.search.distributed import core_shares, parse_address, worker_ids

WORKER_START_TIMEOUT_S = 120


def _table(tmp_path: Path, rows: int = 60) -> Path:
    rng = np.random.default_rng(0)
    label = np.array(["yes", "no"] * (rows // 2))
    frame = pd.DataFrame({"x1": np.where(label == "yes", 1.0, -1.0) + rng.normal(0, 1.0, rows),
                          "x2": rng.normal(0, 1, rows), "label": label})
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return path


def _trials(run_dir: Path) -> dict[str, str]:
    return {json.loads(p.read_text())["trial_id"]: json.loads(p.read_text())["status"]
            for p in (run_dir / "search").glob("trial_*/trial.json")}


def _worker_pids(run_dir: Path, worker: str | None = None) -> list[int]:
    pattern = f"automl worker .*--worker-id {worker or 'worker-'}.* {run_dir}$"
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def test_cores_are_shared_out_evenly():
    assert core_shares([0, 1, 2, 3, 4], 2) == [[0, 1, 2], [3, 4]]
    assert core_shares([0, 1], 2) == [[0], [1]]
    assert core_shares([0, 1], 3) == [[0], [1], [0]]
    assert worker_ids(2) == ["worker-0", "worker-1"]


def test_chief_address_defaults_to_loopback():
    assert parse_address(None) == ("127.0.0.1", 0)
    assert parse_address("0.0.0.0") == ("0.0.0.0", 0)
    assert parse_address("10.1.2.3:8000") == ("10.1.2.3", 8000)


@pytest.mark.slow  # 32 s on 2 cores: a chief and two worker processes, each importing TensorFlow
def test_two_workers_run_each_trial_once(tmp_path, config_for):
    from automl.pipeline import run

    config = config_for(_table(tmp_path), workers=2, max_trials=3, epochs=2)
    result = run(config)
    run_dir = Path(config.run_dir)
    assert sorted(_trials(run_dir).items()) == [(f"{i}", "COMPLETED") for i in range(3)]
    # Each worker's log holds only the trials it trained; together they hold each trial once.
    logs = [json.loads((run_dir / f"trial_log.{w}.json").read_text())["seconds"]
            for w in worker_ids(2) if (run_dir / f"trial_log.{w}.json").exists()]
    trained = [trial for log in logs for trial in log]
    assert sorted(trained) == ["0", "1", "2"]
    assert len(result.search.trials) == 3 and all(t.epochs >= 1 for t in result.search.trials)
    # The chief alone evaluated, exported and reported, once.
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["workers"] == 2 and summary["metrics"]["test"]["accuracy"] > 0.5
    assert any("2 worker processes" in note for note in summary["search_notes"])
    assert summary["devices"].startswith("CPU only") and summary["devices"] in result.report.html.read_text()
    assert (run_dir / "model" / "saved_model.pb").is_file()
    assert not _worker_pids(run_dir)  # no worker outlives the search


@pytest.mark.slow  # 55 s on 2 cores: a worker's restart pays TensorFlow's start-up again
def test_a_worker_killed_mid_trial_loses_only_that_trial(tmp_path, config_for):
    from automl.pipeline import run

    config = config_for(_table(tmp_path, rows=600), workers=2, max_trials=4, epochs=40, batch_size=4)
    run_dir, killed = Path(config.run_dir), {}

    def kill_worker_0_mid_trial():
        end = time.monotonic() + WORKER_START_TIMEOUT_S
        while time.monotonic() < end:
            oracle = run_dir / "search" / "oracle.json"
            try:
                trial = json.loads(oracle.read_text()).get("ongoing_trials", {}).get("worker-0")
            except (OSError, ValueError):
                trial = None
            if trial and (run_dir / "search" / f"trial_{trial}" / "backup" / "history.json").exists():
                for pid in _worker_pids(run_dir, "worker-0"):
                    os.kill(pid, signal.SIGKILL)
                    killed["trial"] = trial
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_worker_0_mid_trial, daemon=True)
    killer.start()
    result = run(config)
    killer.join(timeout=5)
    assert "trial" in killed, "worker-0 never reached the middle of a trial"
    statuses = {t.trial_id: t.status for t in result.search.trials}
    assert statuses.pop(killed["trial"]) == "FAILED"
    assert set(statuses.values()) == {"COMPLETED"} and len(statuses) == 3  # the run went on to max_trials
    notes = " ".join(result.search.search_notes)
    assert f"during trial {killed['trial']}, which is marked failed" in notes
    assert (run_dir / "report.html").is_file()


@pytest.mark.slow
def test_killed_chief_leaves_no_workers_and_resumes(tmp_path):
    data, run_dir = _table(tmp_path, rows=600), tmp_path / "run"
    flags = ["--workers", "2", "--max-trials", "4", "--epochs", "30", "--batch-size", "4", "--tuner", "random",
             "--time-budget", "none", "--no-cross-validation", "-o", str(run_dir)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    chief = subprocess.Popen([sys.executable, "-m", "automl", "run", str(data), *flags], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + WORKER_START_TIMEOUT_S
    while time.monotonic() < end and not list((run_dir / "search").glob("trial_*/backup/history.json")):
        time.sleep(0.1)
    chief.send_signal(signal.SIGKILL)
    chief.wait()
    deadline = time.monotonic() + 40  # the workers notice within their CHIEF_SILENCE_SECONDS
    while time.monotonic() < deadline and _worker_pids(run_dir):
        time.sleep(0.5)
    assert not _worker_pids(run_dir)
    resumed = subprocess.run([sys.executable, "-m", "automl", "run", "--resume", str(run_dir)], env=env,
                             capture_output=True, text=True, timeout=400)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert sorted(_trials(run_dir).items()) == [(f"{i}", "COMPLETED") for i in range(4)]
    assert json.loads((run_dir / "summary.json").read_text())["workers"] == 2
