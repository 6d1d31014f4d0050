"""The forecast modality: a series read as a table over time. Served as the last `lookback` steps
float32 [n, lookback, value columns]; `automl predict RUN_DIR TABLE` puts the table on the training grid
(the same time-axis rules) and writes the next `horizon` steps after its last time as a CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest import is_table_file, read_table, regular_time_axis
from automl.modalities.base import Modality
from automl.modalities.series import SeriesModality


class ForecastModality(SeriesModality):
    serve_inputs = Modality.serve_inputs  # a forecast reads a whole table (automl predict), not instances
    drift_features = Modality.drift_features  # its windows overlap: a drift check would need its own design
    def metadata(self, profile) -> dict:
        """The series entries, plus the window the endpoint takes and what it returns."""
        spec = profile.forecast_inputs
        return {**super().metadata(profile), "forecast": {
            "lookback": spec.lookback, "horizon": spec.horizon, "time_column": spec.time_column,
            "value_columns": list(spec.value_columns), "target_columns": list(spec.target_columns),
            "frequency": spec.frequency, "season": spec.season,
            "input": "float32 [batch, lookback, value_columns]: the last lookback steps, oldest first",
            "output": "forecast: float32 [batch, horizon, target_columns], in the targets' units"}}

    def predict_table(self, model, meta: dict, source: Path, output: Path) -> tuple[Path, int]:
        return forecast_to_csv(model, meta, source, output)


def future_times(last: str, frequency: str, horizon: int) -> list[str]:
    """The labels of the `horizon` steps after `last` on the training grid ("1 per step" for numbers)."""
    if frequency.endswith(" per step"):
        step = float(frequency.split()[0])
        return [f"{float(last) + step * k:g}" for k in range(1, horizon + 1)]
    times = pd.date_range(pd.Timestamp(last), periods=horizon + 1, freq=frequency)[1:]
    return [str(t.date()) if t == t.normalize() else str(t) for t in times]


def forecast_to_csv(model, meta: dict, source: Path, output: Path) -> tuple[Path, int]:
    """Forecasts the steps after the end of `source` with the exported model; one CSV row per step.

    Raises:
        DataError: Not a table, columns missing, or fewer steps than the lookback.
    """
    spec = meta["forecast"]
    if not is_table_file(source):
        raise DataError(f"'{source}' is not a CSV/TSV/Parquet table; this forecasting model reads one with the "
                        f"columns {spec['time_column']!r}, {', '.join(map(repr, spec['value_columns']))}.")
    frame = read_table(source)
    missing = [c for c in [spec["time_column"], *spec["value_columns"]] if c not in frame.columns]
    if missing:
        raise DataError(f"The table '{source}' lacks column(s) {', '.join(map(repr, missing))} the model was "
                        f"trained with (time {spec['time_column']!r}, values {', '.join(map(repr, spec['value_columns']))}).")
    axis = regular_time_axis(frame[spec["time_column"]], frame[spec["value_columns"]], f"'{source}'")
    if len(axis.values) < spec["lookback"]:
        raise DataError(f"'{source}' holds {len(axis.values)} time steps; the model forecasts from the last "
                        f"{spec['lookback']}. Give a longer stretch of the series.")
    window = tf.constant(axis.values[None, -spec["lookback"]:].astype(np.float32))
    forecast = model.serve(window)["forecast"].numpy()[0]
    result = pd.DataFrame({"step": np.arange(1, spec["horizon"] + 1),
                           spec["time_column"]: future_times(axis.labels[-1], spec["frequency"], spec["horizon"])})
    for i, column in enumerate(spec["target_columns"]):
        result[column] = forecast[:, i]
    result.to_csv(output, index=False)
    return output, len(result)


FORECAST = ForecastModality("forecast", accepts="a table with the time and value columns")
