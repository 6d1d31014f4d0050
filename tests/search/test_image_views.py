"""Test-time views (search.image_views) and the CNN's whitening start (families.cnn.prepare_training)."""

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf

from automl.families import FAMILIES
from automl.families.cnn import WHITEN_EPSILON
from automl.ingest import load_dataset
from automl.modalities.batching import batched
from automl.profile import profile_dataset
from automl.search.leaderboard import Candidate
from automl.search.image_views import views_candidate, with_views
from helpers import make_image_folder


def _position_sensitive_model():
    """uint8 6×6 images → 3 probabilities that depend on where each pixel is (so views change them)."""
    images = keras.Input((6, 6, 1), dtype="uint8", name="image")
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(images))
    model = keras.Model(images, keras.layers.Dense(3, activation="softmax", name="probabilities")(x))
    kernel = np.random.default_rng(0).normal(0, 3, (36, 3)).astype("float32")
    model.get_layer("probabilities").set_weights([kernel, np.zeros(3, "float32")])
    return model


def _shift(images, rows, columns):
    """Reference: numpy shift with zero fill."""
    out = np.zeros_like(images)
    height, width = images.shape[1:3]
    out[:, max(rows, 0):height + min(rows, 0), max(columns, 0):width + min(columns, 0)] = \
        images[:, max(-rows, 0):height - max(rows, 0), max(-columns, 0):width - max(columns, 0)]
    return out


def test_views_average_the_model_over_the_mirror_or_the_one_pixel_shifts(tmp_path):
    model = _position_sensitive_model()
    images = np.random.default_rng(1).integers(0, 256, (5, 6, 6, 1)).astype("uint8")
    plain = model.predict(images, verbose=0)
    mirrored = with_views(model, mirror=True).predict(images, verbose=0)
    expected = (plain + model.predict(images[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(mirrored, expected, atol=1e-6)
    shifted = with_views(model, mirror=False)
    views = [images] + [_shift(images, r, c) for r, c in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    expected = np.mean([model.predict(v, verbose=0) for v in views], axis=0)
    np.testing.assert_allclose(shifted.predict(images, verbose=0), expected, atol=1e-6)
    assert not np.allclose(expected, plain)  # the views do change this model's outputs
    shifted.save(tmp_path / "views.keras")  # plain Keras ops: it saves and reloads without custom objects
    reloaded = keras.saving.load_model(tmp_path / "views.keras", compile=False)
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), expected, atol=1e-6)


def test_the_candidate_is_scored_on_the_data_it_is_given():
    model = _position_sensitive_model()
    images = np.random.default_rng(2).integers(0, 256, (8, 6, 6, 1)).astype("uint8")
    val = tf.data.Dataset.from_tensor_slices((images, np.zeros(8, "int32"))).batch(4)
    trial = Candidate("trial 01", "trial", model, model.predict(images, verbose=0), 3.0, model.count_params())
    row = views_candidate(trial, val, mirror=True)
    assert row.name == "trial 01, averaged with the mirror image" and row.kind == "trial"
    assert row.params == trial.params and row.seconds >= trial.seconds
    np.testing.assert_allclose(row.outputs, row.model.predict(images, verbose=0), atol=1e-6)


def test_the_cnn_starts_its_first_convolution_as_the_patch_whitening(tmp_path, config_for):
    root = make_image_folder(tmp_path / "images", per_class=12, sizes=((20, 20),))
    config = config_for(root)
    dataset = load_dataset(config)
    profile = profile_dataset(dataset)
    model = FAMILIES["cnn"](kt.HyperParameters(), profile)
    train = batched(dataset.train, profile, 8, None)
    FAMILIES["cnn"].prepare_training(model, train)
    whiten = model.get_layer("whiten")
    pixels = keras.Model(model.inputs, whiten.input)
    images = np.concatenate([np.asarray(pixels(x, training=False)) for x, _ in train])
    patches = np.lib.stride_tricks.sliding_window_view(images, (2, 2), axis=(1, 2))
    patches = patches.transpose(0, 1, 2, 4, 5, 3).reshape(-1, 4 * images.shape[-1])
    kernel = whiten.get_weights()[0].reshape(-1, whiten.filters)[:, :whiten.filters // 2]
    whitened = (patches - patches.mean(axis=0)) @ kernel
    covariance = whitened.T @ whitened / len(whitened)
    # Whitened: uncorrelated, each direction's variance λ / (λ + ε) (1 where the data varies well above ε).
    eigenvalues = np.linalg.eigvalsh(np.cov(patches.T, bias=True))
    np.testing.assert_allclose(np.sort(np.diag(covariance)), np.sort(eigenvalues / (eigenvalues + WHITEN_EPSILON)),
                               atol=1e-3)
    off_diagonal = covariance - np.diag(np.diag(covariance))
    assert np.abs(off_diagonal).max() < 1e-3
