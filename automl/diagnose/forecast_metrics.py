"""Forecast accuracy (pure, no I/O): MAE, RMSE and MASE of a forecast, and the naive (last value) and
seasonal-naive (value one season earlier) baselines on the same windows.

MASE follows Hyndman & Koehler (2006): the forecast's MAE divided by the in-sample MAE of the one-step
seasonal-naive forecast on the training stretch, so 1 means "as good as the seasonal-naive forecast
was in sample" and a value below the seasonal-naive's own test MASE means the model beats it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MethodScore:
    """One forecasting method's test errors (MAE and RMSE pooled over targets; MASE averaged)."""

    method: str
    mae: float
    rmse: float
    mase: float


def naive_forecast(series: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed value, repeated: [windows, horizon, targets] from series [steps, targets]."""
    return np.repeat(series[origins - 1][:, None, :], horizon, axis=1)


def seasonal_naive_forecast(series: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Each step's value one season earlier, using only values before the window's first target:
    step h (from 0) takes series[origin + h - season × (h // season + 1)]. A window with less than a
    season of history before it takes the last value there instead (the naive forecast)."""
    steps = np.arange(horizon)
    back = season * (steps // season + 1)
    index = origins[:, None] + steps[None, :] - back[None, :]
    index = np.where(index >= 0, index, (origins - 1)[:, None])
    return series[index]


def seasonal_scale(train: np.ndarray, season: int) -> np.ndarray:
    """Per target, the in-sample MAE of the one-step seasonal-naive forecast on the training stretch
    (the naive forecast when the stretch is not longer than a season). NaN where it is 0 (a constant
    series), since no error can be scaled by it."""
    lag = season if len(train) > season else 1
    scale = np.mean(np.abs(train[lag:] - train[:-lag]), axis=0)
    return np.where(scale > 0, scale, np.nan)


def forecast_errors(actual: np.ndarray, predicted: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    """MAE and RMSE over every window, step and target; MASE per target (its MAE / its scale), averaged.

    Args:
        actual, predicted: [windows, horizon, targets].
        scale: [targets], from seasonal_scale.
    """
    error = np.asarray(predicted, dtype=float) - np.asarray(actual, dtype=float)
    per_target = np.mean(np.abs(error), axis=(0, 1))
    return {"mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error ** 2))),
            "mase": float(np.mean(per_target / scale))}


def compare_methods(actual: np.ndarray, forecasts: dict[str, np.ndarray], scale: np.ndarray) -> tuple[MethodScore, ...]:
    """The errors of each named forecast on the same windows, in the given order."""
    return tuple(MethodScore(name, **forecast_errors(actual, predicted, scale)) for name, predicted in forecasts.items())
