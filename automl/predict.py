"""`automl predict`: a finished run's SavedModel applied to new raw images or table rows → a CSV."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest.images import decode_file, is_image_file
from automl.ingest.table import column_arrays, is_table_file, read_table

BATCH = 64


def _load(run_dir: Path):
    meta_path = run_dir / "model" / "metadata.json"
    if not meta_path.exists():
        raise DataError(f"'{run_dir}' has no exported model (model/metadata.json). "
                        "Give the run directory of a finished `automl run`.")
    return tf.saved_model.load(str(run_dir / "model")), json.loads(meta_path.read_text())


def _image_batches(paths, meta):
    info = meta["image_inputs"]
    for start in range(0, len(paths), BATCH):
        images = []
        for path in paths[start:start + BATCH]:
            try:
                # Same-size batches: the model resizes inside too, so this only groups images of any size.
                images.append(decode_file(str(path), info["height"], info["width"], info["channels"]))
            except tf.errors.InvalidArgumentError:
                raise DataError(f"Cannot decode '{path}' as an image. Remove it or fix the file.") from None
        yield tf.stack(images)


def _table_batches(frame: pd.DataFrame, meta):
    missing = [c["name"] for c in meta["columns"] if c["name"] not in frame.columns]
    if missing:
        raise DataError(f"The table lacks column(s) {', '.join(map(repr, missing))} that the model needs. "
                        f"Expected columns: {', '.join(c['name'] for c in meta['columns'])}.")
    keys = {c["name"]: c["key"] for c in meta["columns"]}
    sub = frame[list(keys)].copy()
    for column in meta["columns"]:  # the training types decide, not how this file was parsed
        if column["kind"] == "numeric":
            sub[column["name"]] = pd.to_numeric(sub[column["name"]], errors="coerce")
        else:
            sub[column["name"]] = sub[column["name"]].astype("string")
    arrays = column_arrays(sub, keys)
    for start in range(0, len(frame), BATCH):
        yield {key: tf.constant(values[start:start + BATCH, 0]) for key, values in arrays.items()}


def _text_inputs(source: Path, meta):
    """Raw texts and the frame the predictions are added to: .txt files (one text each) or a table's text column."""
    from automl.ingest.text import decode_text, is_text_file

    if source.is_dir() or is_text_file(source):
        paths = sorted(p for p in source.rglob("*") if is_text_file(p)) if source.is_dir() else [source]
        if not paths:
            raise DataError(f"No .txt files in '{source}'. Give a .txt file, a folder of them, or a table.")
        return [decode_text(p.read_bytes())[0] for p in paths], pd.DataFrame({"path": [str(p) for p in paths]})
    if not is_table_file(source):
        raise DataError(f"'{source}' is neither a .txt file, a folder of them, nor a CSV/TSV/Parquet table.")
    frame, column = read_table(source), meta.get("text_column")
    if column is None or column not in frame.columns:
        raise DataError(f"The table '{source}' has no column {column!r}, which holds the text this model reads. "
                        f"Columns are: {', '.join(map(str, frame.columns))}.")
    return frame[column].astype("string").fillna("").tolist(), frame.copy()


def _text_batches(texts: list[str]):
    for start in range(0, len(texts), BATCH):
        yield tf.constant(texts[start:start + BATCH], tf.string)


def _series_inputs(source: Path, meta) -> tuple[np.ndarray, pd.DataFrame]:
    """Series padded or cut to the model's length: a .ts file (labels optional), or a table with one
    series a row — the training table's time-step columns, or else every numeric column in order."""
    from automl.ingest.series import is_series_file, pad_series, read_ts

    spec = meta["series_inputs"]
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


def predict_to_csv(run_dir: Path, source: Path, output: Path | None) -> tuple[Path, int]:
    """Predicts every image (file or folder) or table row in source and writes a CSV.

    Returns:
        The CSV path and the number of predictions.
    """
    model, meta = _load(run_dir)
    if not source.exists():
        raise DataError(f"No such file or folder: '{source}'. Give an image, a folder of images or a table.")
    if meta["task"] == "forecast":  # the steps after the table's end, not one prediction a row
        from automl.forecast_predict import forecast_to_csv

        return forecast_to_csv(model, meta, source, output or run_dir / "predictions.csv")
    if meta["modality"] == "series":
        values, frame = _series_inputs(source, meta)
        batches = (tf.constant(values[start:start + BATCH]) for start in range(0, len(values), BATCH))
    elif meta["modality"] == "text":
        texts, frame = _text_inputs(source, meta)
        batches = _text_batches(texts)
    elif meta["modality"] == "image":
        paths = sorted(p for p in source.rglob("*") if is_image_file(p)) if source.is_dir() else [source]
        if not paths:
            raise DataError(f"No images in '{source}'.")
        batches, frame = _image_batches(paths, meta), pd.DataFrame({"path": [str(p) for p in paths]})
    else:
        if not is_table_file(source):
            raise DataError(f"'{source}' is not a CSV/TSV/Parquet table, which this model (trained on a table) needs.")
        frame = read_table(source)
        batches = _table_batches(frame, meta)
        frame = frame.copy()
    outputs = [model.serve(batch) for batch in batches]
    if meta["task"] == "regression":
        frame["prediction"] = np.concatenate([o["prediction"].numpy() for o in outputs])
    else:
        probabilities = np.concatenate([o["probabilities"].numpy() for o in outputs])
        frame["predicted_class"] = [meta["class_names"][i] for i in probabilities.argmax(axis=1)]
        for i, name in enumerate(meta["class_names"]):
            frame[f"probability_{name}"] = probabilities[:, i]
    output = output or run_dir / "predictions.csv"
    frame.to_csv(output, index=False)
    return output, len(frame)
