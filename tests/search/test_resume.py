"""Interrupt and resume: `automl run` processes are stopped (Ctrl-C, SIGTERM, kill -9) at random
points and resumed; no finished trial may be lost and the final artifacts must be valid."""

from __future__ import annotations

import dataclasses
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

# Cross-validation off: these runs are subprocesses, out of conftest's reach, and resuming is the subject.
RUN_FLAGS = ["--tuner", "random", "--max-trials", "4", "--epochs", "3", "--batch-size", "8",
             "--time-budget", "none", "--seed", "0", "--no-cross-validation"]
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


@pytest.mark.slow  # 37 s; resuming mid-trial and after Ctrl-C stay in the default suite
def test_kill_9_mid_search_then_resume_loses_no_finished_trial(tmp_path):
    data, run_dir = _table(tmp_path), tmp_path / "run"
    first = _start([str(data), "--output", str(run_dir), *RUN_FLAGS])
    assert _wait_for(lambda: len(_finished_trials(run_dir)) >= 1, first, RUN_TIMEOUT_S)
    time.sleep(random.Random(0).uniform(0.0, 1.0))  # lands mid-trial, mid-write or just after
    _stop(first, signal.SIGKILL)
    finished = _finished_trials(run_dir)
    _finish_and_check(run_dir, finished, ["--resume", str(run_dir)])  # as printed: data and settings from run.json


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


class _StopAtEpoch:
    """A progress receiver that records every epoch it sees and, like Ctrl-C, stops the run at one."""

    def __init__(self, stop_at: int | None = None):
        self.stop_at, self.epochs = stop_at, []

    def __getattr__(self, name):  # the progress events this test ignores
        return lambda *args, **kwargs: None

    def epoch_ended(self, trial_id, epoch, epochs, logs):
        self.epochs.append((trial_id, epoch, dict(logs)))
        if epoch == self.stop_at:
            raise KeyboardInterrupt


def test_a_trial_stopped_mid_way_resumes_from_its_last_epoch(tmp_path):
    from automl.config import load_config
    from automl.pipeline import plan_run
    from automl.search import search_models

    config = load_config(data=str(_table(tmp_path)), run_dir=str(tmp_path / "run"), tuner="random", max_trials=1,
                         epochs=5, patience=10, time_budget=None, batch_size=8, seed=0)
    (tmp_path / "run").mkdir()
    first = _StopAtEpoch(stop_at=3)  # stopped while its third epoch ends: the backup holds two epochs
    with pytest.raises(KeyboardInterrupt):
        search_models(*_planned(plan_run(config)), config, None, first)
    trial_id = first.epochs[0][0]
    assert list((tmp_path / "run" / "search").glob("trial_*/backup"))

    second = _StopAtEpoch()
    result = search_models(*_planned(plan_run(config)), config, None, second)
    assert [(t, e) for t, e, _ in second.epochs] == [(trial_id, 3), (trial_id, 4), (trial_id, 5)]  # not from 1
    trial = result.best_trial
    assert trial.trial_id == trial_id and trial.epochs == 5
    assert all(len(values) == 5 for values in trial.history.values())  # every epoch once
    before = [logs["val_loss"] for _, _, logs in first.epochs[:2]]
    assert trial.history["val_loss"][:2] == pytest.approx(before)  # the epochs before the stop, kept
    assert not list((tmp_path / "run" / "search").glob("trial_*/backup"))  # deleted once the trial ended


def _planned(stages):
    dataset, profile, plan = stages
    return plan, dataset, profile


def test_a_restored_fit_continues_early_stopping_best_epoch_and_learning_rate(tmp_path):
    """Unit level: the callbacks that judge epochs count the epochs before the stop."""
    import keras
    import keras_tuner as kt
    from automl.search._compat import SaveBestEpoch

    from automl.search.callbacks import AnnealToBudget, EpochBackup

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")

    class Watch(keras.callbacks.Callback):
        def __init__(self, stop_at=None):
            super().__init__()
            self.stop_at, self.rates = stop_at, []

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == self.stop_at:
                raise KeyboardInterrupt

        def on_train_batch_begin(self, batch, logs=None):
            self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    def trial(watch):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
        # min_delta: no epoch after the first counts as an improvement, so patience counts every epoch.
        stopping = keras.callbacks.EarlyStopping("val_loss", patience=10, min_delta=1e9)
        # "max": the best epoch is an early one (the loss falls), so a resumed fit must not overwrite it.
        saver = SaveBestEpoch(kt.Objective("val_loss", "max"), str(tmp_path / "checkpoint.weights.h5"))
        callbacks = [AnnealToBudget(None, 4), stopping, saver, watch]
        backup = EpochBackup(tmp_path / "backup", 0, callbacks)
        fit = model.fit(x, y, validation_data=(x, y), epochs=4, batch_size=8, verbose=0,
                        callbacks=[*callbacks, backup])
        return backup.whole(fit), stopping, saver

    with pytest.raises(KeyboardInterrupt):
        trial(Watch(stop_at=2))
    watch = Watch()
    history, stopping, saver = trial(watch)
    assert len(history.history["val_loss"]) == 4
    assert stopping.wait == 3 and stopping.best == pytest.approx(history.history["val_loss"][0])
    assert saver.best_value == pytest.approx(max(history.history["val_loss"]))
    # The cosine schedule resumes half-way (epoch 3 of 4), not at the full rate.
    assert watch.rates[0] == pytest.approx(0.01 * (0.02 + 0.98 * 0.5), rel=1e-3)
    assert not (tmp_path / "backup").exists()
