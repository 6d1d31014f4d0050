"""Ingest stage: find the layout of `config.data` and load it as a Dataset of streamed splits."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from automl.errors import DataError
from automl.ingest.anomaly import ANOMALY, NORMAL, UNKNOWN, has_unlabelled_series, load_anomaly, looks_like_flat_image_folder
from automl.ingest.arrays import load_npz
from automl.ingest.audio import decode_clip, fit_waveform, is_audio_file, load_audio_folder, looks_like_audio_folder
from automl.ingest.dataset import SPLITS, Dataset, SkippedFile, Split
from automl.ingest.examples import write_example
from automl.ingest.forecast import ForecastInputs, load_forecast
from automl.ingest.image_table import image_table_file, load_image_table
from automl.ingest.images import decode_bytes, decode_file, fit_pixels, is_image_file, load_image_folder, looks_like_image_folder
from automl.ingest.series import is_series_file, load_series_files, pad_series, read_ts, series_split_files
from automl.ingest.table import column_arrays, is_numeric_column, is_table_file, load_table, read_table, table_split_files
from automl.ingest.text import decode_text, is_text_file, load_text_folder, looks_like_text_folder
from automl.ingest.tfds_source import load_tfds
from automl.ingest.time_axis import regular_time_axis
from automl.ingest.walk import DataFolder, follows_symlinks, outside_hint

__all__ = ["Dataset", "Split", "SPLITS", "SkippedFile", "ForecastInputs", "load_dataset", "describe_layouts",
           # Readers shared with `automl predict` (new files are read by the training rules) and profiling:
           "decode_bytes", "decode_file", "fit_pixels", "is_image_file", "decode_text", "is_text_file", "is_table_file", "read_table",
           "column_arrays", "is_numeric_column", "is_series_file", "read_ts", "pad_series", "regular_time_axis",
           "decode_clip", "fit_waveform", "is_audio_file", "DataFolder",
           "ANOMALY", "NORMAL", "UNKNOWN"]  # anomaly detection's evaluation labels (Split.labels)


def describe_layouts(data: str) -> str:
    return (f"Expected class sub-folders of images ({data}/cats/*.jpg), of .txt files ({data}/pos/1.txt) or of "
            f".wav files ({data}/yes/1.wav), images beside a labels.csv of file names and values ({data}/labels.csv), "
            "a CSV/TSV/Parquet file with a target column, a UCR/UEA .ts series file (or NAME_TRAIN.ts + NAME_TEST.ts), an .npz with x and y arrays, or tfds:NAME.")


def load_dataset(config) -> Dataset:
    """Detects the layout of config.data and loads it.

    Raises:
        DataError: The path does not exist or holds no layout we read.
    """
    if config.data.startswith("tfds:"):
        return load_tfds(config.data[len("tfds:"):], config)
    if config.data.startswith("example:"):
        folder = Path(config.run_dir) / "example-data" if config.run_dir else Path(tempfile.mkdtemp(prefix="automl-"))
        path = write_example(config.data[len("example:"):], folder)
        return load_dataset(dataclasses.replace(config, data=str(path)))
    path = Path(config.data).expanduser()
    if not path.exists():
        raise DataError(f"No such file or folder: '{config.data}'. {describe_layouts(config.data)}")
    if config.horizon is not None:  # a horizon is what asks for forecasting
        if not is_table_file(path):
            raise DataError(f"--horizon asks for a forecast, which reads one CSV/TSV/Parquet table with a time "
                            f"column and value columns; '{config.data}' is not one. Pass such a file, or drop "
                            "--horizon to classify or regress.")
        return load_forecast(path, config)
    if config.task == "anomaly":  # forced: labels, if any, only score the detector
        return load_anomaly(path, config)
    if path.is_file():
        if path.suffix.lower() == ".npz":
            return load_npz(path, config)
        if is_table_file(path):
            return load_table(path, config)
        if is_series_file(path):  # without labels (@classLabel false): anomaly detection
            return load_anomaly(path, config) if has_unlabelled_series(path) else load_series_files(path, config)
        raise DataError(f"Cannot read '{path}' (extension '{path.suffix}'). {describe_layouts(config.data)}")
    if not path.is_dir():
        raise DataError(f"Cannot read '{path}': it is neither a file nor a folder. {describe_layouts(config.data)}")
    # Every walk below goes through DataFolder: links leading out of the data folder are not followed.
    follow = follows_symlinks(config)
    tree = DataFolder(path, follow)
    if table_split_files(path, tree):
        return load_table(path, config)
    if series_split_files(path, tree):
        files = series_split_files(path, tree)
        unlabelled = has_unlabelled_series(files.get("train", files.get("all")))
        return load_anomaly(path, config) if unlabelled else load_series_files(path, config)
    if looks_like_audio_folder(path, follow):
        return load_audio_folder(path, config)
    if looks_like_text_folder(path, follow):
        return load_text_folder(path, config)
    labels_table = image_table_file(path, tree)  # images beside a table of their values or label sets
    if labels_table is not None:
        return load_image_table(path, labels_table, config)
    if looks_like_flat_image_folder(path, follow):  # images without class sub-folders: anomaly detection
        return load_anomaly(path, config)
    if looks_like_image_folder(path, follow):
        return load_image_folder(path, config)
    tree.walk()
    raise DataError(f"No training data found in '{config.data}'.{outside_hint(tree.skipped)} {describe_layouts(config.data)}")
