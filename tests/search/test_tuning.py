import time

import keras_tuner as kt
import pytest

from automl.errors import ConfigError
from automl.ingest import load_dataset
from automl.profile import profile_dataset
from automl.search import search_models
from automl.select import choose_family
from helpers import make_image_folder


def _stages(config):
    dataset = load_dataset(config)
    profile = profile_dataset(dataset)
    return choose_family(profile, config), dataset, profile


# End to end with the random tuner; Hyperband and Bayesian optimisation against Keras Tuner itself:
# tests/search/test_compat.py checks all three oracles without training (the slow marks run the other two
# here too: `-m slow`).
@pytest.mark.parametrize("tuner", ["random", pytest.param("hyperband", marks=pytest.mark.slow),
                                   pytest.param("bayesian", marks=pytest.mark.slow)])
def test_each_tuner_respects_max_trials_starts_at_the_defaults_and_keeps_state(table_csv, config_for, tuner,
                                                                                tmp_path):
    """Every tuner's oracle picks its first trial through populate_space (automl.search._compat)."""
    config = config_for(table_csv, tuner=tuner, max_trials=2, epochs=2)  # Hyperband: 2 epochs, 2 first trials
    (tmp_path / "run").mkdir()
    result = search_models(*_stages(config), config)
    assert len(result.trials) == 2 and result.stopped_because == "max_trials"
    assert (tmp_path / "run" / "search" / "oracle.json").exists()
    assert result.model.predict(next(iter(_stages(config)[1].test.data.batch(4)))[0], verbose=0).shape == (4, 2)
    best = result.best_trial
    assert best.params > 0 and best.seconds > 0 and best.history["val_accuracy"]
    assert not any(key.startswith("tuner/") for key in best.hyperparameters)
    defaults = {"units": 128, "layers": 2, "dropout": 0.2, "learning_rate": 1e-3}
    assert [t.trial_id for t in result.trials] == ["0", "1"]
    assert result.trials[0].hyperparameters == defaults
    assert result.trials[1].hyperparameters != defaults  # only the first: the search still explores


def test_the_deadline_stops_the_search_with_a_trained_model(tmp_path, config_for):
    root = make_image_folder(tmp_path / "d", per_class=30)
    config = config_for(root, max_trials=50, epochs=50, patience=50)
    (tmp_path / "run").mkdir()
    start = time.monotonic()
    # 25 s: the default CNN's build and first step (about 4 s on 2 busy cores) and one epoch must fit
    # before the 12 s kept for evaluation and export.
    result = search_models(*_stages(config), config, deadline=time.monotonic() + 25)
    assert result.stopped_because == "time_budget"
    assert time.monotonic() - start < 25 and len(result.trials) < 50
    assert result.model is not None and result.best_trial.history


def test_a_budget_shorter_than_one_epoch_is_refused(table_csv, config_for, tmp_path):
    config = config_for(table_csv)
    (tmp_path / "run").mkdir()
    with pytest.raises(ConfigError, match="one epoch of the default model takes about"):
        search_models(*_stages(config), config, deadline=time.monotonic())


@pytest.mark.slow  # 19 s; the imbalance test (tests/diagnose/test_imbalance.py) runs a weighted search too
def test_class_weights_reach_training(tmp_path, config_for, monkeypatch):
    root = make_image_folder(tmp_path / "d", per_class=40, classes=("bright",))
    make_image_folder(root, per_class=5, classes=("dark",))
    config = config_for(root)
    (tmp_path / "run").mkdir()
    seen = {}
    original = kt.RandomSearch.search

    def spy(self, *args, **kwargs):
        seen.update(kwargs)
        return original(self, *args, **kwargs)
    monkeypatch.setattr(kt.RandomSearch, "search", spy)
    plan, dataset, profile = _stages(config)
    search_models(plan, dataset, profile, config)
    assert seen["class_weight"] == profile.class_weight and seen["class_weight"][1] > seen["class_weight"][0]


def test_the_learning_rate_anneals_to_the_end_of_the_epochs_and_is_restored():
    import keras
    import numpy as np

    from automl.search.callbacks import AnnealToBudget

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(float(model.optimizer.learning_rate.numpy())))
    x = np.zeros((40, 2), "float32")
    model.fit(x, x[:, :1], batch_size=10, epochs=3, verbose=0, callbacks=[AnnealToBudget(None, 4), record])
    assert seen[0] == pytest.approx(0.1) and seen[-1] < 0.01 and seen == sorted(seen, reverse=True)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.1)


def test_the_learning_rate_follows_the_clock_when_the_deadline_comes_first():
    import keras
    import numpy as np

    from automl.search.callbacks import AnnealToBudget

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    anneal = AnnealToBudget(time.monotonic() - 1, 4)  # the deadline has passed: at the floor at once
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(float(model.optimizer.learning_rate.numpy())))
    x = np.zeros((40, 2), "float32")
    model.fit(x, x[:, :1], batch_size=10, epochs=100, verbose=0, callbacks=[anneal, record])
    assert seen[0] == pytest.approx(0.1 * AnnealToBudget.FLOOR)


def test_a_budget_too_short_for_the_default_model_sizes_the_first_trial_down(tmp_path, config_for, monkeypatch):
    """One epoch of the default CNN 'takes' 20 s (faked), so 6 do not fit a 60 s window: the first trial is
    the family's smallest configuration, and the search result says why."""
    from automl.search import tuning
    root = make_image_folder(tmp_path / "d", per_class=10)
    config = config_for(root, max_trials=1, epochs=2)
    (tmp_path / "run").mkdir()
    monkeypatch.setattr(tuning, "epoch_seconds", lambda plan, profile, train, steps, values=None:
                        (4.0 if values else 20.0, 0.5))
    result = search_models(*_stages(config), config, deadline=time.monotonic() + 80)
    first = result.trials[0].hyperparameters
    assert (first["filters"], first["blocks"], first["dense_units"]) == (16, 2, 0)
    assert "smallest configuration" in result.first_trial_note and "filters 16" in result.first_trial_note



def test_the_annealed_rate_is_logged_each_epoch_for_the_curves():
    import keras
    import numpy as np

    from automl.report import plots
    from automl.search.callbacks import AnnealToBudget

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.zeros((40, 2), "float32")
    history = model.fit(x, x[:, :1], batch_size=10, epochs=4, verbose=0, callbacks=[AnnealToBudget(None, 4)]).history
    rates = history["learning_rate"]
    assert len(rates) == 4 and rates[0] < 0.1 and all(a > b for a, b in zip(rates, rates[1:]))
    # The report draws it as a third panel; it is never taken for the main metric.
    assert plots.main_metric({"loss": [1.0], "learning_rate": [0.1]}) is None
    assert plots.learning_curves({"loss": [1.0, 0.5], "learning_rate": rates[:2]}, 1).startswith("data:image/png")


def test_where_speakers_are_held_out_the_simple_models_ship_refit_on_train_and_validation():
    """Each simple model is refit on train + validation (what ships hears every speaker, as the best trial's refit
    does); the fits on train alone keep their leaderboard rows."""
    from types import SimpleNamespace

    import numpy as np
    import tensorflow as tf

    from automl.ingest.dataset import Split
    from automl.progress import NullProgress
    from automl.search.simple import SimpleFit
    from automl.search.tuning import _simple_models_refit_on_all

    def split(count, start):
        x, y = np.arange(start, start + count, dtype="float32")[:, None], np.arange(count) % 2
        return Split(tf.data.Dataset.from_tensor_slices((x, y)), y, ())

    seen = []

    def fitter(data):
        seen.append(sorted(float(x[0]) for x, _ in data.data.as_numpy_iterator()))
        return SimpleFit("linear", f"model fitted on {data.size}", None, None, 0.1)

    dataset = SimpleNamespace(train=split(6, 0), val=split(4, 100))
    refit, note = _simple_models_refit_on_all([SimpleFit("linear", "model fitted on 6", None, None, 0.1)],
                                              {"linear": fitter}, dataset, NullProgress())
    assert refit == {"linear": "model fitted on 10"}
    assert seen == [[0, 1, 2, 3, 4, 5, 100, 101, 102, 103]]  # every training and validation example, once
    assert "(linear) were refit on train + validation (10 examples)" in note
    assert _simple_models_refit_on_all([], {"linear": fitter}, dataset, NullProgress()) == ({}, "")
