"""Diagnose stage, forecasting part: MAE / RMSE / MASE per split, the naive and seasonal-naive baselines
on the same test windows, an ok / overfitting / underfitting verdict, and the data of the test plot."""

from __future__ import annotations

import numpy as np

from automl.diagnose.forecast_metrics import (compare_methods, forecast_errors, naive_forecast,
                                              seasonal_naive_forecast, seasonal_scale)
from automl.diagnose.result import Diagnostics, ForecastComparison

# Validation MASE this many times the training MASE means the model learnt the training stretch's noise.
OVERFIT_MASE_RATIO = 1.5
# Steps of history shown before the test stretch in the plot.
PLOT_CONTEXT_STEPS = 48
MODEL, NAIVE, SEASONAL = "model", "naive (last value)", "seasonal naive"


def _targets(facts) -> np.ndarray:
    return facts.values[:, list(facts.inputs.target_indices)]


def _plot_data(facts, test_outputs) -> dict:
    series, horizon = _targets(facts)[:, 0], facts.inputs.horizon
    first = max(facts.starts["test"] - PLOT_CONTEXT_STEPS, 0)
    origins = facts.origins["test"]
    picked = range(0, len(origins), horizon)  # windows whose forecasts tile the test stretch
    return {"times": facts.times[first:], "actual": tuple(float(v) for v in series[first:]),
            "test_start": facts.starts["test"] - first,
            "segments": tuple((int(origins[i] - first), tuple(float(v) for v in test_outputs[i, :, 0])) for i in picked)}


def _verdict(metrics, train_seasonal: float):
    train, val = metrics["train"]["mase"], metrics["val"]["mase"]
    if not train < train_seasonal:
        return "underfitting", (f"Training MASE {train:.3f} does not beat the seasonal-naive forecast's "
                                f"{train_seasonal:.3f} on the training windows."), (
            "Give the search more time or epochs (--time-budget, --epochs).", "Try a longer --lookback.")
    if val > OVERFIT_MASE_RATIO * train:
        return "overfitting", (f"Validation MASE {val:.3f} is over {OVERFIT_MASE_RATIO}× the training MASE "
                               f"{train:.3f}."), ("Use a longer series or a shorter --lookback.",
                                                  "Prefer smaller models or more dropout.")
    return "ok", (f"Training MASE {train:.3f} beats the seasonal-naive {train_seasonal:.3f}, and validation MASE "
                  f"{val:.3f} is within {OVERFIT_MASE_RATIO}× of it."), ()


def diagnose_forecast(facts, outputs: dict[str, np.ndarray], best_epoch: int) -> Diagnostics:
    """Turns the model's forecasts per split into metrics, baselines and a verdict.

    Args:
        facts: The dataset's ForecastFacts (the regular series, the splits' window origins).
        outputs: split → forecasts [windows, horizon, targets].
        best_epoch: Epoch (from 1) the kept weights come from.
    """
    spec, series = facts.inputs, _targets(facts)
    scale = seasonal_scale(series[:facts.starts["val"]], spec.season)
    actual = {split: np.stack([series[o:o + spec.horizon] for o in origins])
              for split, origins in facts.origins.items()}
    metrics = {split: forecast_errors(actual[split], outputs[split], scale) for split in actual}
    baselines = {}
    for split in ("train", "test"):
        origins = facts.origins[split]
        baselines[split] = compare_methods(actual[split], {
            MODEL: outputs[split], NAIVE: naive_forecast(series, origins, spec.horizon),
            SEASONAL: seasonal_naive_forecast(series, origins, spec.horizon, spec.season)}, scale)
    seasonal_test = baselines["test"][2]
    verdict, reason, fixes = _verdict(metrics, baselines["train"][2].mase)
    comparison = ForecastComparison(
        scores=baselines["test"], season=spec.season, horizon=spec.horizon, scale=tuple(map(float, scale)),
        target=spec.target_columns[0], test_windows=len(facts.origins["test"]), **_plot_data(facts, outputs["test"]))
    return Diagnostics("forecast", metrics, {"mae": seasonal_test.mae, "rmse": seasonal_test.rmse,
                                             "mase": seasonal_test.mase},
                       best_epoch, metrics["val"]["mase"] - metrics["train"]["mase"], verdict, reason, fixes,
                       forecast=comparison)
