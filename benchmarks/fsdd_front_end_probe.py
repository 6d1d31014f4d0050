"""Which audio front end carries to voices never heard: FSDD, one speaker held out, a fixed recipe.

A probe, not a run of automl: the clips' log-mel spectrograms (peak-normalised, floored 40 dB under each clip's
peak, as the audio CNN's speaker defaults compute them) are computed once, then a CNN with the audio CNN's
layers (stretches and shift, masks and noise, three conv blocks, average over time) trains for a fixed number
of epochs with the learning rate cosine-annealed to zero, on the five other speakers, and is scored on the
held-out one. Variants: the CNN reads the log-mel bands (centred per band over the clip) or 20 cepstral
coefficients (normalised per clip); or MiniRocket + ridge on the cepstra. One seed per row: differences of a
few points are within the noise between seeds.

    python benchmarks/prepare_data.py
    python benchmarks/fsdd_front_end_probe.py --speaker george --features cepstra --learning-rate 3e-3
    python benchmarks/fsdd_front_end_probe.py --speaker nicolas --features minirocket
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras
import numpy as np
from keras import layers
from scipy.fft import dct
from scipy.io import wavfile

import run_benchmarks as bench  # same folder: the data directory

SAMPLE_RATE, LENGTH, MEL_BINS, FLOOR_DB, CEPSTRA = 8000, 6400, 40, 40.0, 20


def load(fsdd: Path):
    """(waveforms [n, LENGTH] padded or cut, digits, speakers, in FSDD's official test split) of every FSDD clip."""
    clips, digits, speakers, official_test = [], [], [], []
    for path in sorted(fsdd.glob("*/*/*.wav")):
        _, wave = wavfile.read(path)
        wave = wave.astype(np.float32) / 32768.0
        clips.append(np.pad(wave, (0, max(0, LENGTH - len(wave))))[:LENGTH])
        digit, speaker = path.stem.split("_")[:2]
        digits.append(int(digit))
        speakers.append(speaker)
        official_test.append(path.parts[-3] == "test")
    return np.stack(clips), np.array(digits), np.array(speakers), np.array(official_test)


def floored_log_mel(clips: np.ndarray) -> np.ndarray:
    peaks = np.maximum(np.abs(clips).max(axis=1, keepdims=True), 1e-4)
    mel = layers.MelSpectrogram(fft_length=256, sequence_length=200, sequence_stride=80, sampling_rate=SAMPLE_RATE,
                                num_mel_bins=MEL_BINS, min_freq=20.0, max_freq=SAMPLE_RATE / 2,
                                power_to_db=False)(clips / peaks)
    log_mel = np.log(np.maximum(np.asarray(mel), 1e-6))  # [n, bands, frames]
    return np.maximum(log_mel, log_mel.max(axis=(1, 2), keepdims=True) - FLOOR_DB * np.log(10) / 10)


def per_clip_cepstra(log_mel: np.ndarray) -> np.ndarray:
    c = dct(log_mel, type=2, norm="ortho", axis=1)[:, :CEPSTRA]
    return (c - c.mean(axis=2, keepdims=True)) / (c.std(axis=2, keepdims=True) + 1e-3)


def cnn(features: str, frames: int, train_log_mel: np.ndarray) -> keras.Model:
    """The audio CNN's speaker-default layers on precomputed log-mel [bands, frames]."""
    inputs = keras.Input((MEL_BINS, frames))
    x = layers.Reshape((MEL_BINS, frames, 1))(inputs)
    x = layers.RandomZoom((-0.1, 0.1), (-0.1, 0.1), fill_mode="nearest")(x)
    x = layers.RandomTranslation(0.0, 0.1, fill_mode="nearest")(x)
    x = layers.Reshape((MEL_BINS, frames))(x)
    if features == "cepstra":
        matrix = dct(np.eye(MEL_BINS), type=2, norm="ortho", axis=0)[:CEPSTRA].T.astype("float32")  # [bands, k]
        x = layers.Permute((2, 1))(x)
        x = layers.Dense(CEPSTRA, use_bias=False, trainable=False,
                         kernel_initializer=keras.initializers.Constant(matrix))(x)
        x = layers.Permute((2, 1))(x)
        x = layers.Lambda(lambda t: (t - keras.ops.mean(t, axis=2, keepdims=True))
                          / (keras.ops.std(t, axis=2, keepdims=True) + 1e-3), output_shape=lambda s: s)(x)
        bands = CEPSTRA
    else:
        mean, std = train_log_mel.mean(axis=(0, 2)), train_log_mel.std(axis=(0, 2))
        x = layers.Normalization(axis=1, mean=list(mean), variance=list(std ** 2))(x)
        x = layers.Lambda(lambda t: t - keras.ops.mean(t, axis=2, keepdims=True), output_shape=lambda s: s)(x)
        bands = MEL_BINS
    x = layers.Reshape((bands, frames, 1))(x)
    x = layers.Dropout(0.1, noise_shape=(None, bands, 1, 1))(x)
    x = layers.Dropout(0.1, noise_shape=(None, 1, frames, 1))(x)
    x = layers.GaussianNoise(0.1)(x)
    for block in range(3):
        x = layers.Conv2D(16 * 2 ** block, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.Activation("relu")(x)
        if min(x.shape[1], x.shape[2]) >= 4:
            x = layers.MaxPooling2D(padding="same")(x)
    x = layers.Permute((2, 1, 3))(x)
    x = layers.Reshape((-1, x.shape[2] * x.shape[3]))(x)
    x = layers.Dropout(0.3)(layers.GlobalAveragePooling1D()(x))
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=bench.DEFAULT_DATA_DIR)
    parser.add_argument("--speaker", default="george")
    parser.add_argument("--features", choices=("log_mel", "cepstra", "minirocket"), default="cepstra")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    args = parser.parse_args(argv)
    clips, digits, speakers, _ = load(args.data_dir / "fsdd")
    log_mel = floored_log_mel(clips)
    train = speakers != args.speaker
    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    if args.features == "minirocket":
        from aeon.transformations.collection.convolution_based import MiniRocket
        from sklearn.linear_model import RidgeClassifierCV
        from sklearn.preprocessing import StandardScaler

        series = per_clip_cepstra(log_mel)
        rocket = MiniRocket(random_state=0).fit(series[train])
        features = np.asarray(rocket.transform(series))
        scaler = StandardScaler().fit(features[train])
        ridge = RidgeClassifierCV(alphas=np.logspace(-1, 4, 10)).fit(scaler.transform(features[train]), digits[train])
        accuracy = float(np.mean(ridge.predict(scaler.transform(features[~train])) == digits[~train]))
    else:
        model = cnn(args.features, log_mel.shape[2], log_mel[train])
        steps = args.epochs * -(-int(train.sum()) // 32)
        model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(args.learning_rate, steps)),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(log_mel[train], digits[train], batch_size=32, epochs=args.epochs, verbose=0)
        accuracy = float(np.mean(model.predict(log_mel[~train], verbose=0).argmax(axis=1) == digits[~train]))
    print(f"| {args.speaker} | {args.features} | {args.learning_rate:g} | {args.epochs} | {accuracy:.2%} | "
          f"{time.perf_counter() - start:.0f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
