"""The table modality: served as one 1-D tensor per raw column (float32 for numbers, strings for the
rest; the model normalises and looks up inside), shown as a row, predicted from a table file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest import column_arrays, is_table_file, read_table
from automl.modalities.base import PREDICT_BATCH, Modality
from automl.modalities.thumbnails import snippet

# Gallery rows show at most this many columns (the first ones, in the file's order).
MAX_ROW_FIELDS = 12
# The load-it example shows this many columns; metadata.json lists them all.
EXAMPLE_COLUMNS = 3


class TableModality(Modality):
    streams_gallery_features = False  # the raw row (before encoding) is in the dataset's frame

    def serving_signature(self, profile) -> list:
        return [{c.key: tf.TensorSpec([None], tf.float32 if c.kind == "numeric" else tf.string, name=c.key)
                 for c in profile.column_inputs}]

    def to_model_input(self, raw):
        # The Keras model takes each column as [batch, 1]; serving takes plain 1-D columns.
        return {key: tf.expand_dims(value, -1) for key, value in raw.items()}

    def to_serving_input(self, batch):
        return {key: tf.squeeze(value, -1) for key, value in batch.items()}

    def metadata(self, profile) -> dict:
        return {"columns": [{"name": c.name, "key": c.key, "kind": c.kind} for c in profile.column_inputs]}

    def example_input(self, profile) -> str:
        shown = profile.column_inputs[:EXAMPLE_COLUMNS]
        items = ", ".join(f"{c.key!r}: {_example_value(c)}" for c in shown)
        more = len(profile.column_inputs) - len(shown)
        return "inputs = {" + items + "}" + (f"  # and the {more} other columns in metadata.json" if more else "")

    def input_keys(self, profile) -> list[str]:
        return [column.key for column in profile.column_inputs]

    def gallery_view(self, dataset, index: int, features, split: str = "test") -> dict:
        row = getattr(dataset.table, split).iloc[index]
        return {"fields": tuple((str(column), snippet(value)) for column, value in list(row.items())[:MAX_ROW_FIELDS])}

    def predict_inputs(self, source: Path, meta: dict):
        if not is_table_file(source):
            raise DataError(f"'{source}' is not a CSV/TSV/Parquet table, which this model (trained on a table) needs.")
        frame = read_table(source)
        return _table_batches(frame, meta["columns"]), frame.copy()

    def drift_features(self, batch, meta: dict) -> dict[str, dict]:
        """Each column: its numbers, or its values as categories."""
        features = {}
        for column in meta["columns"]:
            values = batch[column["key"]].numpy().reshape(-1)
            if column["kind"] == "numeric":
                features[column["name"]] = {"kind": "numeric", "values": values.astype("float64")}
            else:
                features[column["name"]] = {"kind": "category",
                                            "values": [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                                                       for v in values]}
        return features

    def serve_inputs(self, instances: list, meta: dict) -> list:
        """Each instance an object of column → value (a row; by column name or by the signature's input key),
        with every column the model reads; a value that is not a number in a numeric column is treated as
        missing, as `automl predict` does. Built straight from the JSON values, without pandas: a served row
        costs about a millisecond here instead of 16 (wine's 13 columns)."""
        bad = next((index for index, row in enumerate(instances) if not isinstance(row, dict)), None)
        if bad is not None:
            raise DataError(f"instances[{bad}] must be an object of column → value, e.g. "
                            f"{{{', '.join(json.dumps(c['name']) + ': …' for c in meta['columns'][:3])}}}.")
        missing = [c["name"] for c in meta["columns"]
                   if not any(c["name"] in row or c["key"] in row for row in instances)]
        if missing:
            raise DataError(f"The instances lack column(s) {', '.join(map(repr, missing[:5]))} that the model needs "
                            f"(it reads {', '.join(c['name'] for c in meta['columns'])}).")
        arrays = {}
        for column in meta["columns"]:
            values = [row.get(column["name"], row.get(column["key"])) for row in instances]
            if column["kind"] == "numeric":
                arrays[column["key"]] = np.array([_as_number(v) for v in values], dtype=np.float32)
            else:  # as column_arrays writes them for training: the value's text, "" when missing
                arrays[column["key"]] = np.array(["" if v is None else str(v) for v in values], dtype=object)
        return [{key: tf.constant(values[start:start + PREDICT_BATCH]) for key, values in arrays.items()}
                for start in range(0, len(instances), PREDICT_BATCH)]


def _as_number(value) -> float:
    """A JSON value as a number: NaN (missing, for the model to fill) when it is null or not a number."""
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return float("nan")
    return float("nan")


def _example_value(column) -> str:
    if column.kind == "numeric":
        return f"tf.constant([{float(f'{column.mean:.4g}')!r}])"  # a float literal: the input is float32
    return f"tf.constant([{(column.vocabulary[0] if column.vocabulary else '')!r}])"


def _table_batches(frame: pd.DataFrame, columns: list[dict]):
    """The model's serving batches of frame's rows. Values of a numeric column that are not numbers are
    treated as missing (the model fills them) and counted: frame.attrs["notes"] says so, one line a column."""
    missing = [c["name"] for c in columns if c["name"] not in frame.columns]
    if missing:
        raise DataError(f"The table lacks column(s) {', '.join(map(repr, missing))} that the model needs. "
                        f"Expected columns: {', '.join(c['name'] for c in columns)}.")
    keys = {c["name"]: c["key"] for c in columns}
    sub = frame[list(keys)].copy()
    notes = []
    for column in columns:  # the training types decide, not how this file was parsed
        if column["kind"] == "numeric":
            raw = sub[column["name"]]
            sub[column["name"]] = pd.to_numeric(raw, errors="coerce")
            lost = sub[column["name"]].isna() & raw.notna() & (raw.astype(str).str.strip() != "")
            unparsed = int(lost.sum())
            if unparsed:
                example = raw[lost].iloc[0]
                many = unparsed > 1
                notes.append(f"{unparsed} value{'s' if many else ''} in column '{column['name']}' "
                             f"{'were' if many else 'was'} not {'numbers' if many else 'a number'} "
                             f"(e.g. {str(example)[:40]!r}) and {'were' if many else 'was'} treated as missing.")
        else:
            sub[column["name"]] = sub[column["name"]].astype("string")
    frame.attrs["notes"] = [*frame.attrs.get("notes", []), *notes]
    arrays = column_arrays(sub, keys)
    # Converted now (not lazily), so the notes are on the frame before the caller copies it.
    return ({key: tf.constant(values[start:start + PREDICT_BATCH, 0]) for key, values in arrays.items()}
            for start in range(0, len(frame), PREDICT_BATCH))


TABLE = TableModality("table", accepts="a CSV/TSV/Parquet table with the training columns")
