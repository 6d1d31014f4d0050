"""Profile stage function: the common facts and checks (automl.profile.guardrails), then the modality's own
facts, checks and model inputs (images, table, text, series, forecast, audio modules) → Profile."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from automl.ingest import SPLITS, Dataset, ForecastInputs, SkippedFile
from automl.modalities import modality_of, task_named
from automl.profile.audio import AudioInputs, audio_facts
from automl.profile.columns import ColumnInput, ColumnProfile
from automl.profile.forecast import forecast_facts
from automl.profile.guardrails import ALERTED, PASSED, SMALL_TEST_SPLIT, Guardrail, balance_check, leakage_checks
from automl.profile.images import ImageInputs, image_facts
from automl.profile.series import SeriesInputs, series_facts
from automl.profile.table import table_facts
from automl.profile.text import TextInputs, text_facts


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
        audio_inputs: Sample rate, length, log-mel settings and per-band statistics (audio only).
        forecast_inputs: Lookback, horizon, columns, season and scales (forecasting only).
        target_mean, target_std: Training target statistics (regression only).
        label_thresholds: Per label, the probability from which it is predicted, tuned on validation after the
            search (multi-label only; the pipeline fills it in before export).
        anomaly_threshold: The reconstruction error above which an example is an anomaly, a quantile of the
            validation errors set after the search (anomaly detection only; the pipeline fills it in before export).
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
    audio_inputs: AudioInputs | None = None
    forecast_inputs: ForecastInputs | None = None
    target_mean: float = 0.0
    target_std: float = 1.0
    label_thresholds: tuple[float, ...] = ()
    anomaly_threshold: float | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


# Each kind of data adds its own facts, guardrails and the inputs its families are built from.
MODALITY_FACTS = {"image": image_facts, "table": table_facts, "text": text_facts, "series": series_facts,
                  "forecast": forecast_facts, "audio": audio_facts}


def profile_dataset(dataset: Dataset) -> Profile:
    """Computes facts and guardrails for a Dataset.

    Raises:
        DataError: A table has no usable feature column.
    """
    sizes = {split: dataset.splits()[split].size for split in SPLITS}
    facts = [("Source", dataset.source), ("Splits", dataset.split_note)]
    facts += [("Note", note) for note in dataset.notes]
    task = task_named(dataset.task)
    checks, counts, ratio, weights = [], {}, 1.0, None
    if task.has_classes:
        counts, ratio, weights, balance = balance_check(dataset)
        facts.append(("Classes", f"{dataset.num_classes}: " + ", ".join(
            f"{name} ({n})" for name, n in zip(dataset.class_names, np.sum(list(counts.values()), axis=0)))))
        checks.append(balance)
    checks.append(Guardrail("Unreadable files", ALERTED if dataset.skipped else PASSED,
                            _skipped_message(dataset.skipped) if dataset.skipped
                            else "Every file was read."))
    leakage_at = len(checks)
    if sizes["test"] < SMALL_TEST_SPLIT and task.independent_examples:
        checks.append(Guardrail("Test size", ALERTED, f"Only {sizes['test']} test examples: one error moves test "
                                f"accuracy by {100 / max(sizes['test'], 1):.1f} points."))
    more, kind_checks, extra = MODALITY_FACTS[modality_of(dataset).name](dataset)
    used = [c.name for c in extra["column_inputs"]] if extra.get("column_inputs") else None
    checks[leakage_at:leakage_at] = leakage_checks(dataset, used)
    if task.standardised_target:
        labels = np.asarray(dataset.train.labels, dtype=np.float64)  # float32 squares of large targets overflow
        extra["target_mean"] = float(np.mean(labels))
        extra["target_std"] = float(np.std(labels) or 1.0)
    return Profile(
        name=dataset.name, modality=dataset.modality, task=dataset.task, class_names=dataset.class_names,
        split_sizes=sizes, class_counts=counts, imbalance_ratio=ratio, class_weight=weights,
        facts=tuple(facts + more), guardrails=tuple(checks + kind_checks), skipped=dataset.skipped, **extra)


def _skipped_message(skipped) -> str:
    links = sum(s.reason.startswith("symbolic link") for s in skipped)
    return (f"{len(skipped)} file{'s were' if len(skipped) != 1 else ' was'} skipped (listed in the report)"
            + (f", {links} of them symbolic link{'s' if links != 1 else ''} not followed." if links else "."))
