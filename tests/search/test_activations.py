"""Cutting a backbone's top off (search.activations), so fine-tuning can train it on cached activations."""

import keras
import numpy as np

from automl.search.activations import checked_split, split_top


def _residual_net():
    """A small net whose last layers hold a residual block (the shape of MobileNetV2's top)."""
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="stem")(inputs)
    y = keras.layers.Conv2D(4, 1, name="expand")(x)
    y = keras.layers.BatchNormalization(name="expand_bn")(y)
    x = keras.layers.Add(name="add")([x, y])
    x = keras.layers.Conv2D(6, 1, activation="relu", name="last")(x)
    return keras.Model(inputs, x)


def test_the_top_is_rebuilt_from_the_backbones_own_layers_and_reproduces_it():
    net = _residual_net()
    images = np.random.default_rng(0).normal(size=(5, 8, 8, 3)).astype("float32")
    bottom, top = checked_split(net, 4, images)  # expand, expand_bn, add, last: entered by stem's output alone
    assert bottom.output.shape[1:] == (8, 8, 4)
    np.testing.assert_allclose(top(bottom(images)), net(images), atol=1e-5)
    assert top.get_layer("last") is net.get_layer("last")  # shared: training the top trains the backbone
    net.get_layer("last").kernel.assign(net.get_layer("last").kernel * 2)
    np.testing.assert_allclose(top(bottom(images)), net(images), atol=1e-5)


def test_a_top_entered_by_two_tensors_is_not_cut():
    net = _residual_net()
    # expand_bn, add, last: entered by stem's output (the residual) and by expand's — two tensors.
    assert split_top(net, 3) is None


def test_mobilenet_v2s_top_thirty_layers_are_cut_at_block_13():
    net = keras.applications.MobileNetV2(input_shape=(64, 64, 3), include_top=False, weights=None)
    images = np.random.default_rng(1).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    bottom, top = checked_split(net, 30, images)
    assert bottom.output.shape[1:] == (2, 2, 160) and len(top.layers) == 31  # its Input and the 30 layers
