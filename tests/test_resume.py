"""Interrupt and resume: `automl run` processes are stopped (Ctrl-C, SIGTERM, kill -9) at random
points and resumed; no finished trial may be lost and the final artifacts must be valid."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

RUN_FLAGS = ["--tuner", "random", "--max-trials", "4", "--epochs", "3", "--batch-size", "8",
             "--time-budget", "none", "--seed", "0"]
# TensorFlow's import alone takes several seconds on 2 cores; a whole run here takes ~20-30 s.
RUN_TIMEOUT_S = 240


def _table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    label = np.array(["yes", "no"] * 30)
    frame = pd.DataFrame({"x1": np.where(label == "yes", 2.0, -2.0) + rng.normal(0, 0.5, 60),
                          "x2": rng.normal(0, 1, 60), "label": label})
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return path


def _start(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "automl", "run", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finished_trials(run_dir: Path) -> dict[str, float]:
    """Trials Keras Tuner has recorded as finished, with their scores."""
    trials = {}
    for path in (run_dir / "search").glob("trial_*/trial.json"):
        trial = json.loads(path.read_text())
        if trial["status"] == "COMPLETED":
            trials[trial["trial_id"]] = trial["score"]
    return trials


def _wait_for(predicate, process: subprocess.Popen, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and process.poll() is None:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def _stop(process: subprocess.Popen, how: signal.Signals) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(how)
    out, err = process.communicate(timeout=RUN_TIMEOUT_S)
    return process.returncode, out + err


def _finish_and_check(run_dir: Path, finished: dict[str, float], resume_args: list[str]) -> None:
    process = _start(resume_args)
    out, err = process.communicate(timeout=RUN_TIMEOUT_S)
    code, output = process.returncode, out + err
    assert code == 0, output
    summary = json.loads((run_dir / "summary.json").read_text())
    final = {t["trial_id"]: t["score"] for t in summary["trials"]}
    for trial_id, score in finished.items():  # every trial finished before a stop is still there, unchanged
        assert trial_id in final and final[trial_id] == pytest.approx(score), (trial_id, final)
    assert len(final) == 4
    assert "<html" in (run_dir / "report.html").read_text(encoding="utf-8").lower()
    _check_model(run_dir)


def _check_model(run_dir: Path) -> None:
    import tensorflow as tf

    model = tf.saved_model.load(str(run_dir / "model"))
    out = model.serve({"x1": tf.constant([2.0, -2.0]), "x2": tf.constant([0.0, 0.0])})
    probabilities = out["probabilities"].numpy()
    assert probabilities.shape == (2, 2) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)


def test_sigterm_stops_like_ctrl_c_and_says_how_to_resume(tmp_path, capsys, monkeypatch):
    import automl.pipeline
    from automl.cli import main

    def stopped_mid_run(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the signal arrives before this ends
        raise AssertionError("SIGTERM did not stop the run")
    monkeypatch.setattr(automl.pipeline, "run", stopped_mid_run)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["run", str(_table(tmp_path)), "--output", str(tmp_path / "my run")]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert "Finished trials are kept" in err and "automl run --resume '" + str(tmp_path / "my run") + "'" in err
    assert signal.getsignal(signal.SIGTERM) == before  # the CLI leaves no handler behind


def test_kill_9_mid_search_then_resume_loses_no_finished_trial(tmp_path):
    data, run_dir = _table(tmp_path), tmp_path / "run"
    first = _start([str(data), "--output", str(run_dir), *RUN_FLAGS])
    assert _wait_for(lambda: len(_finished_trials(run_dir)) >= 1, first, RUN_TIMEOUT_S)
    time.sleep(random.Random(0).uniform(0.0, 1.0))  # lands mid-trial, mid-write or just after
    _stop(first, signal.SIGKILL)
    finished = _finished_trials(run_dir)
    _finish_and_check(run_dir, finished, ["--resume", str(run_dir), *RUN_FLAGS])  # data comes from run.json


@pytest.mark.slow
def test_runs_stopped_at_random_points_resume_without_loss(tmp_path):
    """A seeded loop: four stops by Ctrl-C, SIGTERM or kill -9 at random times, each resumed."""
    rng = random.Random(6)
    data, run_dir = _table(tmp_path), tmp_path / "run"
    args = [str(data), "--output", str(run_dir), *RUN_FLAGS]
    finished: dict[str, float] = {}
    for attempt in range(4):
        # A run stopped before it made its folder has nothing to resume: it is started again.
        process = _start([*args, "--resume"] if run_dir.exists() else args)
        time.sleep(rng.uniform(2.0, 25.0))
        how = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
        code, output = _stop(process, how)
        assert "Traceback" not in output, output
        assert code in (0, 128 + how, -signal.SIGKILL), (how, code, output)
        now = _finished_trials(run_dir)
        assert set(finished) <= set(now)  # nothing finished earlier was dropped by a later attempt
        finished = now
    _finish_and_check(run_dir, finished, [*args, "--resume"])
