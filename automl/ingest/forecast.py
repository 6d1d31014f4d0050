"""Ingest for forecasting: a table with a time column and value columns → windowed samples (the past
`lookback` steps of every value column → the next `horizon` steps of the targets) in chronological splits.

Rules, stated once: rows are sorted by time (announced when they were not); duplicate times are an error
(one row per time step); the time steps are put on a regular grid (the inferred frequency, else the median
step), rows falling in one step are averaged, and missing steps and values are filled by linear
interpolation (counted). The series is cut into train, then validation, then test stretches (the last
one), and a window belongs to the stretch its targets fall in, so no target is ever seen by an earlier split.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest.dataset import Dataset, Split, fingerprint_of
from automl.ingest.table import REGRESSION_TARGET_LIMIT, is_numeric_column, read_table
from automl.ingest.time_axis import TimeAxis, regular_time_axis, season_of

# Column names taken as the time axis when no column holds dates (a monotonic number column).
TIME_NAMES = ("time", "date", "datetime", "timestamp", "ds", "year", "month", "period", "t", "step")
# A text column is read as dates when at least this share of its values parse as dates.
DATE_PARSE_SHARE = 0.95
# Default lookback: LOOKBACK_HORIZONS horizons or LOOKBACK_SEASONS seasons, whichever is longer
# (a model sees the whole last cycles it is asked to continue), at most MAX_LOOKBACK steps.
LOOKBACK_HORIZONS, LOOKBACK_SEASONS, MAX_LOOKBACK = 3, 2, 256
# Fewer training windows than this cannot fit even a small network's head.
MIN_TRAIN_WINDOWS = 8


@dataclass(frozen=True)
class ForecastInputs:
    """What the model and the metrics need to know about a forecasting run (kept in the Profile).

    Attributes:
        value_columns: Model input channels, in order (the window's last axis).
        target_columns: Forecast columns, in order (the output's last axis); a subset of value_columns.
        target_indices: Position of each target among value_columns.
        frequency: The grid's step ("MS", "D", or "1.0 per step" for a numeric time column).
        season: Steps per seasonal cycle (1: none found), and season_reason says how it was found.
        centred_mean, centred_std: Per channel, of training windows minus their last value (the model's
            input normalisation: it sees each window relative to its last step).
        delta_std: Per target, of training targets minus the window's last value (the output scale).
    """

    time_column: str
    value_columns: tuple[str, ...]
    target_columns: tuple[str, ...]
    target_indices: tuple[int, ...]
    lookback: int
    horizon: int
    frequency: str
    season: int
    season_reason: str
    length: int
    centred_mean: tuple[float, ...] = ()
    centred_std: tuple[float, ...] = ()
    delta_std: tuple[float, ...] = ()


@dataclass(frozen=True)
class ForecastFacts:
    """The regular series and where each split's windows start (for baselines, metrics and the plot).

    Attributes:
        values: The regular series, (steps, value columns), float32.
        times: The grid's time labels as strings, one per step.
        starts: Index of the first stretch step per split ("train" is 0).
        origins: Per split, the index of each window's first target step.
        missing: Values filled by interpolation (missing cells plus empty grid steps).
    """

    inputs: ForecastInputs
    values: np.ndarray
    times: tuple[str, ...]
    starts: dict[str, int]
    origins: dict[str, np.ndarray]
    missing: int


def find_time_column(frame: pd.DataFrame, chosen: str | None, where: str) -> tuple[str, str | None]:
    """The time column (--time-column, else the first date column, else a monotonic column named like
    time) and the announcement of the guess."""
    if chosen is not None:
        if chosen not in frame.columns:
            raise DataError(f"No column {chosen!r} in {where}. Columns are: {', '.join(map(str, frame.columns))}. "
                            "Pass one of them with --time-column.")
        return chosen, None
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series) or (not is_numeric_column(series) and _parses_as_dates(series)):
            return column, f"Time column guessed: {column!r} (its values are dates; set --time-column to change)."
    for column in frame.columns:
        series = frame[column]
        if str(column).strip().lower() in TIME_NAMES and is_numeric_column(series) and series.is_monotonic_increasing:
            return column, f"Time column guessed: {column!r} (by its name; set --time-column to change)."
    raise DataError(f"Found no time column in {where} (columns: {', '.join(map(str, frame.columns))}). Forecasting "
                    "needs a column of dates or an increasing column named time, date or timestamp; pass it with "
                    "--time-column.")


def _parses_as_dates(series: pd.Series) -> bool:
    values = series.dropna().astype(str).head(200)
    if values.empty or values.str.fullmatch(r"\s*[+-]?\d+(\.\d+)?\s*").all():  # plain numbers are not dates
        return False
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    return parsed.notna().mean() >= DATE_PARSE_SHARE


def _value_columns(frame, time_column, target, where) -> tuple[list[str], list[str], list[str]]:
    """(value columns, targets, announcements): numeric columns other than time; targets --target or all."""
    notes, values = [], []
    for column in frame.columns:
        if column == time_column:
            continue
        if is_numeric_column(frame[column]) and frame[column].notna().any():
            values.append(column)
    ignored = [c for c in frame.columns if c != time_column and c not in values]
    if ignored:
        notes.append(f"Ignored columns that are not numbers: {', '.join(map(repr, ignored))}.")
    if not values:
        raise DataError(f"{where} has no numeric value column besides the time column {time_column!r}. "
                        "Forecasting needs at least one column of numbers to forecast.")
    if target is not None:
        if target not in values:
            raise DataError(f"--target {target!r} is not a numeric value column of {where}; value columns are "
                            f"{', '.join(map(repr, values))}.")
        return values, [target], notes
    if len(values) > 1:
        notes.append(f"Forecasting every value column ({', '.join(map(repr, values))}); set --target to forecast one.")
    return values, values, notes


def default_lookback(horizon: int, season: int) -> int:
    """max(LOOKBACK_HORIZONS × horizon, LOOKBACK_SEASONS × season), at most MAX_LOOKBACK."""
    return min(max(LOOKBACK_HORIZONS * horizon, LOOKBACK_SEASONS * season), MAX_LOOKBACK)


def stretch_starts(length: int, horizon: int, config) -> dict[str, int]:
    """Where the validation and test stretches begin: val_fraction and test_fraction of the series (each at
    least one horizon), train before them."""
    test = max(horizon, round(config.test_fraction * length))
    val = max(horizon, round(config.val_fraction * length))
    return {"train": 0, "val": length - val - test, "test": length - test}


def choose_lookback(starts: dict[str, int], length: int, horizon: int, season: int,
                    given: int | None) -> tuple[int, str | None]:
    """--lookback, else the default rule shortened to what the training stretch allows (announced).

    Raises:
        DataError: The training stretch is too short for lookback + horizon and enough windows.
    """
    train = starts["val"]
    fits = train - horizon - MIN_TRAIN_WINDOWS + 1  # the longest lookback leaving MIN_TRAIN_WINDOWS windows
    lookback, note = given or default_lookback(horizon, season), None
    if given is None and lookback > fits >= max(1, min(horizon, season)):
        lookback, note = fits, (f"Lookback shortened to {fits} steps (the default rule asks for {lookback}) so the "
                                f"training stretch still holds {MIN_TRAIN_WINDOWS} windows.")
    needed = lookback + horizon + MIN_TRAIN_WINDOWS - 1
    if train < needed:
        raise DataError(
            f"The series has {length} time steps: validation and test take {length - train} (at least one horizon "
            f"each), leaving {max(train, 0)} for training, but lookback {lookback} + horizon {horizon} needs at least "
            f"{needed} training steps ({MIN_TRAIN_WINDOWS} windows). Use a smaller --horizon or --lookback, or a "
            "longer series.")
    return lookback, note


def window_origins(starts: dict[str, int], length: int, lookback: int, horizon: int) -> dict[str, np.ndarray]:
    """Per split, the first target step of each window: its targets lie inside the split's stretch and
    its inputs are the `lookback` steps before (earlier stretches included: the past is known)."""
    ends = {"train": starts["val"], "val": starts["test"], "test": length}
    return {split: np.arange(max(starts[split], lookback), ends[split] - horizon + 1) for split in ends}


def windows(values: np.ndarray, origins: np.ndarray, lookback: int, horizon: int, targets) -> tuple:
    """(inputs [n, lookback, channels], targets [n, horizon, len(targets)]) for the given origins."""
    past = np.stack([values[o - lookback:o] for o in origins]).astype(np.float32)
    future = np.stack([values[o:o + horizon][:, list(targets)] for o in origins]).astype(np.float32)
    return past, future


def _split(past: np.ndarray, future: np.ndarray) -> Split:
    hashes = tuple(hashlib.sha256(p.tobytes() + f.tobytes()).hexdigest()[:16] for p, f in zip(past, future))
    return Split(tf.data.Dataset.from_tensor_slices((past, future)), future, hashes)


def _centred_stats(past: np.ndarray, future: np.ndarray, targets) -> tuple[tuple, tuple, tuple]:
    last = past[:, -1:, :]
    centred = past - last
    delta = future - last[:, :, list(targets)]
    std = lambda a, axes: tuple(float(s) if s > 0 else 1.0 for s in a.std(axis=axes))  # noqa: E731
    return tuple(float(m) for m in centred.mean(axis=(0, 1))), std(centred, (0, 1)), std(delta, (0, 1))


def load_forecast(path: Path, config) -> Dataset:
    """Reads a forecasting table and cuts it into windows in chronological splits.

    Raises:
        DataError: No time or value column, duplicate times, or a series too short for the windows.
    """
    where = f"'{path}'"
    frame = read_table(path)
    time_column, announced = find_time_column(frame, config.time_column, where)
    columns, targets, notes = _value_columns(frame, time_column, config.target, where)
    for column in columns:  # windows, changes and their squares are float32 inside the model
        values = np.abs(pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64))
        values = values[np.isfinite(values)]
        if len(values) and values.max() > REGRESSION_TARGET_LIMIT:
            raise DataError(f"The value column {column!r} of {where} holds values as large as {values.max():.3g}, "
                            "beyond what the model's 32-bit numbers can square. Rescale it (e.g. take its "
                            "logarithm or divide by a power of ten).")
    notes = ([announced] if announced else []) + notes
    axis: TimeAxis = regular_time_axis(frame[time_column], frame[columns], where)
    target_indices = tuple(columns.index(t) for t in targets)
    notes += list(axis.notes)
    length = len(axis.values)
    starts = stretch_starts(length, config.horizon, config)
    # The season is guessed on the training stretch only: what later stretches hold must not steer the model.
    season, season_reason = season_of(axis.frequency, axis.values[:max(starts["val"], 0), target_indices[0]])
    lookback, shortened = choose_lookback(starts, length, config.horizon, season, config.lookback)
    notes += [shortened] if shortened else []
    origins = window_origins(starts, length, lookback, config.horizon)
    parts = {s: windows(axis.values, origins[s], lookback, config.horizon, target_indices) for s in origins}
    splits = {s: _split(*parts[s]) for s in parts}
    mean, std, delta = _centred_stats(*parts["train"], target_indices)
    inputs = ForecastInputs(str(time_column), tuple(map(str, columns)), tuple(map(str, targets)), target_indices,
                            lookback, config.horizon, axis.frequency, season, season_reason, length,
                            mean, std, delta)
    facts = ForecastFacts(inputs, axis.values, axis.labels, starts, origins, axis.missing)
    stretch = {s: (starts[s], ({"train": starts["val"], "val": starts["test"]}.get(s, length))) for s in starts}
    split_note = (f"Chronological (never shuffled across time): train steps {stretch['train'][0]}–{stretch['train'][1] - 1}, "
                  f"validation {stretch['val'][0]}–{stretch['val'][1] - 1}, test (the last stretch) "
                  f"{stretch['test'][0]}–{length - 1}; a window belongs to the stretch its targets fall in "
                  f"({', '.join(f'{s} {len(origins[s])}' for s in origins)} windows)")
    return Dataset(
        name=path.stem, source=(f"Series table {where} ({len(frame)} rows, time column {time_column!r}, value columns "
                                f"{', '.join(map(repr, columns))}; forecast {config.horizon} steps of "
                                f"{', '.join(map(repr, targets))} from the last {lookback})"),
        modality="series", task="forecast", class_names=(), train=splits["train"], val=splits["val"],
        test=splits["test"], split_note=split_note, fingerprint=fingerprint_of(splits),
        target=", ".join(map(str, targets)), forecast=facts, notes=tuple(notes))
