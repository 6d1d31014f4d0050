"""Ingest a CSV/TSV/Parquet table (or a folder of train/val/test tables) with a target column."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest.dataset import Dataset, Split, TableFacts, fingerprint_of
from automl.ingest.splits import check_class_sizes, describe_split, split_indices
from automl.ingest.series import series_from_table
from automl.ingest.text import text_from_table

TABLE_EXTENSIONS = {".csv", ".tsv", ".tab", ".parquet", ".pq"}
TARGET_GUESSES = ("label", "target", "class", "y")
# An integer target with more distinct values than this is a quantity to regress, not classes.
MAX_INTEGER_CLASSES = 30


def is_table_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in TABLE_EXTENSIONS


# File stems read as splits; "dev" is how GLUE and most NLP datasets name their validation file.
SPLIT_FILE_STEMS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val", "test": "test"}


def table_split_files(root: Path) -> dict[str, Path]:
    """train.csv (+ val.csv / valid.csv / validation.csv / dev.csv, test.csv) inside a folder, if present."""
    found = {}
    for path in sorted(root.iterdir()):
        stem = path.stem.lower()
        split = SPLIT_FILE_STEMS.get(stem)
        if split and is_table_file(path):
            found[split] = path
    return found if "train" in found else {}


def read_table(path: Path) -> pd.DataFrame:
    """Reads one table file; the delimiter follows the extension, with a sniff for ';' CSVs."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        options = dict(sep="\t" if suffix in (".tsv", ".tab") else ",", encoding="utf-8-sig",
                       encoding_errors="replace")  # like text files: U+FFFD, counted for text columns
        frame = pd.read_csv(path, **options)
        if frame.shape[1] == 1 and ";" in str(frame.columns[0]):
            options["sep"] = ";"
            frame = _with_decimal_commas(pd.read_csv(path, **options), pd.read_csv(path, decimal=",", **options))
        frame = _keep_zero_padded_codes(frame, path, options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as error:
        raise DataError(f"Cannot read the table '{path}': {str(error).splitlines()[0]}. "
                        "Expected a CSV/TSV with a header row, or a Parquet file.") from None
    return frame


def _with_decimal_commas(plain: pd.DataFrame, comma: pd.DataFrame) -> pd.DataFrame:
    """';'-separated files mostly come from locales that write decimal commas ("3,5"): a column that
    only parses as numbers with a decimal comma is taken from that reading."""
    for position, column in enumerate(plain.columns):
        if not is_numeric_column(plain[column]) and is_numeric_column(comma.iloc[:, position]):
            plain[column] = comma.iloc[:, position]
    return plain


def _keep_zero_padded_codes(frame: pd.DataFrame, path: Path, options: dict) -> pd.DataFrame:
    """A number column written with leading zeros ("007", "02134") holds codes, not quantities: read
    as numbers, "007" and "07" would become one value (two classes silently merged)."""
    numeric = [i for i, column in enumerate(frame.columns) if is_numeric_column(frame[column])]
    if not numeric or not isinstance(frame.index, pd.RangeIndex):  # rows wider than the header: no positions
        return frame
    text = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=numeric, **options)
    for position, raw in zip(numeric, (text.iloc[:, i] for i in range(len(numeric)))):
        if raw.str.match(r"^\s*[+-]?0\d").any():
            frame[frame.columns[position]] = raw.where(raw != "", None)
    return frame


def choose_target(frame: pd.DataFrame, target: str | None, where: str) -> tuple[str, str | None]:
    """Returns (target column, announcement or None)."""
    if target is not None:
        if target not in frame.columns:
            raise DataError(f"No column {target!r} in {where}. Columns are: {', '.join(map(str, frame.columns))}. "
                            "Pass one of them with --target.")
        return target, None
    lowered = {str(column).lower(): column for column in frame.columns}
    for guess in TARGET_GUESSES:
        if guess in lowered:
            return lowered[guess], f"Target column guessed: {lowered[guess]!r} (by its name; set --target to change)."
    last = frame.columns[-1]
    return last, f"Target column guessed: {last!r} (the last column; set --target to change)."


def _is_regression(target: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return False
    integral = np.all(np.mod(target.to_numpy(dtype=float), 1) == 0)
    return not integral or target.nunique() > MAX_INTEGER_CLASSES


def _class_order(values: pd.Series) -> list[str]:
    names = sorted(set(values.astype(str)))
    numeric = pd.to_numeric(pd.Series(names), errors="coerce")
    return [names[i] for i in np.argsort(numeric.to_numpy())] if numeric.notna().all() else names


def safe_keys(columns) -> dict[str, str]:
    """Maps column names to unique identifier-safe keys (used as model input and signature names)."""
    keys = {}
    for column in columns:
        key = re.sub(r"[^A-Za-z0-9_]", "_", str(column)) or "column"
        key = f"c_{key}" if not key[0].isalpha() else key
        while key in keys.values():
            key += "_"
        keys[column] = key
    return keys


def is_numeric_column(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def column_arrays(frame: pd.DataFrame, keys: dict[str, str]) -> dict[str, np.ndarray]:
    """Raw columns as model inputs: numbers as float32 (NaN kept), the rest as strings ("" if missing)."""
    arrays = {}
    for column, key in keys.items():
        series = frame[column]
        if is_numeric_column(series):
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float32)
        else:
            values = series.astype("string").fillna("").to_numpy(dtype=object).astype(str)
        arrays[key] = values.reshape(-1, 1)
    return arrays


def _split(frame, labels, keys) -> Split:
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    data = tf.data.Dataset.from_tensor_slices((column_arrays(frame, keys), labels))
    return Split(data, labels, tuple(f"{h:016x}" for h in hashes))


def load_table(path: Path, config) -> Dataset:
    """Reads a table file or a folder of train/val/test tables.

    Raises:
        DataError: Unreadable table, unknown target, too few rows or classes.
    """
    files = table_split_files(path) if path.is_dir() else {"all": path}
    frames = {name: read_table(file) for name, file in files.items()}
    name = path.stem if path.is_file() else path.resolve().name
    return table_dataset(frames, config, name, where=f"'{files.get('train', path)}'")


def table_dataset(frames: dict[str, pd.DataFrame], config, name: str, where: str, notes=()) -> Dataset:
    """Builds a Dataset from raw frames keyed "all" or "train"/"val"/"test"."""
    # The target is guessed from the training table: a test file may hold no labels at all.
    target, announced = choose_target(frames.get("train", next(iter(frames.values()))), config.target, where)
    notes = list(notes) + ([announced] if announced else [])
    for split, frame in frames.items():
        if target not in frame.columns:
            unlabelled = (" An unlabelled test table cannot score the model: move it out of the folder (the "
                          "validation table, else part of the training table, then becomes the test split) or use a "
                          "labelled one.") if split == "test" else ""
            raise DataError(f"The {split} table has no target column {target!r}; its columns are "
                            f"{', '.join(map(str, frame.columns))}. Give every split the same columns.{unlabelled}")
        absent = frame[target].isna() | frame[target].isin([np.inf, -np.inf])  # ±inf: no usable value either
        if absent.any():
            notes.append(f"Dropped {int(absent.sum())} {split} rows with no (finite) value in the target column {target!r}.")
        frames[split] = frame[~absent].reset_index(drop=True)
    whole = pd.concat(frames.values(), ignore_index=True)
    if len(whole) < 10 or whole.shape[1] < 2:
        raise DataError(f"{where} has {len(whole)} rows and {whole.shape[1]} columns; "
                        "a table needs a target column, at least one feature column and at least 10 rows.")
    regression = _is_regression(whole[target])
    class_names = [] if regression else _class_order(whole[target])

    def encode(series):
        return (series.to_numpy(dtype=np.float32) if regression
                else series.astype(str).map({n: i for i, n in enumerate(class_names)}).to_numpy(dtype=np.int64))
    if not regression:
        check_class_sizes(encode(whole[target]), class_names, f"the target column {target!r}", unit="rows")

    parts, how = _table_splits(frames, target, encode, regression, config)
    keys = safe_keys([c for c in whole.columns if c != target])
    splits = {split: _split(frame, labels, keys) for split, (frame, labels) in parts.items()}
    dataset = Dataset(
        name=name, source=f"Table {where} ({len(whole)} rows, {len(keys)} feature columns, target {target!r})",
        modality="table", task="regression" if regression else "classification",
        class_names=tuple(class_names), train=splits["train"], val=splits["val"], test=splits["test"],
        split_note=describe_split({k: v.size for k, v in splits.items()}, how),
        fingerprint=fingerprint_of(splits), target=str(target),
        table=TableFacts(*(parts[split][0] for split in ("train", "val", "test")), keys=keys),
        notes=tuple(notes),
    )
    # A table with a text column is text data; one whose rows are series (t0..tN) is series data.
    return text_from_table(dataset, config) or series_from_table(dataset, config) or dataset


def _table_splits(frames, target, encode, regression, config):
    """Returns ({split: (features frame, labels)}, how) honouring given split files."""
    seed, val_f, test_f = config.seed, config.val_fraction, config.test_fraction
    given = dict(frames)
    if "all" in given:
        source, need_test = given.pop("all"), True
        how = f"Seeded {'random' if regression else 'stratified'} split (seed {seed})"
    else:
        source, need_test = given.pop("train"), "test" not in given
        how = "Honoured the given split files" + ("" if "val" in given else f"; validation is {val_f:.0%} of train")
        if "val" in given and need_test:
            given["test"], need_test = given.pop("val"), False
            how = "Honoured train and val files (val is the held-out test split); validation is from train"
    labels = encode(source[target])
    if "val" not in given:
        train, val, test = split_indices(labels, val_f, test_f, seed, stratified=not regression, need_test=need_test)
        given["val"] = source.iloc[val]
        if need_test:
            given["test"] = source.iloc[test]
        source = source.iloc[train]
    given["train"] = source
    return {name: (frame.drop(columns=[target]).reset_index(drop=True), encode(frame[target]))
            for name, frame in given.items()}, how
