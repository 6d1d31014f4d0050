"""Ingest for forecasting, the time axis: parse, sort and check the time column, put the series on a
regular grid, fill gaps, and guess the frequency and (from the training stretch) the season.

The rule for irregular or missing times: the grid's step is the inferred frequency (pandas.infer_freq),
else the calendar step nearest the median gap (month, week, day, …), else the median gap itself; rows in
one step are averaged, and steps or values with no data are filled by linear interpolation (counted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from automl.errors import DataError

# Seasonal cycle in steps for each pandas frequency base (the calendar cycle one level up: a year of
# months, a week of days, a day of hours, an hour of minutes).
SEASON_OF_FREQUENCY = {"MS": 12, "ME": 12, "M": 12, "SMS": 24, "QS": 4, "QE": 4, "Q": 4, "W": 52, "D": 7,
                       "B": 5, "h": 24, "H": 24, "bh": 8, "min": 60, "T": 60, "s": 60, "S": 60}
# Median gaps (in days) read as calendar steps when pandas cannot infer a frequency (gaps, jitter).
CALENDAR_STEPS = ((27, 32, "MS"), (88, 93, "QS"), (364, 367, "YS"), (6.5, 7.5, "W"), (0.99, 1.01, "D"))
# Autocorrelation peak needed to call a lag the season (when the frequency says nothing): above this a
# cycle explains a clear share of the variance; white noise stays within ±2/√n of 0.
MIN_SEASON_AUTOCORRELATION = 0.3
# Longest season looked for: a longer cycle would need a lookback past the model's.
MAX_SEASON = 128


@dataclass(frozen=True)
class TimeAxis:
    values: np.ndarray  # (steps, columns), float32, gaps filled
    labels: tuple[str, ...]  # one time label per step
    frequency: str
    missing: int  # cells filled by interpolation
    notes: tuple[str, ...]


def _parse(times: pd.Series, where: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(times) and not pd.api.types.is_bool_dtype(times):
        return pd.to_numeric(times, errors="coerce").astype(float)
    return pd.to_datetime(times, errors="coerce", format="mixed")


def _sorted_unique(times: pd.Series, values: pd.DataFrame, column: str, where: str):
    notes = []
    keep = times.notna()
    if not keep.all():
        notes.append(f"Dropped {int((~keep).sum())} rows whose time in {column!r} could not be read.")
    times, values = times[keep], values[keep]
    if len(times) < 3:
        raise DataError(f"{where} has {len(times)} rows with a readable time in {column!r}; forecasting needs a series "
                        "of many time steps.")
    if not times.is_monotonic_increasing:
        order = np.argsort(times.to_numpy(), kind="stable")
        times, values = times.iloc[order], values.iloc[order]
        notes.append(f"Rows were not in time order; they were sorted by {column!r}.")
    duplicated = times.duplicated()
    if duplicated.any():
        raise DataError(f"{where} has {int(duplicated.sum())} duplicate times in {column!r} (first: "
                        f"{times[duplicated].iloc[0]}). Forecasting takes one row per time step: aggregate rows that "
                        "share a time (e.g. sum or average them per date) or pass the right --time-column.")
    return times.reset_index(drop=True), values.reset_index(drop=True), notes


def _datetime_grid(times: pd.Series, values: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    index = pd.DatetimeIndex(times)
    frequency = pd.infer_freq(index) if len(index) >= 3 else None
    if frequency is None:
        gap_days = index.to_series().diff().median() / pd.Timedelta(days=1)  # unit-safe (ns or µs)
        frequency = next((name for low, high, name in CALENDAR_STEPS if low <= gap_days <= high), None)
        frequency = frequency or pd.tseries.frequencies.to_offset(pd.Timedelta(days=gap_days)).freqstr
    grid = values.set_index(index).resample(frequency).mean()
    return grid, frequency


def _numeric_grid(times: pd.Series, values: pd.DataFrame) -> tuple[pd.DataFrame, str, list[str]]:
    raw = times.to_numpy(dtype=float)
    step = float(np.median(np.diff(raw)))
    positions = np.round((raw - raw[0]) / step).astype(np.int64)
    grid = values.groupby(positions).mean().reindex(np.arange(positions[-1] + 1))
    labels = [f"{raw[0] + p * step:g}" for p in grid.index]
    return grid, f"{step:g} per step", labels


def season_of(frequency: str, series: np.ndarray) -> tuple[int, str]:
    """Steps per seasonal cycle: from the frequency when it has a calendar cycle, else the highest
    first autocorrelation peak of the (linearly detrended) series, else 1 (no season)."""
    try:
        offset = pd.tseries.frequencies.to_offset(frequency)
        base, multiple = offset.name.split("-")[0], max(int(offset.n), 1)
    except ValueError:
        base, multiple = "", 1
    cycle = SEASON_OF_FREQUENCY.get(base)
    if cycle and cycle % multiple == 0 and cycle // multiple > 1:
        return cycle // multiple, f"from the frequency {frequency!r} ({cycle // multiple} steps per cycle)"
    lag, peak = autocorrelation_peak(series)
    if lag:
        return lag, f"the autocorrelation peak at lag {lag} ({peak:.2f})"
    return 1, f"none found (frequency {frequency!r}, no autocorrelation peak above {MIN_SEASON_AUTOCORRELATION})"


def autocorrelation_peak(series: np.ndarray) -> tuple[int, float]:
    """(lag, autocorrelation) of the first local peak at lag ≥ 2 above MIN_SEASON_AUTOCORRELATION, or (0, 0)."""
    x = np.asarray(series, dtype=float)
    x = x - np.polyval(np.polyfit(np.arange(len(x)), x, 1), np.arange(len(x)))
    max_lag = min(len(x) // 3, MAX_SEASON)
    if max_lag < 3 or not np.any(x):
        return 0, 0.0
    acf = np.array([1.0] + [np.corrcoef(x[:-k], x[k:])[0, 1] for k in range(1, max_lag + 1)])
    peaks = [k for k in range(2, max_lag) if acf[k] >= acf[k - 1] and acf[k] >= acf[k + 1]
             and acf[k] > MIN_SEASON_AUTOCORRELATION]
    if not peaks:
        return 0, 0.0
    return peaks[0], float(acf[peaks[0]])  # the first peak: multiples of the cycle peak too


def regular_time_axis(times: pd.Series, values: pd.DataFrame, where: str) -> TimeAxis:
    """The value columns on a regular time grid, gaps filled, with the frequency.

    Raises:
        DataError: Fewer than 3 readable times, or duplicate times.
    """
    column = str(times.name)
    times, values, notes = _sorted_unique(_parse(times, where), values.apply(pd.to_numeric, errors="coerce"),
                                          column, where)
    if pd.api.types.is_datetime64_any_dtype(times):
        grid, frequency = _datetime_grid(times, values)
        labels = [str(t.date()) if t == t.normalize() else str(t) for t in grid.index]
    else:
        grid, frequency, labels = _numeric_grid(times, values)
    empty_steps = int(grid.isna().all(axis=1).sum())
    merged = len(times) - (len(grid) - empty_steps)
    if empty_steps or merged:
        notes.append(f"Times are irregular: put on a regular grid of step {frequency!r}; {empty_steps} steps had no "
                     f"row (filled by interpolation) and {merged} rows shared a step with another (averaged).")
    missing = int(grid.isna().to_numpy().sum())
    if missing:
        notes.append(f"Filled {missing} missing values by linear interpolation in time.")
    filled = grid.interpolate(limit_direction="both").to_numpy(dtype=np.float32)
    return TimeAxis(filled, tuple(labels), frequency, missing, tuple(notes))
