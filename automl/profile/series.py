"""Profile stage, series part: length and missing-value facts, guardrails, and the SeriesInputs every
series family builds its input layer from (padded length, channels, per-channel training statistics)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from automl.profile.guardrails import DONE, PASSED, Guardrail


@dataclass(frozen=True)
class SeriesInputs:
    """What the series families build their input from.

    Attributes:
        length: Time steps of the model input (series are padded with NaN or cut to it).
        channels: Values per time step.
        mean, std: Per-channel mean and standard deviation of the training values (NaN ignored),
            for the Normalization layer inside the model.
        equal_length: Whether every series had the same length (no padding needed).
        columns: The table columns read as time steps (None for .ts files), for `automl predict`.
        reference: A few training series, normalised (missing values 0), flattened: [n, length, channels]
            in C order. Families with data-dependent fixed parts (the ROCKET bank's biases) draw on it.
    """

    length: int
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    equal_length: bool = True
    columns: tuple[str, ...] | None = None
    reference: tuple[float, ...] = ()

    def reference_series(self) -> np.ndarray:
        """The reference series as a float32 [n, length, channels] array (n may be 0)."""
        return np.asarray(self.reference, dtype="float32").reshape(-1, self.length, self.channels)


# The reference sample: up to this many training series and values (it is stored in the report state:
# 20,000 values are about 400 KB of JSON). MiniRocket draws each bias from one random training series,
# so a few dozen series give it the spread it needs.
REFERENCE_SERIES = 64
REFERENCE_VALUES = 20_000


def reference_sample(values: np.ndarray, mean, std, seed: int = 0) -> tuple[float, ...]:
    """A random sample of [n, length, channels] training values, normalised, missing values 0, flat."""
    per_series = max(1, values.shape[1] * values.shape[2])
    count = max(1, min(len(values), REFERENCE_SERIES, REFERENCE_VALUES // per_series))
    picked = np.random.default_rng(seed).choice(len(values), size=min(count, len(values)), replace=False)
    sample = (values[np.sort(picked)] - np.asarray(mean)) / np.asarray(std)
    return tuple(map(float, np.nan_to_num(sample.astype("float32"), nan=0.0, posinf=0.0, neginf=0.0).ravel()))


def channel_statistics(values: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of [n, length, channels] values, NaN ignored (std 1 where constant)."""
    flat = values.reshape(-1, values.shape[-1])
    counts = np.isfinite(flat).sum(axis=0)
    mean = np.where(counts > 0, np.nansum(flat, axis=0) / np.maximum(counts, 1), 0.0)
    variance = np.where(counts > 0, np.nansum((flat - mean) ** 2, axis=0) / np.maximum(counts, 1), 1.0)
    std = np.sqrt(variance)
    std = np.where(std > 1e-12, std, 1.0)  # a constant channel: divide by 1, not 0
    return tuple(map(float, mean)), tuple(map(float, std))


def series_inputs(dataset) -> SeriesInputs:
    """The model input of a series dataset, with statistics over its training split."""
    facts = dataset.series
    values = np.stack([x for x, _ in dataset.train.data.as_numpy_iterator()])
    mean, std = channel_statistics(values)
    return SeriesInputs(length=facts.length, channels=facts.channels, mean=mean, std=std,
                        equal_length=bool(np.all(facts.lengths == facts.lengths[0])), columns=facts.columns,
                        reference=reference_sample(values, mean, std))


def series_facts(dataset):
    """Facts and guardrails for series, and the SeriesInputs the families build from."""
    facts_, inputs = dataset.series, series_inputs(dataset)
    lengths = facts_.lengths
    facts = [("Series", f"{len(lengths)} series, {facts_.channels} channel{'s' if facts_.channels > 1 else ''}"
                        + (f" (columns {facts_.columns[0]!r}…{facts_.columns[-1]!r})" if facts_.columns else "")),
             ("Series length", f"min {lengths.min()}, median {np.median(lengths):.0f}, max {lengths.max()} "
                               f"({'equal' if inputs.equal_length else 'unequal'} lengths; model input "
                               f"{inputs.length} steps × {inputs.channels})"),
             ("Channel statistics (train)", ", ".join(f"mean {m:.3g} / std {s:.3g}"
                                                      for m, s in list(zip(inputs.mean, inputs.std))[:6])
              + (" …" if inputs.channels > 6 else ""))]
    checks = [Guardrail("Series length", PASSED if inputs.equal_length and not facts_.truncated else DONE,
                        "Every series has the same length." if inputs.equal_length and not facts_.truncated else
                        f"Series are padded with NaN to {inputs.length} steps (masked inside the model)"
                        + (f"; {facts_.truncated} longer ones were cut." if facts_.truncated else ".")),
              Guardrail("Missing values", DONE if facts_.missing else PASSED,
                        f"{facts_.missing} missing or non-finite values inside series are filled with their "
                        "channel's training mean inside the model." if facts_.missing else "No missing values.")]
    return facts, checks, {"series_inputs": inputs}
