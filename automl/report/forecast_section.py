"""Report stage, forecasting section: the model against the naive and seasonal-naive forecasts on the same
test windows, and a plot of the test stretch with the model's forecasts (plain values; the template escapes)."""

from __future__ import annotations

from matplotlib.figure import Figure

from automl.report.plots import BEST_COLOUR, DPI, TRAIN_COLOUR, VAL_COLOUR, _data_uri
from automl.report.sections import fmt_metric

# Past this many time labels the axis shows only some of them (they would overlap).
MAX_TIME_TICKS = 8


def forecast_plot(comparison) -> str | None:
    """The first target over some context and the test stretch, with the test forecasts that tile it."""
    if comparison is None or not comparison.actual:
        return None
    figure = Figure(figsize=(8.0, 3.2), dpi=DPI)
    axes = figure.add_subplot()
    steps = range(len(comparison.actual))
    axes.plot(steps, comparison.actual, color=BEST_COLOUR, linewidth=1.2, label="actual")
    axes.axvline(comparison.test_start - 0.5, color=BEST_COLOUR, linestyle=":", linewidth=1)
    for number, (start, values) in enumerate(comparison.segments):
        axes.plot(range(start, start + len(values)), values, color=VAL_COLOUR if number % 2 else TRAIN_COLOUR,
                  linewidth=1.6, label="forecast" if number == 0 else None)
    every = max(1, len(comparison.times) // MAX_TIME_TICKS)
    axes.set_xticks(list(steps)[::every], [str(t) for t in comparison.times[::every]], fontsize=7, rotation=20)
    axes.set_ylabel(comparison.target)
    axes.set_title(f"Test stretch (right of the dotted line): forecasts of {comparison.horizon} steps", fontsize=9)
    axes.legend(fontsize=8, loc="best")
    figure.tight_layout()
    return _data_uri(figure)


def forecast_context(diagnosis) -> dict:
    """The template's `forecast` variable: None unless the run forecasts."""
    comparison = getattr(diagnosis, "forecast", None)
    if comparison is None:
        return {"forecast": None}
    rows = [{"method": s.method, "mae": fmt_metric("mae", s.mae), "rmse": fmt_metric("rmse", s.rmse),
             "mase": fmt_metric("mase", s.mase)} for s in comparison.scores]
    model, seasonal = comparison.scores[0].mase, comparison.scores[-1].mase
    verdict = ("beats" if model < seasonal else "does not beat") + " the seasonal-naive forecast"
    return {"forecast": {"rows": rows, "verdict": verdict, "windows": comparison.test_windows,
                         "season": comparison.season, "horizon": comparison.horizon,
                         "scale": ", ".join(f"{v:.4g}" for v in comparison.scale),
                         "plot": forecast_plot(comparison)}}


def forecast_summary(diagnosis) -> dict:
    """summary.json's `forecast` entry: the same comparison for machines (None unless the run forecasts)."""
    comparison = getattr(diagnosis, "forecast", None)
    if comparison is None:
        return {"forecast": None}
    return {"forecast": {"test_windows": comparison.test_windows, "season": comparison.season,
                         "horizon": comparison.horizon, "mase_scale": list(comparison.scale),
                         "methods": {s.method: {"mae": s.mae, "rmse": s.rmse, "mase": s.mase}
                                     for s in comparison.scores}}}
