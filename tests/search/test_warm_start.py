"""A linear head on fixed features starts at the linear model scikit-learn fits on them; a model with
anything else to learn is left alone."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from sklearn.linear_model import LogisticRegression, Ridge

from automl.search.warm_start import fixed_below_head, warm_start_head


def _data(classes: int = 3, n: int = 120, features: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (classes, features))
    labels = np.arange(n) % classes
    x = (centres[labels] + rng.normal(0, 1, (n, features))).astype("float32")
    return x, labels


def _model(features: int, units: int, head: str, hidden: int = 0) -> keras.Model:
    inputs = keras.Input((features,))
    x = layers.Normalization(mean=0.0, variance=4.0)(inputs)
    x = layers.Dropout(0.3)(x)
    for _ in range(hidden):
        x = layers.Dense(8, activation="relu")(x)
    if head == "probabilities":
        return keras.Model(inputs, layers.Dense(units, activation="softmax", name=head)(x))
    x = layers.Dense(units, name=head)(x)  # as tasks.Regression: the standardised target, rescaled
    return keras.Model(inputs, layers.Rescaling(scale=4.0, offset=10.0, name="prediction")(x))


def _batches(x, y):
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(16)


def test_a_softmax_head_on_fixed_features_starts_as_logistic_regression():
    x, y = _data(classes=3)
    model = _model(5, 3, "probabilities")
    assert fixed_below_head(model) and warm_start_head(model, _batches(x, y))
    expected = LogisticRegression(C=1.0, max_iter=1000).fit(x / 2.0, y)  # the Normalization's scaling
    probabilities = model.predict(x, verbose=0)
    np.testing.assert_allclose(probabilities, expected.predict_proba(x / 2.0), atol=1e-4)


def test_two_classes_become_a_two_unit_softmax_equal_to_the_sigmoid():
    x, y = _data(classes=2, seed=1)
    model = _model(5, 2, "probabilities")
    assert warm_start_head(model, _batches(x, y), class_weight={0: 1.0, 1: 3.0})
    expected = LogisticRegression(C=1.0, max_iter=1000, class_weight={0: 1.0, 1: 3.0}).fit(x / 2.0, y)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected.predict_proba(x / 2.0), atol=1e-4)


def test_a_regression_head_starts_as_ridge():
    x, _ = _data(seed=2)
    target = (x @ np.arange(1, 6) + 10).astype("float32")
    model = _model(5, 1, "normalised_prediction")
    assert warm_start_head(model, _batches(x, target))
    expected = Ridge(alpha=1.0).fit(x / 2.0, (target - 10.0) / 4.0)
    np.testing.assert_allclose(model.predict(x, verbose=0)[:, 0], expected.predict(x / 2.0) * 4.0 + 10.0, atol=1e-3)


def test_a_model_with_hidden_layers_is_left_as_it_was():
    x, y = _data()
    model = _model(5, 3, "probabilities", hidden=1)
    before = [w.copy() for w in model.get_weights()]
    assert not fixed_below_head(model) and not warm_start_head(model, _batches(x, y))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_a_closed_form_head_is_frozen_so_training_only_scores_it():
    from automl.search.warm_start import start_head

    x, y = _data(seed=3)
    model = _model(5, 3, "probabilities")
    model.compile(keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    start_head(model, _batches(x, y), None, closed_form=True)
    fitted = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=2, verbose=0)
    assert not model.get_layer("probabilities").trainable
    assert all(np.array_equal(a, b) for a, b in zip(fitted, model.get_weights()))
    other = _model(5, 3, "probabilities")
    start_head(other, _batches(x, y), None, closed_form=False)
    assert other.get_layer("probabilities").trainable
