"""Audio CNN family: raw waveforms in, a log-mel spectrogram computed inside the model (Keras's
MelSpectrogram), normalised per band with the training statistics, then a small 2-D CNN over bands × time.

A log-mel spectrogram is the standard input of audio classifiers (keyword spotting, AudioSet's PANNs):
it spaces frequencies as hearing does, and a CNN learns its time-frequency patterns wherever they occur.
Everything is standard Keras layers and ops, so the SavedModel takes waveforms of any length and reloads
with plain TensorFlow.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from automl.families.common import compile_model, output_head
from automl.modalities import log_mel

# As in the image CNN: Keras's default 0.99 needs hundreds of steps before the moving statistics fit, and
# small audio sets (FSDD: ~140 steps an epoch) would validate with wrong ones.
BN_MOMENTUM = 0.9
# Each block halves both axes; below this many bands or frames another block has nothing left to pool.
MIN_SIDE_FOR_BLOCK = 4


def fit_length(waveforms, length: int):
    """Waveforms of any length → exactly `length` samples: padded with silence at the end, or cut."""
    padded = ops.pad(waveforms, [[0, 0], [0, length]])
    return layers.Reshape((length,), name="fit_length")(padded[:, :length])


def _augmentation(x, hp):
    """Training-only: a random shift in time (up to a share of the clip) and Gaussian noise on the normalised
    log-mel values (noise on the waveform would also fill the padding's silence, unlike at prediction)."""
    shift = hp.Choice("time_shift", [0.1, 0.0, 0.2], default=0.1)
    if shift:
        x = layers.RandomTranslation(0.0, shift, fill_mode="constant", name="time_shift")(x)
    noise = hp.Choice("noise", [0.1, 0.0, 0.3], default=0.1)
    return layers.GaussianNoise(noise, name="noise")(x) if noise else x


def _temporal_head(x, hp):
    """Summarises the CNN's features over time, keeping the bands apart (where in the spectrum a pattern lies,
    its pitch, tells sounds apart, so the bands are not pooled): an average over the frames (any sound
    anywhere in the clip), or a GRU that reads the frames in order (for sounds whose order matters)."""
    bands, channels = x.shape[1], x.shape[3]
    x = layers.Permute((2, 1, 3))(x)  # [batch, frames, bands, channels]
    x = layers.Reshape((-1, bands * channels))(x)
    if hp.Choice("temporal", ["average", "gru"], default="average") == "average":
        return layers.GlobalAveragePooling1D(name="average_over_time")(x)
    return layers.GRU(hp.Choice("units", [64, 32, 128], default=64))(x)


def build_model(hp, profile) -> keras.Model:
    """Waveform → fixed length → log-mel → per-band normalisation → (augmentation) → conv blocks →
    average or GRU over time → dropout → head."""
    spec = profile.audio_inputs
    inputs = keras.Input(shape=(None,), dtype="float32", name="waveform")
    x = log_mel(fit_length(inputs, spec.length), spec, name="mel_spectrogram")  # [batch, bands, frames]
    x = layers.Normalization(axis=1, mean=list(spec.mean), variance=[s * s for s in spec.std], name="normalise",
                             dtype="float32")(x)  # log-mel values in float32 (see log_mel), then the policy's
    x = layers.Reshape((spec.mel_bins, spec.frames, 1))(x)
    x = _augmentation(x, hp)
    filters = hp.Choice("filters", [16, 32, 64], default=16)
    for block in range(hp.Int("blocks", 2, 4, default=3)):
        x = layers.Conv2D(filters * 2**block, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = layers.Activation("relu")(x)
        if min(x.shape[1], x.shape[2]) >= MIN_SIDE_FOR_BLOCK:
            x = layers.MaxPooling2D(padding="same")(x)
    x = _temporal_head(x, hp)
    x = layers.Dropout(hp.Choice("dropout", [0.3, 0.0, 0.5], default=0.3))(x)
    return compile_model(keras.Model(inputs, output_head(x, profile), name="audio_cnn"), hp, profile)
