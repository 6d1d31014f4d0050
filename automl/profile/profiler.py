"""Profile stage: facts about a Dataset and guardrails (Passed / Done / Alerted, each with a sentence)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from automl.profile.columns import ColumnInput, ColumnProfile, profile_columns
from automl.errors import DataError
from automl.ingest import SPLITS, Dataset, ForecastInputs, SkippedFile
from automl.profile.forecast import forecast_facts
from automl.profile.series import SeriesInputs, series_facts
from automl.profile.text import TextInputs, text_facts

# Above this ratio of largest to smallest class, an unweighted loss mostly learns the big class.
IMBALANCE_RATIO_FOR_WEIGHTS = 3.0
# Below this many test examples one error moves accuracy by more than 2 points.
SMALL_TEST_SPLIT = 50
PASSED, DONE, ALERTED = "Passed", "Done", "Alerted"


@dataclass(frozen=True)
class Guardrail:
    name: str
    status: str  # Passed | Done | Alerted
    message: str


@dataclass(frozen=True)
class ImageInputs:
    height: int
    width: int
    channels: int


@dataclass(frozen=True)
class Profile:
    """Facts and guardrails, plus what the model's input layers are built from.

    Attributes:
        facts: (label, value) pairs for people, in display order.
        class_counts: Examples per class, per split (classification only).
        class_weight: Class weights to train with, or None when classes are balanced enough.
        image_inputs: Model input shape (images only).
        column_inputs: Kept columns and their preprocessing statistics (tables only).
        columns: Every column's profile, kept or dropped (tables only).
        text_inputs: Vocabularies and sequence length (text only).
        series_inputs: Padded length, channels and per-channel statistics (series only).
        forecast_inputs: Lookback, horizon, columns, season and scales (forecasting only).
        target_mean, target_std: Training target statistics (regression only).
    """

    name: str
    modality: str
    task: str
    class_names: tuple[str, ...]
    split_sizes: dict[str, int]
    class_counts: dict[str, tuple[int, ...]]
    imbalance_ratio: float
    class_weight: dict[int, float] | None
    facts: tuple[tuple[str, str], ...]
    guardrails: tuple[Guardrail, ...]
    skipped: tuple[SkippedFile, ...] = ()
    image_inputs: ImageInputs | None = None
    column_inputs: tuple[ColumnInput, ...] = ()
    columns: tuple[ColumnProfile, ...] = ()
    text_inputs: TextInputs | None = None
    series_inputs: SeriesInputs | None = None
    forecast_inputs: ForecastInputs | None = None
    target_mean: float = 0.0
    target_std: float = 1.0

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _balance(dataset: Dataset):
    counts = {split: tuple(int(c) for c in np.bincount(s.labels, minlength=dataset.num_classes))
              for split, s in dataset.splits().items()}
    train = np.array(counts["train"])
    ratio = float(train.max() / max(train.min(), 1))
    if ratio <= IMBALANCE_RATIO_FOR_WEIGHTS:
        return counts, ratio, None, Guardrail("Class balance", PASSED,
                                              f"Largest to smallest class ratio is {ratio:.1f} (limit {IMBALANCE_RATIO_FOR_WEIGHTS:g}).")
    weights = {i: float(train.sum() / (len(train) * max(c, 1))) for i, c in enumerate(train)}
    return counts, ratio, weights, Guardrail(
        "Class balance", DONE, f"Largest to smallest class ratio is {ratio:.1f} (over {IMBALANCE_RATIO_FOR_WEIGHTS:g}): "
        "balanced class weights are applied in training.")


def _leakage(dataset: Dataset) -> list[Guardrail]:
    """Byte-identical examples: val against train, test against train and val."""
    train = set(dataset.train.hashes)
    seen = {"val": (train, "training"), "test": (train | set(dataset.val.hashes), "training or validation")}
    checks = []
    for split, (earlier, what) in seen.items():
        hashes = dataset.splits()[split].hashes
        shared = sum(h in earlier for h in hashes)
        name = f"Leakage into {split}"
        checks.append(Guardrail(name, ALERTED, f"{shared} of {len(hashes)} {split} examples are byte-identical to "
                                f"{what} examples: {split} scores are optimistic. Remove the duplicates.") if shared
                      else Guardrail(name, PASSED, f"No {split} example is identical to a {what} example."))
    duplicates = len(dataset.train.hashes) - len(train)
    if duplicates:
        checks.append(Guardrail("Duplicates in train", ALERTED, f"{duplicates} training examples are exact duplicates of others."))
    return checks


def _image_facts(dataset: Dataset):
    info = dataset.images
    height, width, channels = info.input_shape
    modes = Counter(info.modes)
    facts = [("Image sizes (h×w)", f"median {int(np.median(info.heights))}×{int(np.median(info.widths))}, "
                                   f"min {info.heights.min()}×{info.widths.min()}, max {info.heights.max()}×{info.widths.max()}"),
             ("Colour modes", ", ".join(f"{mode} {count}" for mode, count in modes.most_common())),
             ("Model input", f"{height}×{width}×{channels}")]
    mixed = len(set(zip(info.heights.tolist(), info.widths.tolist()))) > 1 or (info.heights[0], info.widths[0]) != (height, width)
    checks = [Guardrail("Image size", DONE if mixed else PASSED,
                        f"Images are resized to {height}×{width} inside the model." if mixed else f"All images are {height}×{width}."),
              Guardrail("Channels", DONE if len(modes) > 1 else PASSED,
                        f"Mixed colour modes ({', '.join(modes)}) are converted to {channels} channel(s)."
                        if len(modes) > 1 else f"All images are {next(iter(modes))}.")]
    return facts, checks, ImageInputs(height, width, channels)


def _table_facts(dataset: Dataset):
    regression = dataset.task == "regression"
    columns, inputs, leaks = profile_columns(dataset.table, dataset.train.labels, dataset.val.labels, regression)
    if not inputs:
        raise DataError(f"No usable feature column in {dataset.source}: every column is constant or ID-like. "
                        "Add feature columns that vary.")
    dropped = [c for c in columns if c.role == "dropped"]
    missing = [c for c in columns if c.role == "feature" and c.missing_fraction > 0]
    kinds = Counter(c.kind for c in columns if c.role == "feature")
    facts = [("Columns", f"{len(columns)} features ({', '.join(f'{n} {k}' for k, n in kinds.items())}), "
                         f"{len(dropped)} dropped; target {dataset.target!r}")]
    checks = [
        Guardrail("Constant / ID-like columns", DONE if dropped else PASSED,
                  "Dropped " + ", ".join(f"{c.name!r} ({c.note})" for c in dropped) + "." if dropped
                  else "No constant or ID-like column."),
        Guardrail("Missing values", DONE if missing else PASSED,
                  "Missing values in " + ", ".join(f"{c.name!r} ({c.missing_fraction:.0%})" for c in missing)
                  + " are filled inside the model (train median; empty category)." if missing else "No missing values."),
        Guardrail("Target leakage", ALERTED if leaks else PASSED,
                  f"Column(s) {', '.join(map(repr, leaks))} alone predict the target almost perfectly: check they are "
                  "known before the target is; drop them if not." if leaks else "No single column predicts the target almost perfectly."),
    ]
    return facts, checks, inputs, tuple(columns)


def _images(dataset):
    facts, checks, inputs = _image_facts(dataset)
    return facts, checks, {"image_inputs": inputs}


def _table(dataset):
    facts, checks, inputs, columns = _table_facts(dataset)
    return facts, checks, {"column_inputs": inputs, "columns": columns}


def _text(dataset):
    facts, checks, inputs = text_facts(dataset, Guardrail, PASSED, DONE)
    return facts, checks, {"text_inputs": inputs}


def _series(dataset):
    facts, checks, inputs = series_facts(dataset, Guardrail, PASSED, DONE)
    return facts, checks, {"series_inputs": inputs}


def _forecast(dataset):
    facts, checks, series, forecast = forecast_facts(dataset, Guardrail, PASSED, DONE)
    return facts, checks, {"series_inputs": series, "forecast_inputs": forecast}


# Each kind of data adds its own facts, guardrails and the inputs its families are built from.
MODALITY_FACTS = {"image": _images, "table": _table, "text": _text, "series": _series, "forecast": _forecast}


def profile_dataset(dataset: Dataset) -> Profile:
    """Computes facts and guardrails for a Dataset.

    Raises:
        DataError: A table has no usable feature column.
    """
    sizes = {split: dataset.splits()[split].size for split in SPLITS}
    facts = [("Source", dataset.source), ("Splits", dataset.split_note)]
    facts += [("Note", note) for note in dataset.notes]
    checks, counts, ratio, weights = [], {}, 1.0, None
    if dataset.task == "classification":
        counts, ratio, weights, balance = _balance(dataset)
        facts.append(("Classes", f"{dataset.num_classes}: " + ", ".join(
            f"{name} ({n})" for name, n in zip(dataset.class_names, np.sum(list(counts.values()), axis=0)))))
        checks.append(balance)
    checks.append(Guardrail("Unreadable files", ALERTED if dataset.skipped else PASSED,
                            f"{len(dataset.skipped)} files were skipped (listed in the report)." if dataset.skipped
                            else "Every file was read."))
    checks += _leakage(dataset)
    if sizes["test"] < SMALL_TEST_SPLIT and dataset.task != "forecast":  # windows overlap: no accuracy steps
        checks.append(Guardrail("Test size", ALERTED, f"Only {sizes['test']} test examples: one error moves test "
                                f"accuracy by {100 / max(sizes['test'], 1):.1f} points."))
    kind = "forecast" if dataset.task == "forecast" else dataset.modality  # a forecast profiles its time axis
    more, kind_checks, extra = MODALITY_FACTS[kind](dataset)
    if dataset.task == "regression":
        extra["target_mean"] = float(np.mean(dataset.train.labels))
        extra["target_std"] = float(np.std(dataset.train.labels) or 1.0)
    return Profile(
        name=dataset.name, modality=dataset.modality, task=dataset.task, class_names=dataset.class_names,
        split_sizes=sizes, class_counts=counts, imbalance_ratio=ratio, class_weight=weights,
        facts=tuple(facts + more), guardrails=tuple(checks + kind_checks), skipped=dataset.skipped, **extra)
