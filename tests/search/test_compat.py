"""Canaries for automl.search._compat, the one home of Keras Tuner's and TensorFlow's private API.

Each canary fails when upstream changes what the search relies on (the name is still there and still
behaves as assumed), so an upgrade says what to fix instead of a search silently degrading; the guard
tests check that each use falls back or fails clearly, never at import time.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf

import automl
from automl.search import _compat
from automl.search.tuner import make_tuner

TUNERS = ["hyperband", "random", "bayesian"]


def _tuner(tmp_path, name: str, max_trials: int, hypermodel: kt.HyperModel, epochs: int = 2):
    """The production tuner (make_tuner) for a small regression hypermodel."""
    plan = SimpleNamespace(tuner=name, epochs=epochs, max_trials=max_trials, task="regression")
    return make_tuner(plan, None, tmp_path, SimpleNamespace(seed=1), hypermodel)


class _TinyModel(kt.HyperModel):
    """A one-layer model on 3 features; records the callbacks each trial's fit receives."""

    def __init__(self):
        super().__init__()
        self.fits: list[list] = []

    def build(self, hp):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(hp.Int("units", 2, 64, default=4)),
                                  keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-1, sampling="log", default=1e-3)), "mse")
        return model

    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        self.fits.append(list(callbacks))
        return model.fit(*args, callbacks=callbacks, **kwargs)


class _Recorder(_compat.SharedAcrossTrials):
    """Run-wide: the id of each trial it saw start; optionally stops new trials in the first."""

    def __init__(self, tuner, stop: bool = False):
        super().__init__()
        self.tuner, self.stop, self.trial_ids = tuner, stop, []

    def on_train_begin(self, logs=None):
        self.trial_ids.append(_compat.ongoing_trial_id(self.tuner))
        if self.stop:
            _compat.stop_new_trials(self.tuner)


def _search(tuner, callbacks: list) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    tuner.search(x, y, validation_data=(x, y), epochs=1, batch_size=8, verbose=0, callbacks=callbacks)


# Keras Tuner: callbacks, the best-epoch checkpoint and the oracle's records, in one small search.

@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    hypermodel = _TinyModel()
    tuner = _tuner(tmp_path_factory.mktemp("search"), "random", 2, hypermodel)
    plain, recorder = keras.callbacks.Callback(), _Recorder(tuner)
    _search(tuner, [plain, recorder])
    return SimpleNamespace(tuner=tuner, fits=hypermodel.fits, plain=plain, recorder=recorder)


def test_keras_tuner_deep_copies_callbacks_and_shared_ones_survive_it(searched):
    assert len(searched.fits) == 2
    for callbacks in searched.fits:
        copies = [c for c in callbacks if type(c) is keras.callbacks.Callback]
        assert len(copies) == 1 and copies[0] is not searched.plain  # Keras Tuner still copies per trial
        assert any(c is searched.recorder for c in callbacks)  # ours is the same object in every trial


def test_every_trial_fit_gets_keras_tuners_best_epoch_checkpoint(searched):
    from keras_tuner.src.engine.tuner_utils import SaveBestEpoch  # where _compat imports it from

    assert _compat.SaveBestEpoch is SaveBestEpoch
    for callbacks in searched.fits:
        checkpoint = _compat.best_epoch_checkpoint(callbacks)
        assert isinstance(checkpoint, SaveBestEpoch)
        assert Path(checkpoint.filepath).parent.name.startswith("trial_")  # EpochBackup goes next to it
        assert checkpoint.objective.name == "val_loss" and np.isfinite(checkpoint.best_value)


def test_the_oracle_records_read_from_callbacks(searched):
    oracle = searched.tuner.oracle
    assert isinstance(oracle.trials, dict) and isinstance(oracle.ongoing_trials, dict)  # not the fallback
    assert searched.recorder.trial_ids == sorted(_compat.all_trials(searched.tuner)) == ["0", "1"]
    assert _compat.trial_count(searched.tuner) == 2
    assert _compat.ongoing_trial(searched.tuner) is None  # the search is over


@pytest.mark.parametrize("name", TUNERS)
def test_stop_new_trials_lets_no_new_trial_start(tmp_path, name):
    tuner = _tuner(tmp_path, name, 3, _TinyModel())
    recorder = _Recorder(tuner, stop=True)
    _search(tuner, [recorder])
    assert recorder.trial_ids == ["0"] and _compat.trial_count(tuner) == 1  # without the cap: 2 or 3


def test_replaying_an_epoch_updates_only_a_better_best_value(tmp_path):
    checkpoint = _compat.SaveBestEpoch(kt.Objective("val_accuracy", "max"), str(tmp_path / "w.weights.h5"))
    assert checkpoint.best_value == float("-inf")
    _compat.replay_best_epoch(checkpoint, {"val_accuracy": 0.7})
    _compat.replay_best_epoch(checkpoint, {"val_accuracy": 0.5})
    _compat.replay_best_epoch(checkpoint, {"loss": 0.1})
    assert checkpoint.best_value == 0.7


# The first trial at the defaults, through the public populate_space hook (no training).

@pytest.mark.parametrize("name", TUNERS)
def test_the_first_trial_of_each_oracle_is_at_the_defaults(tmp_path, name):
    tuner = _tuner(tmp_path, name, 5, _TinyModel())  # Keras Tuner registers the model's space here
    defaults = {"units": 4, "lr": 1e-3}
    assert {hp.name: hp.default for hp in tuner.oracle.hyperparameters.space} == defaults

    def public(trial):
        return {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
    first, second = tuner.oracle.create_trial("a"), tuner.oracle.create_trial("b")
    assert first.status == second.status == "RUNNING"
    assert public(first) == defaults
    assert public(second) != defaults  # later trials are the oracle's own
    if name == "hyperband":  # the bracket bookkeeping is kept
        assert first.hyperparameters.values["tuner/epochs"] == 2


def test_the_defaults_do_not_shift_the_random_draws_of_later_trials(tmp_path):
    """Trial 1 gets the oracle's first random draw, as before the hook existed (the old patch drew nothing
    for trial 0): the same seed gives the same search as earlier versions. Fails if `_seed_state` moves."""
    hooked = _tuner(tmp_path / "hooked", "random", 5, _TinyModel())
    assert isinstance(hooked.oracle._seed_state, int)
    plain = kt.RandomSearch(_TinyModel(), objective="val_loss", max_trials=5, seed=1, directory=str(tmp_path),
                            project_name="plain")
    hooked.oracle.create_trial("a")
    second, plain_first = hooked.oracle.create_trial("b"), plain.oracle.create_trial("a")
    assert second.hyperparameters.values == plain_first.hyperparameters.values


# TensorFlow's gradient registry.

def test_tensorflow_registers_custom_gradients_in_the_registry_we_read():
    from tensorflow.python.framework import ops

    assert isinstance(ops._gradient_registry._registry, dict)
    assert _compat.gradient_registry() is ops._gradient_registry._registry
    before = _compat.custom_gradient_names()

    @tf.custom_gradient
    def double(x):
        return 2 * x, lambda dy: 2 * dy
    tf.function(double).get_concrete_function(tf.TensorSpec([], tf.float32))  # graph mode: registered
    added = _compat.custom_gradient_names() - before
    assert added and all(name.startswith(_compat.CUSTOM_GRADIENT_PREFIX) for name in added)
    assert _compat.release_custom_gradients(keep=before) == len(added)
    assert _compat.custom_gradient_names() == before


# The guards: a fallback or a clear error, never an import-time crash.

def test_private_api_is_used_only_in_compat():
    private = re.compile(r"keras_tuner\.src|keras\.src|tensorflow\.python|_random_values|_gradient_registry|"
                         r"\.oracle\.(trials|ongoing_trials|max_trials)\b")
    package = Path(automl.__file__).parent
    users = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                   if p.name != "_compat.py" and private.search(p.read_text()))
    assert users == []


def test_compat_imports_when_keras_tuner_moves_its_checkpoint(monkeypatch):
    from keras_tuner.src.engine import tuner_utils

    monkeypatch.delattr(tuner_utils, "SaveBestEpoch")
    spec = importlib.util.spec_from_file_location("moved_compat", _compat.__file__)
    moved = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(moved)
    assert moved.SaveBestEpoch is None
    checkpoint = _compat.SaveBestEpoch(kt.Objective("val_loss", "min"), "w.weights.h5")
    other = keras.callbacks.ModelCheckpoint("m.keras")
    assert moved.best_epoch_checkpoint([other, checkpoint]) is checkpoint  # known by its attributes


def test_a_moved_gradient_registry_releases_nothing_and_does_not_crash(monkeypatch):
    from tensorflow.python.framework import ops

    monkeypatch.delattr(ops, "_gradient_registry")
    assert _compat.gradient_registry() == {}
    assert _compat.custom_gradient_names() == set()
    assert _compat.release_custom_gradients(keep=set()) == 0


def test_oracle_accessors_fall_back_or_fail_clearly():
    running = SimpleNamespace(trial_id="3", status="RUNNING")
    done = SimpleNamespace(trial_id="2", status="COMPLETED")
    without_ongoing = SimpleNamespace(oracle=SimpleNamespace(trials={"2": done, "3": running}, max_trials=9))
    assert _compat.ongoing_trial_id(without_ongoing) == "3"
    _compat.stop_new_trials(without_ongoing)
    assert without_ongoing.oracle.max_trials == 2

    bare = SimpleNamespace(oracle=SimpleNamespace())
    with pytest.raises(RuntimeError, match="Oracle.trials"):
        _compat.trial_count(bare)
    with pytest.raises(RuntimeError, match="max_trials"):
        _compat.set_trial_cap(bare, 3)
    with pytest.warns(RuntimeWarning, match="populate_space"):
        _compat.defaults_first(bare)  # the search goes on, from a random first trial
