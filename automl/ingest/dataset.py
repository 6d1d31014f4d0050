"""The ingest stage's output: a Dataset of three streamed splits plus the facts the profiler needs."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import tensorflow as tf

if TYPE_CHECKING:
    from automl.ingest.forecast import ForecastFacts

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """One split: an unbatched tf.data stream of (features, label) plus in-memory labels and hashes.

    Labels and content hashes are small (one value per example), so they stay in memory for
    counting classes and finding duplicates; the features themselves are streamed.
    """

    data: tf.data.Dataset
    labels: np.ndarray
    hashes: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


def inspect_files(entries: list[tuple], inspect, path_at: int, skipped: list[SkippedFile]) -> list[tuple]:
    """Each entry with `inspect(its path)` appended, four files read at a time; an entry whose file cannot be
    used (inspect returned the reason, a string) goes to `skipped` instead. The path is entry[path_at]."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(inspect, [entry[path_at] for entry in entries]))
    good = []
    for entry, result in zip(entries, results):
        if isinstance(result, str):
            skipped.append(SkippedFile(str(entry[path_at]), result))
        else:
            good.append((*entry, result))
    return good


@dataclass(frozen=True)
class ImageFacts:
    """Per-example image sizes and colour modes seen on disk (train, val and test together)."""

    heights: np.ndarray
    widths: np.ndarray
    modes: tuple[str, ...]
    input_shape: tuple[int, int, int]  # (height, width, channels) the streams yield
    crop: bool = False  # images are centre-cropped to the input aspect (else squashed to it)


@dataclass(frozen=True)
class TextFacts:
    """How text was read: words per example (train, val and test together) and decoding.

    Attributes:
        words: Whitespace-separated words per example.
        undecodable: Examples holding bytes that are not UTF-8 (replaced by U+FFFD).
        column: The text column of a table; None for a folder of .txt files.
    """

    words: np.ndarray
    undecodable: int
    column: str | None = None


@dataclass(frozen=True)
class GroupFacts:
    """--group-column: its name and the group of every test example, in test split order."""

    column: str
    test_values: tuple[str, ...]


@dataclass(frozen=True)
class TableFacts:
    """The raw feature frames of the splits (target removed), for column profiling."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    keys: dict[str, str]  # column name -> identifier-safe model input key


@dataclass(frozen=True)
class SeriesFacts:
    """How series were read (train, val and test together).

    Attributes:
        lengths: Each series' own length in time steps, before padding or cutting.
        channels: Values per time step (1 for univariate series).
        length: The length every series is padded (with NaN) or cut to; the model's input length.
        missing: Missing or non-finite values inside the series' own lengths (kept as NaN).
        truncated: Series longer than `length`, cut to their first `length` steps.
        columns: The table columns read as time steps, in order (None for .ts files).
    """

    lengths: np.ndarray
    channels: int
    length: int
    missing: int = 0
    truncated: int = 0
    columns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AudioFacts:
    """How clips were read (train, val and test together).

    Attributes:
        durations: Each clip's own duration in seconds, on disk.
        rates: Each clip's sample rate on disk (Hz).
        channels: Each clip's channels on disk (they are averaged to mono).
        sample_rate: The rate every clip is resampled to: the most common training rate.
        length: Samples every clip is padded (with silence) or cut to: the model's input length.
        length_rule: How the length was chosen, in words.
        silent: Clips with no audible sound (peak under -60 dBFS).
        clipped: Clips with many samples at full scale (distorted).
        cut: Clips longer than `length`, cut to their first `length` samples.
        unheard_speakers: Validation holds out whole speakers, as the test split does (ingest.speakers): the
            model must carry to voices training never heard.
    """

    durations: np.ndarray
    rates: np.ndarray
    channels: np.ndarray
    sample_rate: int
    length: int
    length_rule: str = ""
    silent: tuple[str, ...] = ()
    clipped: tuple[str, ...] = ()
    cut: int = 0
    unheard_speakers: bool = False

    @property
    def resampled(self) -> int:
        return int(np.sum(self.rates != self.sample_rate))


@dataclass(frozen=True)
class Dataset:
    """What ingest hands to the rest of the pipeline.

    Attributes:
        name: Short name for the run directory and report title.
        source: One sentence on what was read and how.
        modality: "image", "table", "text", "series" or "audio".
        task: "classification", "regression" or "forecast".
        class_names: Class names in label order (empty for regression).
        train, val, test: The splits.
        split_note: How the splits were made (honoured folders or a seeded stratified split).
        fingerprint: Hash of the content and labels, to tell changed data apart.
        target: Target column of a table.
        images: Image facts (image modality only).
        table: Table frames (table modality only).
        text: Text facts (text modality only).
        series: Series facts (series modality only).
        audio: Audio facts (audio modality only).
        forecast: The regular series, its windows and splits (task "forecast" only).
        skipped: Files that could not be read and were left out.
        notes: Announcements made while reading (e.g. a guessed target column).
        validation_given: The validation split is the user's own, not carved from train by us.
    """

    name: str
    source: str
    modality: str
    task: str
    class_names: tuple[str, ...]
    train: Split
    val: Split
    test: Split
    split_note: str
    fingerprint: str
    target: str | None = None
    images: ImageFacts | None = None
    table: TableFacts | None = None
    text: TextFacts | None = None
    series: SeriesFacts | None = None
    audio: AudioFacts | None = None
    forecast: ForecastFacts | None = None  # forecasting only (automl.ingest.forecast)
    skipped: tuple[SkippedFile, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    validation_given: bool = False  # the user gave the validation split (else it was carved from train)
    groups: GroupFacts | None = None  # --group-column: the test examples' groups

    def splits(self) -> dict[str, Split]:
        return {"train": self.train, "val": self.val, "test": self.test}

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def fingerprint_of(splits: dict[str, Split]) -> str:
    """A short hash over every example's content hash and label, split by split."""
    digest = hashlib.sha256()
    for name in SPLITS:
        digest.update(name.encode())
        for content, label in zip(splits[name].hashes, splits[name].labels):
            digest.update(f"{content}:{label};".encode())
    return digest.hexdigest()[:16]
