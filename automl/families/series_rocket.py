"""MiniRocket family for series: a bank of fixed dilated convolutions, each output summarised by the
proportion of its values above a bias (PPV), and a linear model on those features (Dempster et al. 2021).

MiniRocket matches the most accurate UCR classifiers in seconds (aeon's MiniRocket + ridge: GunPoint
99.3 %, ItalyPowerDemand 96.4 %, measured in benchmarks/RESULTS.md round 8), where a CNN trained from
scratch on 50 series reaches 87–93 %. Only the linear head learns, so a few dozen series are enough.
As a Keras model it takes raw series and exports like every other family.

Faithful to MiniRocket in its kernels (84 of length 9: weights -1, and 2 at three of the nine taps),
dilations (exponentially spaced up to the series length, features shared out among them), channel
subsets and biases (quantiles of each kernel's output on a random training series, at low-discrepancy
quantile levels). Simplified in one respect: every convolution pads the series ("same"), where
MiniRocket pads every other one. Biases and feature scales come from the profile's reference series.
"""

from __future__ import annotations

import itertools

import keras
import numpy as np
from keras import layers, ops

from automl.families.common import compile_model, output_head
from automl.families.series_common import series_input

KERNEL_SIZE = 9
# The 84 kernels: every choice of 3 of the 9 taps that carry weight 2 (the others carry -1, so each
# kernel sums to 0 and ignores the series' level).
KERNEL_TAPS = tuple(itertools.combinations(range(KERNEL_SIZE), 3))
MAX_DILATIONS_PER_KERNEL = 32  # MiniRocket's default
SEED = 0  # the bank is fixed, not searched: the same data always gets the same features


def kernel_weights() -> np.ndarray:
    """[9, 84] weights of the MiniRocket kernels."""
    weights = -np.ones((KERNEL_SIZE, len(KERNEL_TAPS)), dtype="float32")
    for k, taps in enumerate(KERNEL_TAPS):
        weights[list(taps), k] = 2.0
    return weights


def dilations_and_counts(length: int, features: int) -> tuple[np.ndarray, np.ndarray]:
    """MiniRocket's dilations (exponentially spaced, up to the one whose kernel spans the series) and how
    many features (biases) each kernel gets at each dilation."""
    per_kernel = max(1, features // len(KERNEL_TAPS))
    true_max = min(per_kernel, MAX_DILATIONS_PER_KERNEL)
    max_exponent = max(0.0, np.log2(max(length - 1, 1) / (KERNEL_SIZE - 1)))
    dilations, counts = np.unique(np.logspace(0, max_exponent, true_max, base=2).astype(np.int32),
                                  return_counts=True)
    counts = (counts * (per_kernel / true_max)).astype(np.int32)
    for i in range(per_kernel - int(counts.sum())):  # share out the remainder, as MiniRocket does
        counts[i % len(counts)] += 1
    return dilations, counts


def quantile_levels(count: int) -> np.ndarray:
    """Low-discrepancy levels in (0, 1): the fractional parts of multiples of the golden ratio."""
    return ((np.arange(1, count + 1) * (np.sqrt(5) + 1) / 2) % 1).astype("float32")


def channel_mixing(channels: int, rng) -> np.ndarray:
    """[channels, 84] 0/1: which channels each kernel sums over (a random subset of 1 to 9 channels,
    sizes drawn log-uniformly as in MiniRocket)."""
    mixing = np.zeros((channels, len(KERNEL_TAPS)), dtype="float32")
    sizes = (2 ** rng.uniform(0, np.log2(min(channels, 9) + 1), len(KERNEL_TAPS))).astype(int)
    for k, size in enumerate(np.clip(sizes, 1, channels)):
        mixing[rng.choice(channels, size, replace=False), k] = 1.0
    return mixing


def _ppv(outputs, biases, mask):
    """Proportion of positive values: for each kernel output [batch, length, 84] and each of its biases
    [84, n], the share of time steps holding a value where the output exceeds the bias → [batch, 84 × n]."""
    above = ops.cast(ops.greater(ops.expand_dims(outputs, -1), biases), "float32")
    weights = ops.cast(mask, "float32")[:, :, None, None]
    ppv = ops.sum(above * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
    return ops.reshape(ppv, (-1, biases.shape[0] * biases.shape[1]))


class _Bank:
    """The fixed convolutions and biases, fitted on the reference series."""

    def __init__(self, spec, features: int):
        rng = np.random.default_rng(SEED)
        self.dilations, self.counts = dilations_and_counts(spec.length, features)
        reference = spec.reference_series()
        if not len(reference):  # no reference (an old profile): zero-centred biases from a flat series
            reference = np.zeros((1, spec.length, spec.channels), dtype="float32")
        levels = iter(quantile_levels(len(KERNEL_TAPS) * int(self.counts.sum())))
        self.convolutions, self.biases = [], []
        for dilation, count in zip(self.dilations, self.counts):
            kernel = kernel_weights()[:, None, :] * channel_mixing(spec.channels, rng)[None]
            conv = layers.Conv1D(len(KERNEL_TAPS), KERNEL_SIZE, dilation_rate=int(dilation), padding="same",
                                 use_bias=False, trainable=False, name=f"rocket_dilation_{dilation}")
            conv.build((None, spec.length, spec.channels))
            conv.kernel.assign(kernel)
            out = keras.ops.convert_to_numpy(conv(reference))  # [n, length, 84]
            picked = rng.integers(len(reference), size=len(KERNEL_TAPS))
            biases = np.stack([np.quantile(out[picked[k], :, k], [next(levels) for _ in range(count)])
                               for k in range(len(KERNEL_TAPS))]).astype("float32")
            self.convolutions.append(conv)
            self.biases.append(biases)
        # Feature scales on the reference: PPV features sit in [0, 1] with very different spreads.
        ref_features = keras.ops.convert_to_numpy(self(reference, np.ones(reference.shape[:2], bool)))
        self.mean = ref_features.mean(axis=0)
        self.variance = np.maximum(ref_features.var(axis=0), 1e-4)

    def __call__(self, x, mask):
        return ops.concatenate([_ppv(conv(x), biases, mask) for conv, biases in zip(self.convolutions, self.biases)],
                               axis=-1)


def build_model(hp, profile) -> keras.Model:
    """Normalised series → fixed MiniRocket bank (PPV features) → standardised → dropout → linear head."""
    inputs, x, mask = series_input(profile)
    bank = _Bank(profile.series_inputs, hp.Choice("features", [10_000, 5_000, 2_000], default=10_000))
    features = bank(x, mask)
    features = layers.Normalization(mean=bank.mean, variance=bank.variance, name="standardise")(features)
    features = layers.Dropout(hp.Choice("dropout", [0.0, 0.3, 0.6], default=0.0))(features)
    return compile_model(keras.Model(inputs, output_head(features, profile), name="series_rocket"), hp, profile)
