"""Audio CNN family: raw waveforms in, a log-mel spectrogram computed inside the model (Keras's
MelSpectrogram), normalised per band with the training statistics, then a small 2-D CNN over bands × time.

A log-mel spectrogram is the standard input of audio classifiers (keyword spotting, AudioSet's PANNs):
it spaces frequencies as hearing does, and a CNN learns its time-frequency patterns wherever they occur.
Everything is standard Keras layers and ops, so the SavedModel takes waveforms of any length and reloads
with plain TensorFlow.

Recordings of a few people teach a model their voices and microphones as much as their words. The front end
can remove what differs between recordings rather than between sounds — each clip's loudness and noise floor,
each band's average level over the clip (the microphone's and the voice's spectral tilt), or the voice's pitch
harmonics (the CNN can read cepstra, the spectral envelope, in place of the bands) — and training can
stretch pitch and tempo and mask bands and frames (SpecAugment), as a new speaker would sound. All are searched;
they are the defaults where the test is about voices training never heard (SPEAKER_DEFAULTS).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops
from scipy.fft import dct

from automl.families.common import compile_model, output_head
from automl.modalities import log_mel

# As in the image CNN: Keras's default 0.99 needs hundreds of steps before the moving statistics fit, and
# small audio sets (FSDD: ~140 steps an epoch) would validate with wrong ones.
BN_MOMENTUM = 0.9
# Each block halves both axes; below this many bands or frames another block has nothing left to pool.
MIN_SIDE_FOR_BLOCK = 4
# A waveform whose loudest sample is under this is silence (all-zero padding): it is left as it is rather
# than amplified into noise.
PEAK_FLOOR = 1e-4


# The front end's and augmentation's defaults (all searched). Where validation and test hold out whole speakers
# (AudioInputs.unheard_speakers), the ones that carried to voices never heard in the probes on FSDD (george held
# out, five speakers trained, 30 epochs: 55-61 % → 87 %): each clip's peak and noise floor, each band centred
# over the clip, pitch and tempo stretched by up to 10 %, 10 % of bands and frames masked. Elsewhere, the front
# end as it was: on FSDD's official split (every speaker in training) the stretches and masks cost 4 points at
# the epochs a few minutes allow, and "band" centring turns a steady tone that fills the clip into silence.
#
# Where speakers are held out, the CNN also reads cepstra rather than the log-mel bands, at a higher learning rate:
# in probes (benchmarks/RESULTS.md round 18; 30 epochs, cosine decay, one seed) cepstra at 3e-3 reached george
# 91 %, jackson 92 %, yweweler 88 %, nicolas 77 %, against the log-mel bands' george 80 % at 1e-3 and 87 % at 3e-3.
SPEAKER_DEFAULTS = {"loudness": "peak", "dynamic_range": 40, "centre": "band", "pitch_stretch": 0.1,
                    "tempo_stretch": 0.1, "spec_mask": 0.1, "features": "cepstra", "learning_rate": 3e-3}
PLAIN_DEFAULTS = {"loudness": "none", "dynamic_range": 0, "centre": "none", "pitch_stretch": 0.0,
                  "tempo_stretch": 0.0, "spec_mask": 0.0, "features": "log_mel", "learning_rate": 1e-3}
# Cepstral coefficients kept: the spectral envelope (the vocal tract's formants, which tell words apart), without
# the fine structure of the voice's pitch harmonics (which tells speakers apart). 20 beat 13 on george (85 % vs 79 %).
CEPSTRA = 20
# Keeps the per-clip variance normalisation finite on a clip whose coefficient never changes (silence).
CEPSTRA_EPSILON = 1e-3


def defaults_for(spec) -> dict:
    return SPEAKER_DEFAULTS if getattr(spec, "unheard_speakers", False) else PLAIN_DEFAULTS


def fit_length(waveforms, length: int):
    """Waveforms of any length → exactly `length` samples: padded with silence at the end, or cut."""
    padded = ops.pad(waveforms, [[0, 0], [0, length]])
    return layers.Reshape((length,), name="fit_length")(padded[:, :length])


def peak_normalise(waveforms):
    """Each clip scaled so that its loudest sample is ±1: how far the speaker sat from the microphone, and the
    recording's gain, no longer change the log-mel (a clip and the same clip ×0.1 look the same)."""
    peak = ops.max(ops.abs(waveforms), axis=1, keepdims=True)
    return waveforms / ops.maximum(peak, PEAK_FLOOR)


def floor_below_peak(x, decibels: float):
    """Log-mel values [batch, bands, frames] raised to `decibels` under the clip's loudest value: the quiet
    parts (each room's and microphone's own noise floor) look alike in every recording."""
    return ops.maximum(x, ops.max(x, axis=(1, 2), keepdims=True) - decibels * math.log(10.0) / 10.0)


def centre(x, how: str):
    """Per-clip centring of the normalised log-mel [batch, bands, frames]: "band" subtracts each band's mean over
    the clip's frames (cepstral mean normalisation: removes the channel's and the voice's spectral tilt), "clip"
    one mean over the whole clip (its level only), "none" leaves the training-set normalisation alone.

    "band" is the better default for speech by unheard speakers (FSDD's george: 75 % against 67 % for "clip"),
    but it also removes any steady sound (a tone that fills the clip becomes silence), so it is searched rather
    than the default until the profile can say the data is speech by several speakers."""
    if how == "band":
        return x - ops.mean(x, axis=2, keepdims=True)
    if how == "clip":
        return x - ops.mean(x, axis=(1, 2), keepdims=True)
    return x


def _stretch_and_shift(x, hp, defaults: dict):
    """Training-only layers on the spectrogram [batch, bands, frames, 1], identity at prediction: stretches in
    pitch (along bands, as a longer or shorter vocal tract moves the formants) and tempo (along frames), and a
    shift in time."""
    pitch = hp.Choice("pitch_stretch", [0.0, 0.1, 0.2], default=defaults["pitch_stretch"])
    tempo = hp.Choice("tempo_stretch", [0.0, 0.1, 0.2], default=defaults["tempo_stretch"])
    if pitch or tempo:
        x = layers.RandomZoom((-pitch, pitch), (-tempo, tempo), fill_mode="constant", name="stretch")(x)
    shift = hp.Choice("time_shift", [0.1, 0.0, 0.2], default=0.1)
    if shift:
        x = layers.RandomTranslation(0.0, shift, fill_mode="constant", name="time_shift")(x)
    return x


def _masks_and_noise(x, hp, bands: int, frames: int, defaults: dict):
    """Training-only layers on the CNN's input [batch, bands, frames, 1], identity at prediction: whole bands and
    frames dropped (SpecAugment's masks) and Gaussian noise on the normalised values (noise on the waveform would
    also fill the padding's silence, unlike at prediction)."""
    mask = hp.Choice("spec_mask", [0.0, 0.1, 0.2], default=defaults["spec_mask"])
    if mask:
        x = layers.Dropout(mask, noise_shape=(None, bands, 1, 1), name="band_mask")(x)
        x = layers.Dropout(mask, noise_shape=(None, 1, frames, 1), name="frame_mask")(x)
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


def cepstra(x, count: int = CEPSTRA):
    """Log-mel [batch, bands, frames, 1] → its first `count` cepstral coefficients (a DCT-II over the bands, as in
    MFCCs; a fixed, untrained Dense layer so the model saves and reloads as plain Keras), each normalised over the
    clip's frames to mean 0 and spread 1 (cepstral mean and variance normalisation: what stays the same over the
    clip is the channel and the voice, not the word) → [batch, count, frames, 1]."""
    bands, frames = x.shape[1], x.shape[2]
    transform = dct(np.eye(bands), type=2, norm="ortho", axis=0)[:count].T  # [bands, count]: bands → coefficients
    x = layers.Permute((2, 1))(layers.Reshape((bands, frames))(x))  # [batch, frames, bands]
    x = layers.Dense(count, use_bias=False, trainable=False, dtype="float32", name="cepstra",
                     kernel_initializer=keras.initializers.Constant(transform.astype("float32")))(x)
    x = (x - ops.mean(x, axis=1, keepdims=True)) / (ops.std(x, axis=1, keepdims=True) + CEPSTRA_EPSILON)
    return layers.Reshape((count, frames, 1))(layers.Permute((2, 1))(x))


def front_end(inputs, hp, spec, defaults: dict | None = None):
    """Waveform → fixed length → (peak-normalised) → log-mel → (floored under the clip's peak) → per-band
    normalisation → per-clip centring → [batch, bands, frames, 1]. Where the model reads cepstra, the log-mel
    stays as it is after the floor (the cepstra are normalised per clip instead: see cepstra)."""
    defaults = defaults or defaults_for(spec)
    x = fit_length(inputs, spec.length)
    if hp.Choice("loudness", ["peak", "none"], default=defaults["loudness"]) == "peak":
        x = peak_normalise(x)
    x = log_mel(x, spec, name="mel_spectrogram")  # [batch, bands, frames]
    decibels = hp.Choice("dynamic_range", [40, 0, 60], default=defaults["dynamic_range"])
    if decibels:
        x = floor_below_peak(x, decibels)
    if hp.Choice("features", ["log_mel", "cepstra"], default=defaults["features"]) == "cepstra":
        return layers.Reshape((spec.mel_bins, spec.frames, 1))(x)
    x = layers.Normalization(axis=1, mean=list(spec.mean), variance=[s * s for s in spec.std], name="normalise",
                             dtype="float32")(x)  # log-mel values in float32 (see log_mel), then the policy's
    x = centre(x, hp.Choice("centre", ["clip", "band", "none"], default=defaults["centre"]))
    return layers.Reshape((spec.mel_bins, spec.frames, 1))(x)


def build_model(hp, profile) -> keras.Model:
    """Front end → (stretches, training only) → (cepstra) → (masks and noise, training only) → conv blocks →
    average or GRU over time → dropout → head."""
    spec = profile.audio_inputs
    inputs = keras.Input(shape=(None,), dtype="float32", name="waveform")
    defaults = defaults_for(spec)
    x = front_end(inputs, hp, spec, defaults)
    x = _stretch_and_shift(x, hp, defaults)  # on the bands, before any DCT: a stretch of the spectrum, not of cepstra
    if hp.get("features") == "cepstra":
        x = cepstra(x)
    x = _masks_and_noise(x, hp, x.shape[1], spec.frames, defaults)
    filters = hp.Choice("filters", [16, 32, 64], default=16)
    for block in range(hp.Int("blocks", 2, 4, default=3)):
        x = layers.Conv2D(filters * 2**block, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = layers.Activation("relu")(x)
        if min(x.shape[1], x.shape[2]) >= MIN_SIDE_FOR_BLOCK:
            x = layers.MaxPooling2D(padding="same")(x)
    x = _temporal_head(x, hp)
    x = layers.Dropout(hp.Choice("dropout", [0.3, 0.0, 0.5], default=0.3))(x)
    return compile_model(keras.Model(inputs, output_head(x, profile), name="audio_cnn"), hp, profile,
                         defaults["learning_rate"])
