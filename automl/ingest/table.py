"""Ingest a CSV/TSV/Parquet table (or a folder of train/val/test tables) with a target column."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest.dataset import Dataset, GroupFacts, Split, TableFacts, fingerprint_of
from automl.ingest.label_sets import JOIN, joined_label_columns, label_sets_of
from automl.ingest.splits import check_class_sizes, describe_split, split_indices
from automl.ingest.series import series_from_table
from automl.ingest.text import text_encoding, text_from_table
from automl.ingest.walk import DataFolder

TABLE_EXTENSIONS = {".csv", ".tsv", ".tab", ".parquet", ".pq"}
TARGET_GUESSES = ("label", "target", "class", "y")
# An integer target with more distinct values than this is a quantity to regress, not classes.
MAX_INTEGER_CLASSES = 30


def is_table_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in TABLE_EXTENSIONS


# File stems read as splits; "dev" is how GLUE and most NLP datasets name their validation file.
SPLIT_FILE_STEMS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val", "test": "test"}


def table_split_files(root: Path, tree: DataFolder | None = None) -> dict[str, Path]:
    """train.csv (+ val.csv / valid.csv / validation.csv / dev.csv, test.csv) inside a folder, if present.
    Links leading out of the folder are not followed (recorded in `tree`)."""
    found = {}
    for path in (tree or DataFolder(root)).files(root):
        stem = path.stem.lower()
        split = SPLIT_FILE_STEMS.get(stem)
        if split and is_table_file(path):
            found[split] = path
    return found if "train" in found else {}


def read_table(path: Path) -> pd.DataFrame:
    """Reads one table file; the delimiter follows the extension, with a sniff for ';' CSVs."""
    return read_table_checked(path)[0]


def read_table_checked(path: Path) -> tuple[pd.DataFrame, dict[str, tuple[str, ...]]]:
    """Reads one table file, and says which header names were repeated: {name: the columns pandas made of
    its repeats ("x", "x.1", …)}.

    Raises:
        DataError: The file cannot be parsed, or a Parquet file repeats a column name.
    """
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            _refuse_repeated_parquet_columns(path)
            return pd.read_parquet(path), {}
        options = dict(sep="\t" if suffix in (".tsv", ".tab") else ",", encoding=_csv_encoding(path),
                       encoding_errors="replace")  # like text files: U+FFFD, counted for text columns
        frame = pd.read_csv(path, **options)
        if frame.shape[1] == 1 and ";" in str(frame.columns[0]):
            options["sep"] = ";"
            frame = _with_decimal_commas(pd.read_csv(path, **options), pd.read_csv(path, decimal=",", **options))
        frame = _keep_zero_padded_codes(frame, path, options)
        repeated = _repeated_header_names(frame, path, options)
    except DataError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as error:
        raise DataError(f"Cannot read the table '{path}': {str(error).splitlines()[0]}. "
                        "Expected a CSV/TSV with a header row, or a Parquet file.") from None
    return frame, repeated


def _csv_encoding(path: Path) -> str:
    """UTF-8 (a BOM dropped), or UTF-16/32 as a byte-order mark (or the NUL pattern of UTF-16) says:
    Excel's "Unicode text" is UTF-16 with a BOM."""
    with open(path, "rb") as file:
        head = file.read(4096)
    codec, mark = text_encoding(head)
    if codec == "utf-8":
        return "utf-8-sig"
    return codec.rsplit("-", 1)[0] if mark else codec  # "utf-16" reads (and drops) the mark itself


def _refuse_repeated_parquet_columns(path: Path) -> None:
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(f"The Parquet file '{path}' has repeated column names: "
                        + ", ".join(f"{name!r} ({names.count(name)} times)" for name in repeated)
                        + ". Give every column its own name.")


def _repeated_header_names(frame: pd.DataFrame, path: Path, options: dict) -> dict[str, tuple[str, ...]]:
    """pandas renames a repeated header name "x" to "x.1", "x.2", …: which names were repeated, and as what."""
    header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False, **options)
    raw = [str(name) for name in header.iloc[0]] if len(header) else []
    if len(raw) != frame.shape[1] or len(set(raw)) == len(raw):
        return {}
    return {name: tuple(str(frame.columns[i]) for i, r in enumerate(raw) if r == name)
            for name in dict.fromkeys(raw) if raw.count(name) > 1 and name.strip()}


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
    tree = DataFolder.of(path, config)
    files = table_split_files(path, tree) if path.is_dir() else {"all": path}
    frames, repeated = {}, {}
    for split, file in files.items():
        frames[split], repeated_here = read_table_checked(file)
        repeated.update(repeated_here)
    name = path.stem if path.is_file() else path.resolve().name
    dataset = table_dataset(frames, config, name, where=f"'{files.get('train', path)}'", repeated=repeated)
    return dataclasses.replace(dataset, skipped=tuple(tree.skipped)) if tree.skipped else dataset


def table_dataset(frames: dict[str, pd.DataFrame], config, name: str, where: str, notes=(),
                  repeated: dict[str, tuple[str, ...]] | None = None) -> Dataset:
    """Builds a Dataset from raw frames keyed "all" or "train"/"val"/"test".

    Args:
        repeated: Header names that were repeated, and the columns pandas made of them ("x", "x.1").

    Raises:
        DataError: Unknown or unusable target, too few rows or classes, numbers too large for float32.
    """
    first = frames.get("train", next(iter(frames.values())))
    joined = bool(config.target) and "," in config.target and config.target not in first.columns
    if joined:  # --target a,b,c: several 0/1 label columns, joined into one column of label sets
        frames = joined_label_columns(frames, config.target, where)
    # The target is guessed from the training table: a test file may hold no labels at all.
    target, announced = choose_target(frames.get("train", next(iter(frames.values()))), config.target, where)
    notes = list(notes) + ([announced] if announced else [])
    notes += _repeated_names_note(repeated or {}, target, where)
    frames, dropped = _drop_nested_columns(frames, target, where)
    notes += dropped
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
    label_sets = label_sets_of(whole[target], config, where, str(target), JOIN if joined else None)
    if label_sets is not None:  # several labels a row: a multi-hot vector each, split at random
        return _multilabel_table(frames, whole, target, label_sets, config, name, where, notes)
    regression = _is_regression(whole[target]) if config.task == "auto" else config.task == "regression"
    if config.task != "auto":
        notes.append(f"Task: {config.task}, as --task says (the guess from the target column {target!r} was "
                     f"{'regression' if _is_regression(whole[target]) else 'classification'}).")
    if regression and not pd.api.types.is_numeric_dtype(whole[target]):
        raise DataError(f"--task regression needs a numeric target, but {target!r} in {where} holds text (e.g. "
                        f"{str(whole[target].iloc[0])[:40]!r}). Use --task classification, or pick another --target.")
    _refuse_float32_overflow(whole, target, regression, where)
    if regression and whole[target].nunique() == 1:
        raise DataError(f"Every row of {where} has the same target value ({whole[target].iloc[0]} in "
                        f"{target!r}): there is nothing to learn. Check the target column (--target), or add "
                        "rows with other values.")
    class_names = [] if regression else _class_order(whole[target])

    def encode(series):
        return (series.to_numpy(dtype=np.float32) if regression
                else series.astype(str).map({n: i for i, n in enumerate(class_names)}).to_numpy(dtype=np.int64))
    if not regression:
        check_class_sizes(encode(whole[target]), class_names, f"the target column {target!r}", unit="rows")

    parts, how = _table_splits(frames, target, encode, regression, config)
    task = "regression" if regression else "classification"
    return _table_of(parts, how, whole, target, task, class_names, config, name, where, notes, frames)


def _multilabel_table(frames, whole, target, label_sets, config, name: str, where: str, notes) -> Dataset:
    """A table whose target holds label sets: multi-hot labels, a seeded random split (stratifying on label
    sets would leave most sets alone in their stratum)."""
    _refuse_float32_overflow(whole, target, False, where)
    parts, how = _table_splits(frames, target, label_sets.encode, True, config)
    return _table_of(parts, how, whole, target, "multilabel", label_sets.names, config, name, where,
                     [*notes, *label_sets.notes], frames)


def _table_of(parts, how, whole, target, task, class_names, config, name, where, notes, frames) -> Dataset:
    """The Dataset of a table's split frames and labels (as text or series data when its columns say so)."""
    keys = safe_keys([c for c in whole.columns if c != target])
    splits = {split: _split(frame, labels, keys) for split, (frame, labels) in parts.items()}
    dataset = Dataset(
        name=name, source=f"Table {where} ({len(whole)} rows, {len(keys)} feature columns, target {target!r})",
        modality="table", task=task,
        class_names=tuple(class_names), train=splits["train"], val=splits["val"], test=splits["test"],
        split_note=describe_split({k: v.size for k, v in splits.items()}, how),
        fingerprint=fingerprint_of(splits), target=str(target),
        table=TableFacts(*(parts[split][0] for split in ("train", "val", "test")), keys=keys),
        groups=_groups(config, whole, parts["test"][0], target, where),
        notes=tuple(notes), validation_given={"train", "val", "test"} <= set(frames),
    )
    # A table with a text column is text data; one whose rows are series (t0..tN) is series data.
    return text_from_table(dataset, config) or series_from_table(dataset, config) or dataset


def _groups(config, whole: pd.DataFrame, test: pd.DataFrame, target, where: str) -> GroupFacts | None:
    """--group-column, checked (a column of the table other than the target), with the test rows' values."""
    column = getattr(config, "group_column", None)
    if column is None:
        return None
    if column not in whole.columns or column == str(target):
        raise DataError(f"--group-column {column!r}: {where} has no such column"
                        f"{' other than the target' if column == str(target) else ''}. Its columns are: "
                        f"{', '.join(map(str, list(whole.columns)[:20]))}.")
    return GroupFacts(column, tuple(test[column].astype("string").fillna("(missing)")))


def _repeated_names_note(repeated: dict[str, tuple[str, ...]], target, where: str) -> list[str]:
    """A repeated target name is refused (a copy of the target among the features gives the answer away);
    other repeated names are announced with what pandas renamed them to."""
    for name, columns in repeated.items():
        if str(target) in columns:
            raise DataError(f"The target column {name!r} appears {len(columns)} times in the header of {where} "
                            f"(read as {', '.join(map(repr, columns))}): a copy of the target among the features "
                            "would give the answer away. Remove or rename the repeated column.")
    if not repeated:
        return []
    return [f"Repeated column names in the header: " + "; ".join(
        f"{name!r} ({len(columns)} times, read as {', '.join(map(repr, columns))})" for name, columns in repeated.items())
        + ". Rename them to say what each holds."]


# Cells holding these are nested values (Parquet list, struct and map columns): no table model reads them.
NESTED_TYPES = (list, tuple, dict, set, np.ndarray)


def _is_nested(series: pd.Series) -> bool:
    if not pd.api.types.is_object_dtype(series.dtype):
        return isinstance(series.dtype, pd.ArrowDtype) and series.dtype.pyarrow_dtype.num_fields > 0
    return bool(series.map(lambda value: isinstance(value, NESTED_TYPES)).any())


def _drop_nested_columns(frames: dict[str, pd.DataFrame], target, where: str):
    """Drops list / struct / map columns (announced); a nested target is refused."""
    nested = list(dict.fromkeys(column for frame in frames.values() for column in frame.columns
                                if _is_nested(frame[column])))
    if not nested:
        return frames, []
    if target in nested:
        raise DataError(f"The target column {target!r} of {where} holds nested values (lists, structs or maps), "
                        "which cannot be classes or numbers to predict. Pick another column with --target, or "
                        "flatten it into one value a row.")
    frames = {split: frame.drop(columns=[c for c in nested if c in frame.columns]) for split, frame in frames.items()}
    return frames, [f"Dropped nested column(s) {', '.join(map(repr, nested[:8]))} (lists, structs or maps), which a "
                    "table model cannot read; flatten them into plain columns to use them."]


FLOAT32_MAX = float(np.finfo(np.float32).max)
# A regression loss squares errors in float32: targets beyond this would overflow it.
REGRESSION_TARGET_LIMIT = FLOAT32_MAX ** 0.5


def _refuse_float32_overflow(whole: pd.DataFrame, target, regression: bool, where: str) -> None:
    """Models compute in float32: numbers that float64 holds but float32 cannot (|x| > 3.4e38; for a
    regression target, |y| whose square overflows) would become infinite, so they are refused by name."""
    for column in whole.columns:
        series = whole[column]
        if not is_numeric_column(series) or pd.api.types.is_bool_dtype(series) or column == target and not regression:
            continue
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        values = np.abs(values[np.isfinite(values)])
        limit = REGRESSION_TARGET_LIMIT if column == target else FLOAT32_MAX
        if len(values) and values.max() > limit:
            what = "target column" if column == target else "column"
            raise DataError(
                f"The {what} {column!r} of {where} holds values as large as {values.max():.3g} "
                f"({int((values > limit).sum())} above {limit:.3g}), beyond what the model's 32-bit numbers can "
                f"{'hold' if column != target else 'square in the loss'}. Rescale it (e.g. take its logarithm or "
                "divide by a power of ten)" + (" or drop it." if column != target else "."))


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
