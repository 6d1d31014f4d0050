"""The series modality: served as float32 [n, length, channels] (NaN for padding or missing values; the
model fills and normalises inside), shown as sparklines, predicted from a .ts file or a table of rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest import is_series_file, is_table_file, pad_series, read_table, read_ts
from automl.modalities.base import PREDICT_BATCH, Modality
from automl.modalities.thumbnails import series_thumbnail


class SeriesModality(Modality):
    def serving_signature(self, profile) -> list:
        spec = profile.series_inputs
        return [tf.TensorSpec([None, spec.length, spec.channels], tf.float32, name="series")]

    def metadata(self, profile) -> dict:
        spec = profile.series_inputs
        return {"series_inputs": {"length": spec.length, "channels": spec.channels,
                                  "columns": list(spec.columns or [])}}

    def example_input(self, profile) -> str:
        spec = profile.series_inputs
        return (f"inputs = tf.zeros([1, {spec.length}, {spec.channels}], tf.float32)"
                "  # raw series; NaN pads shorter ones")

    def gallery_view(self, dataset, index: int, features, split: str = "test") -> dict:
        return {"image": series_thumbnail(features)}

    def predict_inputs(self, source: Path, meta: dict):
        values, frame = _series(source, meta["series_inputs"])
        batches = (tf.constant(values[start:start + PREDICT_BATCH]) for start in range(0, len(values), PREDICT_BATCH))
        return batches, frame

    def drift_features(self, batch, meta: dict) -> dict[str, dict]:
        """Each series' length (steps with a value), level (mean) and scale (spread)."""
        values = np.asarray(batch, dtype=np.float64)
        present = np.isfinite(values).any(axis=2)
        with np.errstate(all="ignore"):
            flat = values.reshape(len(values), -1)
            return {"length": {"kind": "numeric", "values": present.sum(axis=1)},
                    "level": {"kind": "numeric", "values": np.nanmean(flat, axis=1)},
                    "scale": {"kind": "numeric", "values": np.nanstd(flat, axis=1)}}

    def serve_inputs(self, instances: list, meta: dict) -> list:
        """Each instance one series: a list of numbers (one channel) or of [channel values] per step; null
        marks a missing step. Padded or cut to the model's length as `automl predict` does."""
        spec, series = meta["series_inputs"], []
        for index, instance in enumerate(instances):
            try:
                values = np.asarray(instance, dtype=np.float64)
            except (TypeError, ValueError):
                raise DataError(f"instances[{index}] must be a list of numbers (or of [numbers] per step).") from None
            values = values[:, None] if values.ndim == 1 else values
            if values.ndim != 2 or values.shape[1] != spec["channels"] or not len(values):
                raise DataError(f"instances[{index}] must be a series of {spec['channels']} channel(s): a list of "
                                f"steps{'' if spec['channels'] == 1 else ', each a list of ' + str(spec['channels'])}; "
                                f"got shape {list(values.shape)}.")
            series.append(values)
        padded = pad_series(series, spec["length"])
        return [tf.constant(padded[start:start + PREDICT_BATCH]) for start in range(0, len(padded), PREDICT_BATCH)]


def _series(source: Path, spec: dict) -> tuple[np.ndarray, pd.DataFrame]:
    """Series padded or cut to the model's length: a .ts file (labels optional), or a table with one
    series a row — the training table's time-step columns, or else every numeric column in order."""
    if is_series_file(source):
        series, _ = read_ts(source, labelled=False)
        frame = pd.DataFrame({"series": np.arange(len(series))})
    elif is_table_file(source):
        frame = read_table(source)
        columns = [c for c in spec["columns"] if c in frame.columns] if spec["columns"] else []
        if spec["columns"] and len(columns) < len(spec["columns"]):
            raise DataError(f"The table '{source}' lacks time-step columns the model reads, e.g. "
                            f"{next(c for c in spec['columns'] if c not in frame.columns)!r}. Expected columns "
                            f"{spec['columns'][0]!r}…{spec['columns'][-1]!r}.")
        columns = columns or [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        if spec["channels"] != 1 or not columns:
            raise DataError(f"'{source}' cannot be read as this model's series ({spec['channels']} channels): a table "
                            "holds one univariate series a row in numeric columns. Give a .ts file instead.")
        series = [row[:, None] for row in frame[columns].to_numpy(dtype=np.float64)]
    else:
        raise DataError(f"'{source}' is neither a .ts file nor a CSV/TSV/Parquet table of series rows, which this "
                        "model (trained on series) needs.")
    if any(x.shape[1] != spec["channels"] for x in series):
        raise DataError(f"The series in '{source}' have {series[0].shape[1]} channels; the model takes "
                        f"{spec['channels']}. Give series with the training channels.")
    return pad_series(series, spec["length"]), frame.copy()


SERIES = SeriesModality("series", accepts="a .ts file or a table of series rows")
