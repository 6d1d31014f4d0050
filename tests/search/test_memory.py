"""Memory across trials: a finished trial's traced graphs are released (benchmarks/memory_check.py
measures the resident memory of a whole 50-trial search; these check the cause it found, cheaply)."""

from __future__ import annotations

import pytest

import gc

import keras
import numpy as np
from tensorflow.python.framework.func_graph import FuncGraph

from automl.search.tuner import training_callbacks
from automl.search._compat import CUSTOM_GRADIENT_PREFIX, gradient_registry
from automl.search.callbacks import ReleaseTrialGraphs


def _fit_like_a_trial(callbacks: list) -> None:
    """What Keras Tuner does per trial: clear the session, build, compile, fit, drop the model."""
    keras.backend.clear_session()
    gc.collect()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.integers(0, 2, 32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, validation_data=(x, y), epochs=1, batch_size=8, verbose=0, callbacks=callbacks)


def _custom_gradients() -> set[str]:
    return {name for name in gradient_registry() if name.startswith(CUSTOM_GRADIENT_PREFIX)}


def _live_graphs() -> int:
    gc.collect()
    # type(), not isinstance(): isinstance on a weak proxy whose object is gone raises ReferenceError
    return sum(issubclass(type(o), FuncGraph) for o in gc.get_objects())


def test_every_trial_releases_its_graphs():
    assert any(isinstance(c, ReleaseTrialGraphs) for c in training_callbacks(2, None, 4))


@pytest.mark.slow  # 15 s; benchmarks/memory_check.py measures the same over 50 trials
def test_a_finished_trial_leaves_no_graph_alive():
    _fit_like_a_trial([ReleaseTrialGraphs()])  # warm-up: Keras and TensorFlow may cache graphs once
    keras.backend.clear_session()
    registered, graphs = _custom_gradients(), _live_graphs()
    _fit_like_a_trial([ReleaseTrialGraphs()])
    keras.backend.clear_session()
    assert _custom_gradients() == registered
    assert _live_graphs() <= graphs  # without the release: about 20 more graphs kept per fit

    # Why the release is needed: without it the traced train step stays registered, and with it its
    # whole graph. If TensorFlow stops registering these, this fails and the release can go.
    _fit_like_a_trial([])
    leftover = _custom_gradients() - registered
    assert leftover
    for name in leftover:  # leave the process as the release would have
        del gradient_registry()[name]
