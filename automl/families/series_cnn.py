"""1-D CNN family for series: the fully convolutional network (FCN) of Wang et al. (2017) or its
residual variant (ResNet), with global average pooling over the time steps that hold a value.

FCN and ResNet are the strongest simple baselines on the UCR archive (Wang et al. 2017; Fawaz et al.
2019): convolutions share weights across time, so they learn shapes wherever they occur.
"""

from __future__ import annotations

import keras
from keras import layers

from automl.families.common import compile_model, output_head
from automl.families.series_common import masked_average, series_input

# The kernel widths of Wang et al.'s FCN and of each ResNet block: 8, 5, then 3 time steps.
KERNELS = (8, 5, 3)
# Residual blocks in Wang et al.'s ResNet.
RESNET_BLOCKS = 3
# UCR training sets are tiny (GunPoint: 3 steps an epoch at batch 16): with Keras' default 0.99 the
# moving statistics still hold their initial values after 100 steps, so validation saw wrong ones
# (measured: train accuracy 0.95, validation 0.50 on GunPoint). 0.9 settles within ~30 steps.
BN_MOMENTUM = 0.9


def _conv(x, filters: int, kernel: int, activate: bool = True):
    x = layers.Conv1D(filters, kernel, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    return layers.Activation("relu")(x) if activate else x


def _fcn(x, filters: int):
    """Three conv-BN-ReLU layers with filters f, 2f, f (Wang et al. use f = 128)."""
    for width, kernel in zip((filters, filters * 2, filters), KERNELS):
        x = _conv(x, width, kernel)
    return x


def _resnet(x, filters: int):
    """Three residual blocks of three conv-BN layers (filters f, 2f, 2f), each with a 1×1 shortcut."""
    for block in range(RESNET_BLOCKS):
        width = filters if block == 0 else filters * 2
        shortcut = _conv(x, width, 1, activate=False)
        for i, kernel in enumerate(KERNELS):
            x = _conv(x, width, kernel, activate=i < len(KERNELS) - 1)
        x = layers.Activation("relu")(layers.Add()([x, shortcut]))
    return x


def build_model(hp, profile) -> keras.Model:
    """Normalised series → FCN or ResNet → masked global average pooling → dropout → head."""
    inputs, x, mask = series_input(profile)
    filters = hp.Choice("filters", [64, 128, 32], default=64)
    x = {"fcn": _fcn, "resnet": _resnet}[hp.Choice("architecture", ["fcn", "resnet"], default="fcn")](x, filters)
    x = masked_average(x, mask)
    x = layers.Dropout(hp.Choice("dropout", [0.0, 0.2, 0.5], default=0.0))(x)
    return compile_model(keras.Model(inputs, output_head(x, profile), name="series_cnn"), hp, profile)
