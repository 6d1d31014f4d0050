"""The audio modality: served as float32 mono waveforms [n, samples] in -1..1 at the training sample rate, of
any length (the model pads with silence or cuts inside); shown as a spectrogram thumbnail with duration and
loudness; predicted from .wav files or folders of them (resampled, padded or cut as in training).

`log_mel` is the front end the profile's statistics and the audio families share, so both see the same bands.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from keras import ops
from PIL import Image

from automl.errors import DataError
from automl.ingest import DataFolder, decode_clip, fit_waveform, is_audio_file
from automl.modalities.base import PREDICT_BATCH, Modality, instance_bytes
from automl.modalities.thumbnails import THUMBNAIL_SIDE, thumbnail

# Mel bands start above the rumble of handling noise and mains hum's lowest harmonics.
MIN_FREQUENCY = 20.0
# Mel power under this (-60 dB below a full-scale band) counts as silence: the log stays finite on padding.
LOG_FLOOR = 1e-6
# A sample above this magnitude (-80 dBFS) is sound, not the zeros of padding: where a clip's own duration ends.
SOUND_LEVEL = 1e-4


def log_mel(waveforms, spec, name: str | None = None):
    """Waveforms [batch, samples] → natural-log mel power [batch, bands, frames], with Keras's MelSpectrogram.

    Keras's own decibel scaling is left off: it clips at 80 dB below the largest value in the whole batch, so
    one clip's output would depend on the other clips it is batched with. The layer computes in float32 under
    any dtype policy: mel power reaches 1e5, past float16's range (--precision mixed on older GPUs).
    """
    mel = keras.layers.MelSpectrogram(
        fft_length=spec.fft_length, sequence_length=spec.frame_length, sequence_stride=spec.frame_step,
        sampling_rate=spec.sample_rate, num_mel_bins=spec.mel_bins, min_freq=MIN_FREQUENCY,
        max_freq=spec.sample_rate / 2, power_to_db=False, dtype="float32", name=name)(waveforms)
    return ops.log(ops.maximum(mel, LOG_FLOOR))


def clip_statistics(waveforms: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Each padded clip's own duration in seconds (up to its last sound) and loudness (RMS over that, dBFS)."""
    waveforms = np.asarray(waveforms, dtype=np.float64).reshape(len(waveforms), -1)
    sound = np.abs(waveforms) > SOUND_LEVEL
    ends = np.where(sound.any(axis=1), waveforms.shape[1] - np.argmax(sound[:, ::-1], axis=1), 0)
    energy = (waveforms ** 2).sum(axis=1) / np.maximum(ends, 1)
    return ends / sample_rate, 10 * np.log10(np.maximum(energy, 1e-12))


def spectrogram_thumbnail(waveform: np.ndarray, sample_rate: int) -> str:
    """A PNG data URI of a clip's log spectrogram up to its last sound (the padding left out): low frequencies at
    the bottom, 80 dB of range, stretched to a THUMBNAIL_SIDE × half landscape picture."""
    waveform = np.asarray(waveform, dtype=np.float32)
    end = max(int(round(clip_statistics(waveform[None], sample_rate)[0][0] * sample_rate)), sample_rate // 10)
    frame = max(16, round(0.025 * sample_rate))
    clip = np.pad(waveform[:end], (0, max(0, frame - end)))
    stft = tf.signal.stft(tf.constant(clip), frame, max(1, min(frame, len(clip) // THUMBNAIL_SIDE)), pad_end=True)
    decibels = 20 * np.log10(np.abs(stft.numpy()).T + 1e-6)
    pixels = (np.clip((decibels - decibels.max() + 80) / 80, 0, 1)[::-1] * 255).astype(np.uint8)
    return thumbnail(np.asarray(Image.fromarray(pixels).resize((THUMBNAIL_SIDE, THUMBNAIL_SIDE // 2))))


class AudioModality(Modality):
    def serving_signature(self, profile) -> list:
        return [tf.TensorSpec([None, None], tf.float32, name="waveform")]

    def metadata(self, profile) -> dict:
        spec = profile.audio_inputs
        return {"audio_inputs": {"sample_rate": spec.sample_rate, "length": spec.length,
                                 "seconds": round(spec.seconds, 6), "mel_bins": spec.mel_bins}}

    def example_input(self, profile) -> str:
        spec = profile.audio_inputs
        return (f"inputs = tf.zeros([1, {spec.length}], tf.float32)  # mono waveform in -1..1 at "
                f"{spec.sample_rate} Hz, any length (padded or cut to {spec.seconds:g} s inside)")

    def gallery_view(self, dataset, index: int, features, split: str = "test") -> dict:
        rate = dataset.audio.sample_rate
        seconds, loudness = clip_statistics(np.asarray(features)[None], rate)
        return {"image": spectrogram_thumbnail(features, rate),
                "fields": (("duration", f"{seconds[0]:.2f} s"), ("loudness", f"{loudness[0]:.1f} dBFS"),
                           ("peak", f"{np.abs(features).max():.3f}"))}

    def predict_inputs(self, source: Path, meta: dict):
        """Every .wav file under source (or the file itself), a batch at a time. In a folder, files that cannot
        be decoded are skipped (the frame's attrs["skipped"] lists them, as for images); a single file that
        cannot be is an error."""
        spec = meta["audio_inputs"]
        if source.is_dir():
            paths = [p for p in DataFolder(source).walk() if is_audio_file(p)]
            if not paths:
                raise DataError(f"No .wav files in '{source}'. Give a .wav file or a folder of them.")
        elif not is_audio_file(source):
            raise DataError(f"'{source}' is not a .wav file; this model (trained on audio) reads 16-bit PCM .wav "
                            "files or a folder of them.")
        else:
            paths = [source]
            decode_clip(source.read_bytes(), spec["sample_rate"], spec["length"], str(source))  # fail early
        frame = pd.DataFrame({"path": [str(p) for p in paths]})
        frame.attrs["skipped"] = []
        return _clip_batches(paths, spec, frame.attrs["skipped"]), frame

    def drift_features(self, batch, meta: dict) -> dict[str, dict]:
        """Each clip's duration (up to its last sound, capped at the model's length) and loudness (RMS, dBFS)."""
        seconds, loudness = clip_statistics(np.asarray(batch), meta["audio_inputs"]["sample_rate"])
        return {"duration (s)": {"kind": "numeric", "values": seconds},
                "loudness (dBFS)": {"kind": "numeric", "values": loudness}}

    def serve_inputs(self, instances: list, meta: dict) -> list:
        """Each instance a .wav file's bytes as {"b64": "<base64>"} (resampled to the training rate), or a mono
        waveform as a list of numbers in -1..1 at the training rate; either is padded or cut to the training
        length as `automl predict` does."""
        spec, clips = meta["audio_inputs"], []
        for index, instance in enumerate(instances):
            if isinstance(instance, (list, np.ndarray)):
                clips.append(fit_waveform(_waveform(instance, index, spec["sample_rate"]), spec["length"]))
                continue
            data = instance_bytes(instance, index, "a .wav file", "a waveform as a list of numbers")
            clips.append(decode_clip(data, spec["sample_rate"], spec["length"], f"instances[{index}]"))
        return [tf.constant(np.stack(clips[start:start + PREDICT_BATCH]))
                for start in range(0, len(clips), PREDICT_BATCH)]


def _waveform(values, index: int, sample_rate: int) -> np.ndarray:
    """A list of samples → float32 [samples], refused unless it is a non-empty list of numbers in -1..1."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"instances[{index}] must be a waveform: a list of numbers.") from None
    if array.ndim != 1 or not len(array):
        raise DataError(f"instances[{index}] must be a mono waveform, a flat non-empty list of samples at "
                        f"{sample_rate} Hz; got shape {list(array.shape)}.")
    if not np.isfinite(array).all() or np.abs(array).max() > 1.0:
        raise DataError(f"instances[{index}] has samples outside -1..1 (e.g. {array[~(np.abs(array) <= 1)][0]:g}): "
                        "send float samples (16-bit PCM values divided by 32768).")
    return array.astype(np.float32)


def _clip_batches(paths, spec: dict, skipped: list):
    for start in range(0, len(paths), PREDICT_BATCH):
        clips = []
        for path in paths[start:start + PREDICT_BATCH]:
            try:
                clips.append(decode_clip(Path(path).read_bytes(), spec["sample_rate"], spec["length"], str(path)))
            except (DataError, OSError):
                skipped.append(str(path))
        if clips:
            yield tf.constant(np.stack(clips))


AUDIO = AudioModality("audio", accepts="a .wav file or a folder of them")
