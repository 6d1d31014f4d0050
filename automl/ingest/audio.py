"""Ingest a folder of class sub-folders of .wav files into streamed tf.data splits of waveforms.

Every file is decoded once up front (tf.audio.decode_wav: 16-bit PCM) to learn its rate, channels, length
and level and to catch files TensorFlow cannot read, which are skipped and listed. The streams then decode
again on the fly and yield float32 mono waveforms [length] in -1..1, all at one sample rate (the most
common one; others are resampled) and one length (short clips padded with zeros, long ones cut). When the file
names (or --group-file) say who speaks in each clip, the splits carved here keep each speaker on one side
(ingest.speakers).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from scipy.signal import resample_poly

from automl.errors import DataError
from automl.ingest.dataset import AudioFacts, Dataset, SkippedFile, Split, fingerprint_of, inspect_files
from automl.ingest.groups import groups_for_files
from automl.ingest.images import SPLIT_FOLDERS, is_image_file
from automl.ingest.speakers import speakers_of
from automl.ingest.splits import assign_folder_splits, check_class_sizes, describe_split
from automl.ingest.text import is_text_file
from automl.ingest.walk import DataFolder, outside_hint

AUDIO_EXTENSIONS = {".wav"}
# A clip whose loudest sample stays under this (-60 dBFS) holds no audible sound: a failed recording.
SILENT_PEAK = 1e-3
# Samples this close to full scale (±1) are at the converter's limit. A loud, clean recording touches it on
# a few crests; clipping flattens whole crests, so 1 % of a clip's samples there means distorted audio.
FULL_SCALE = 0.999
CLIPPED_SHARE = 0.01
# The clip length the model sees: this percentile of the training durations, so that a few long outliers
# do not make every clip mostly padding, rounded up to LENGTH_STEP_SECONDS and capped at MAX_CLIP_SECONDS
# (a CNN on a CPU pays for every second of every clip, every epoch).
LENGTH_PERCENTILE = 95
LENGTH_STEP_SECONDS = 0.1
MAX_CLIP_SECONDS = 10.0
HOW_TO_CONVERT = "convert it to 16-bit PCM, e.g. `ffmpeg -i IN -c:a pcm_s16le OUT.wav`"


@dataclass(frozen=True)
class ClipInfo:
    """What one readable file holds: its content hash, sample rate, channels, samples a channel and level."""

    sha256: str
    rate: int
    channels: int
    samples: int
    silent: bool
    clipped: bool


def is_audio_file(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def looks_like_audio_folder(root: Path, follow_symlinks: bool = False) -> bool:
    """Told apart from image and text folders by extensions: more .wav files than either."""
    files = DataFolder(root, follow_symlinks).walk()
    audio = sum(map(is_audio_file, files))
    return audio > 0 and audio > max(sum(map(is_image_file, files)), sum(map(is_text_file, files)))


def wav_problem(error: Exception) -> str:
    """TensorFlow's decode_wav error as a reason a user can act on (its op and function names removed)."""
    message = re.sub(r"\{\{[^}]*\}\}|\[Op:\w+\]", "", str(getattr(error, "message", error))).strip()
    if "16-bit" in message:
        return f"not 16-bit PCM ({message}); {HOW_TO_CONVERT}"
    return f"not a WAV file TensorFlow can decode ({message[:120]}); {HOW_TO_CONVERT}"


def _inspect(path: Path):
    """Returns a ClipInfo, or an error string for a file that cannot be used."""
    try:
        data = path.read_bytes()
        audio, rate = tf.audio.decode_wav(data)
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    except tf.errors.InvalidArgumentError as error:
        return wav_problem(error)
    samples = audio.numpy()
    if samples.size == 0:
        return "holds no audio samples"
    magnitude = np.abs(samples)
    return ClipInfo(hashlib.sha256(data).hexdigest(), int(rate), samples.shape[1], samples.shape[0],
                    silent=bool(magnitude.max() < SILENT_PEAK),
                    clipped=bool(np.mean(magnitude >= FULL_SCALE) >= CLIPPED_SHARE))


def resample(waveform: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """A mono float waveform from one sample rate to another (polyphase filtering), kept in -1..1."""
    if from_rate == to_rate:
        return waveform.astype(np.float32)
    divisor = math.gcd(int(from_rate), int(to_rate))
    resampled = resample_poly(waveform.astype(np.float64), int(to_rate) // divisor, int(from_rate) // divisor)
    return np.clip(resampled, -1.0, 1.0).astype(np.float32)


def fit_waveform(waveform: np.ndarray, length: int) -> np.ndarray:
    """A waveform padded with zeros (silence) or cut to `length` samples."""
    waveform = np.asarray(waveform, dtype=np.float32)[:length]
    return np.pad(waveform, (0, length - len(waveform)))


def decode_clip(data: bytes, rate: int, length: int, name: str) -> np.ndarray:
    """One .wav file's bytes → float32 mono [length] at `rate`, as training read its clips.

    Raises:
        DataError: The bytes are not a 16-bit PCM WAV file.
    """
    try:
        audio, file_rate = tf.audio.decode_wav(data)
    except tf.errors.InvalidArgumentError as error:
        raise DataError(f"'{name}' cannot be read as audio: {wav_problem(error)}.") from None
    if audio.shape[0] == 0:
        raise DataError(f"'{name}' holds no audio samples. Give a .wav file with sound in it.")
    mono = audio.numpy().mean(axis=1)
    return fit_waveform(resample(mono, int(file_rate), rate), length)


def _stream(paths, labels, rate: int, length: int) -> tf.data.Dataset:
    def resample_np(waveform, file_rate):
        return resample(waveform, int(file_rate), rate)

    def load(path, label):
        audio, file_rate = tf.audio.decode_wav(tf.io.read_file(path))
        mono = tf.reduce_mean(audio, axis=1)
        mono = tf.cond(tf.equal(file_rate, rate), lambda: mono,
                       lambda: tf.reshape(tf.numpy_function(resample_np, [mono, file_rate], tf.float32,
                                                            stateful=False), [-1]))
        fitted = tf.pad(mono, [[0, tf.maximum(0, length - tf.shape(mono)[0])]])[:length]
        fitted.set_shape([length])
        return fitted, label

    data = tf.data.Dataset.from_tensor_slices(([str(p) for p in paths], labels))
    return data.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _class_folders(tree: DataFolder, root: Path) -> list[Path]:
    return [p for p in tree.subfolders(root) if not p.name.startswith(".")]


def _scan(tree: DataFolder, root: Path, skipped: list[SkippedFile]) -> dict[str, list[Path]]:
    """Maps class name to its .wav files; other files are listed as skipped."""
    classes = {}
    for folder in _class_folders(tree, root):
        files = []
        for path in (p for p in tree.walk(folder) if not p.name.startswith(".")):
            if is_audio_file(path):
                files.append(path)
            else:
                skipped.append(SkippedFile(str(path), f"not a .wav file ({path.suffix or 'no extension'})"))
        classes[folder.name] = files
    return classes


def choose_length(durations: np.ndarray) -> tuple[float, str]:
    """The clip length in seconds for these (training) durations, and how it was chosen, in words."""
    percentile = float(np.percentile(durations, LENGTH_PERCENTILE))
    # round() first: a duration computed in floats can land a hair above a step (3 × 0.1 s is
    # 0.30000000000000004 s, and that / 0.1 is 3.0000000000000004), which ceil() would push a whole step up.
    seconds = math.ceil(round(percentile / LENGTH_STEP_SECONDS, 6)) * LENGTH_STEP_SECONDS
    seconds = min(max(seconds, LENGTH_STEP_SECONDS), MAX_CLIP_SECONDS)
    how = (f"the {LENGTH_PERCENTILE}th percentile of the training durations ({percentile:.2f} s), rounded up to "
           f"{LENGTH_STEP_SECONDS:g} s" + (f" and capped at {MAX_CLIP_SECONDS:g} s" if seconds >= MAX_CLIP_SECONDS
                                            else ""))
    return round(seconds, 6), how


def load_audio_folder(root: Path, config) -> Dataset:
    """Reads class sub-folders of .wav files, honouring train/val/test folders when present.

    Raises:
        DataError: No .wav files, a single class, classes too small, or no readable clip.
    """
    skipped: list[SkippedFile] = []
    tree = DataFolder.of(root, config)
    layout = {SPLIT_FOLDERS[f.name.lower()]: f for f in reversed(_class_folders(tree, root))
              if f.name.lower() in SPLIT_FOLDERS}
    layout = layout if "train" in layout else {}
    groups = ({name: _scan(tree, folder, skipped) for name, folder in layout.items()}
              or {"all": _scan(tree, root, skipped)})
    skipped = tree.skipped + skipped  # links not followed first, then files that are not audio
    class_names = sorted({name for classes in groups.values() for name in classes})
    files = [(group, path, class_names.index(name))
             for group, classes in groups.items() for name, paths in classes.items() for path in paths]
    if not files:
        raise DataError(f"No .wav files found in class sub-folders of '{root}'. Expected {root}/yes/1.wav, "
                        f"{root}/no/2.wav (optionally under train/ and test/)." + outside_hint(skipped))
    good = inspect_files(files, _inspect, 1, skipped)
    if not good:
        raise DataError(f"None of the {len(files)} .wav files in '{root}' could be read (e.g. {skipped[-1].path}: "
                        f"{skipped[-1].reason}).")
    labels = np.array([label for _, _, label, _ in good], dtype=np.int64)
    try:
        check_class_sizes(labels, class_names, f"'{root}'", unit="readable .wav files")
    except DataError as error:
        raise DataError(str(error) + outside_hint(skipped)) from None
    paths = [path for _, path, _, _ in good]
    speakers = speakers_of(paths, labels, class_names, root, config)
    index_of, how = assign_folder_splits(np.array([group for group, _, _, _ in good]), labels, config, ".wav files",
                                         speakers)
    infos = [info for _, _, _, info in good]
    facts = dataclasses.replace(_facts(infos, paths, index_of["train"]),
                                unheard_speakers=_held_out_whole(speakers, index_of["train"], index_of["val"]))
    splits = {name: Split(_stream([good[i][1] for i in idx], labels[idx], facts.sample_rate, facts.length),
                          labels[idx], tuple(infos[i].sha256 for i in idx))
              for name, idx in index_of.items()}
    return Dataset(
        name=root.resolve().name, source=f"Audio folder '{root}' ({len(good)} .wav clips, {len(class_names)} classes)",
        modality="audio", task="classification", class_names=tuple(class_names),
        train=splits["train"], val=splits["val"], test=splits["test"],
        split_note=describe_split({k: v.size for k, v in splits.items()}, how), fingerprint=fingerprint_of(splits),
        audio=facts, skipped=tuple(skipped), groups=groups_for_files([paths[i] for i in index_of["test"]], root, config))


def _held_out_whole(speakers, train: np.ndarray, val: np.ndarray) -> bool:
    """Whether validation's speakers are all absent from train (the split kept speakers whole)."""
    if speakers is None or not len(val):
        return False
    return not set(speakers.values[val].tolist()) & set(speakers.values[train].tolist())


def _facts(infos: list[ClipInfo], paths: list[Path], train: np.ndarray) -> AudioFacts:
    """The rate and length every clip is brought to (chosen from the training clips), and what was seen."""
    rates = np.array([info.rate for info in infos])
    durations = np.array([info.samples / info.rate for info in infos])
    rate = Counter(rates[train].tolist()).most_common(1)[0][0]
    seconds, how = choose_length(durations[train])
    length = max(1, round(seconds * rate))
    return AudioFacts(durations=durations, rates=rates, channels=np.array([info.channels for info in infos]),
                      sample_rate=int(rate), length=int(length), length_rule=how,
                      silent=tuple(str(p) for p, info in zip(paths, infos) if info.silent),
                      clipped=tuple(str(p) for p, info in zip(paths, infos) if info.clipped),
                      cut=int(np.sum(durations * rate > length + 0.5)))
