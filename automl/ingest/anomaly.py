"""Ingest data for anomaly detection: a table (--task anomaly), a flat folder of images, or unlabelled series.

Labels, where there are some, only score the detector: they are the Split's labels (1 anomaly, 0 normal,
-1 unknown) and never a training target or feature. Known anomalies are kept out of training and
validation (the autoencoder should learn what normal looks like, and the threshold is a quantile of
normal validation errors) and all go to the test split, where they are scored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest.dataset import Dataset, ImageFacts, SkippedFile, Split, TableFacts, fingerprint_of
from automl.ingest.images import GRAY_MODES, choose_image_size, inspect_image, is_image_file, stream_images
from automl.ingest.series import (is_series_file, pad_series, read_ts, series_facts_of, series_from_table,
                                  series_split, series_split_files, ts_header)
from automl.ingest.splits import describe_split, split_indices
from automl.ingest.table import column_arrays, is_table_file, read_table_checked, safe_keys, table_split_files
from automl.ingest.walk import DataFolder

# Split.labels of anomaly data (evaluation only, never a training target): known anomaly, normal, unknown.
ANOMALY, NORMAL, UNKNOWN = 1, 0, -1
# A table column with one of these names (any case) holds known anomalies, for evaluation only.
LABEL_COLUMNS = ("anomaly", "is_anomaly", "outlier", "label", "target", "class", "y")
# Sub-folders of an image folder holding known anomalies (test only); the images beside them are normal.
ANOMALY_FOLDERS = {"anomaly", "anomalies", "anomalous", "outlier", "outliers"}
NORMAL_FOLDERS = {"normal", "good", "ok"}
# Label values read as "anomaly" or "normal" by name; other two-valued labels: the rarer value is the anomaly.
ANOMALY_VALUES = {"1", "1.0", "true", "yes", "anomaly", "anomalous", "abnormal", "outlier"}
NORMAL_VALUES = {"0", "0.0", "false", "no", "normal", "inlier", "good", "ok"}
# Fewer normal examples than this leave too little to learn normal from and to set the threshold on.
MIN_NORMAL_EXAMPLES = 10
SETUP = ("anomaly detection reads a table (--task anomaly), a folder of images without class sub-folders (known "
         "anomalies, if any, in an anomaly/ sub-folder), or a .ts series file without labels")


def anomaly_labels(values: pd.Series, where: str) -> tuple[np.ndarray, str]:
    """A label column as 1 (anomaly), 0 (normal) or -1 (missing), and how its values were read.

    Raises:
        DataError: The column has more than two values, so it is not anomaly / normal.
    """
    text = values.astype("string").str.strip().str.lower()
    present = sorted(set(text.dropna()))
    if len(present) > 2:
        raise DataError(f"{where} has {len(present)} values ({', '.join(map(repr, present[:6]))}); known anomalies "
                        "need two (e.g. 0/1 or normal/anomaly). Drop the column, or classify with --task classification.")
    if set(present) <= ANOMALY_VALUES | NORMAL_VALUES and not set(present) <= ANOMALY_VALUES:
        anomalous = [v for v in present if v in ANOMALY_VALUES]
        how = "by name"
    else:  # two other values: the rarer one marks the anomalies
        counts = text.value_counts()
        anomalous = [counts.idxmin()] if len(present) == 2 else []
        how = f"the rarer value, {anomalous[0]!r}, as the anomaly" if anomalous else "no anomaly value"
    labels = np.where(text.isna(), UNKNOWN, np.where(text.isin(anomalous), ANOMALY, NORMAL)).astype(np.int64)
    return labels, how


def assign_splits(labels: dict[str, np.ndarray], config, where: str) -> tuple[dict[str, list], str]:
    """{split: [(source, indices)]} from labels keyed "all" or "train" (+ "val", "test"): the normal and unknown
    examples of the pool are split train/val(/test), and every known anomaly outside a given test goes to test.

    Raises:
        DataError: Too few examples that are not known anomalies to train on.
    """
    pool = "all" if "all" in labels else "train"
    usable = np.flatnonzero(labels[pool] != ANOMALY)
    if len(usable) < MIN_NORMAL_EXAMPLES:
        raise DataError(f"{where} has {len(usable)} examples that are not known anomalies; anomaly detection needs at "
                        f"least {MIN_NORMAL_EXAMPLES} to learn what normal looks like.")
    need_test, need_val = "test" not in labels, "val" not in labels
    train, val, test = split_indices(np.zeros(len(usable)), config.val_fraction, config.test_fraction,
                                     config.seed, stratified=False, need_test=need_test)
    splits = {"train": [(pool, usable[train])],
              "val": [(pool, usable[val])] if need_val else [("val", np.flatnonzero(labels["val"] != ANOMALY))],
              "test": [(pool, usable[test])] if need_test else [("test", np.arange(len(labels["test"])))]}
    for source in (pool, *(["val"] if not need_val else [])):
        splits["test"].append((source, np.flatnonzero(labels[source] == ANOMALY)))
    how = (f"Seeded random split (seed {config.seed}) of the examples not known to be anomalies"
           if need_test else "Honoured the given test split") + "; known anomalies are scored on test only"
    return splits, how


def _gather(parts: list, arrays: dict) -> np.ndarray:
    return np.concatenate([np.asarray(arrays[source])[idx] for source, idx in parts])


def _labelled_note(splits: dict[str, Split]) -> str:
    test = splits["test"].labels
    if not (test == ANOMALY).any():
        return "No labelled anomalies: the report gives the score distribution and the threshold, not precision or recall."
    return (f"{int((test == ANOMALY).sum())} labelled anomalies and {int((test == NORMAL).sum())} normal examples in "
            "the test split score the detector (labels are never used for training).")


def _dataset(name: str, source: str, modality: str, splits: dict[str, Split], how: str, notes: list, **facts) -> Dataset:
    return Dataset(name=name, source=source, modality=modality, task="anomaly", class_names=(), **splits,
                   split_note=describe_split({k: v.size for k, v in splits.items()}, how),
                   fingerprint=fingerprint_of(splits), notes=tuple([*notes, _labelled_note(splits)]), **facts)


def load_anomaly(path: Path, config) -> Dataset:
    """Reads `path` for anomaly detection (forced with --task anomaly, or detected: a flat image folder or a .ts
    file without labels).

    Raises:
        DataError: A layout anomaly detection does not read, too few examples, or a label column that is not
            anomaly / normal.
    """
    tree = DataFolder.of(path, config)
    if is_table_file(path) or (path.is_dir() and table_split_files(path, tree)):
        return _table(path, config, tree)
    if is_series_file(path) or (path.is_dir() and series_split_files(path, tree)):
        return _series(path, config, tree)
    if path.is_dir() and any(is_image_file(p) for p in tree.walk(path)):
        return _images(path, config, tree)
    raise DataError(f"Cannot read '{path}' for anomaly detection: {SETUP}.")


def _label_column(frame: pd.DataFrame, config, where: str):
    if config.target is not None:
        if config.target not in frame.columns:
            raise DataError(f"No column {config.target!r} in {where}. Columns are: "
                            f"{', '.join(map(str, frame.columns))}. Pass one of them with --target, or leave it out.")
        return config.target
    lowered = {str(column).lower(): column for column in frame.columns}
    return next((lowered[name] for name in LABEL_COLUMNS if name in lowered), None)


def _table(path: Path, config, tree: DataFolder) -> Dataset:
    files = table_split_files(path, tree) if path.is_dir() else {"all": path}
    frames = {split: read_table_checked(file)[0] for split, file in files.items()}
    where = f"'{files.get('train', path)}'"
    label = _label_column(frames.get("train", frames.get("all")), config, where)
    notes, labels = [], {}
    for split, frame in frames.items():
        if label is not None and label in frame.columns:
            labels[split], how = anomaly_labels(frame[label], f"The label column {label!r}")
            frames[split] = frame.drop(columns=[label])
        else:
            labels[split], how = np.full(len(frame), UNKNOWN, dtype=np.int64), ""
    if label is not None:
        notes.append(f"Column {label!r} holds known anomalies (read {how}): it scores the detector and is never a "
                     "feature or a training target.")
    whole = pd.concat(frames.values(), ignore_index=True)
    if whole.shape[1] < 1 or len(whole) < MIN_NORMAL_EXAMPLES:
        raise DataError(f"{where} has {len(whole)} rows and {whole.shape[1]} feature columns; anomaly detection "
                        f"needs at least one feature column and {MIN_NORMAL_EXAMPLES} rows.")
    parts, how = assign_splits(labels, config, where)
    keys = safe_keys(list(whole.columns))
    split_frames = {split: pd.concat([frames[source].iloc[idx] for source, idx in items], ignore_index=True)
                    for split, items in parts.items()}
    splits = {split: _table_split(split_frames[split], _gather(items, labels), keys) for split, items in parts.items()}
    dataset = _dataset(path.stem if path.is_file() else path.resolve().name,
                       f"Table {where} ({len(whole)} rows, {len(keys)} feature columns, no target: anomaly detection)",
                       "table", splits, how, notes,
                       table=TableFacts(*(split_frames[s] for s in ("train", "val", "test")), keys=keys),
                       validation_given="val" in frames)
    return series_from_table(dataset, config) or dataset


def _table_split(frame: pd.DataFrame, labels: np.ndarray, keys: dict) -> Split:
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return Split(tf.data.Dataset.from_tensor_slices((column_arrays(frame, keys), labels)), labels,
                 tuple(f"{h:016x}" for h in hashes))


def looks_like_flat_image_folder(root: Path, follow_symlinks: bool = False) -> bool:
    """Images directly in the folder and no class sub-folders (an anomaly/ or normal/ one at most): nothing to
    classify, so anomaly detection."""
    tree = DataFolder(root, follow_symlinks)
    others = [p for p in tree.subfolders(root) if p.name.lower() not in ANOMALY_FOLDERS | NORMAL_FOLDERS
              and not p.name.startswith(".")]
    return not others and any(is_image_file(p) for p in tree.files(root))


def _image_labels(tree: DataFolder, root: Path, skipped: list) -> tuple[list[Path], np.ndarray]:
    """The folder's images (normal: at the top or in normal/; unknown at the top unless an anomaly/ folder
    says the rest are normal) and their labels."""
    folders = {p.name.lower(): p for p in tree.subfolders(root) if not p.name.startswith(".")}
    unexpected = sorted(set(folders) - ANOMALY_FOLDERS - NORMAL_FOLDERS)
    if unexpected:
        raise DataError(f"'{root}' has sub-folders {', '.join(map(repr, unexpected[:5]))}: {SETUP}. For classes, "
                        "leave out --task anomaly.")
    anomalous = [p for name, p in folders.items() if name in ANOMALY_FOLDERS]
    paths, labels = [], []
    top_label = NORMAL if anomalous else UNKNOWN
    groups = [(tree.files(root), top_label)] + [(tree.walk(p), NORMAL) for n, p in folders.items() if n in NORMAL_FOLDERS]
    groups += [(tree.walk(p), ANOMALY) for p in anomalous]
    for files, label in groups:
        for path in files:
            if is_image_file(path):
                paths.append(path)
                labels.append(label)
            elif not path.name.startswith("."):
                skipped.append(SkippedFile(str(path), f"not an image ({path.suffix or 'no extension'})"))
    return paths, np.array(labels, dtype=np.int64)


def _images(root: Path, config, tree: DataFolder) -> Dataset:
    skipped: list[SkippedFile] = []
    paths, labels = _image_labels(tree, root, skipped)
    inspected = [inspect_image(path) for path in paths]
    good = [i for i, info in enumerate(inspected) if not isinstance(info, str)]
    skipped += [SkippedFile(str(paths[i]), info) for i, info in enumerate(inspected) if isinstance(info, str)]
    paths, labels, inspected = [paths[i] for i in good], labels[good], [inspected[i] for i in good]
    parts, how = assign_splits({"all": labels}, config, f"'{root}'")
    heights = np.array([info[1] for info in inspected])
    widths = np.array([info[2] for info in inspected])
    modes = tuple(info[3] for info in inspected)
    height, width, _ = choose_image_size(heights, widths, config, allow_crop=False)  # an anomaly may sit at an edge
    channels = 1 if all(mode in GRAY_MODES for mode in modes) else 3
    splits = {}
    for split, items in parts.items():
        index = _gather(items, {"all": np.arange(len(paths))})
        splits[split] = Split(stream_images([paths[i] for i in index], labels[index], height, width, channels),
                              labels[index], tuple(inspected[i][0] for i in index))
    return _dataset(root.resolve().name, f"Image folder '{root}' ({len(paths)} images, no classes: anomaly detection)",
                    "image", splits, how, [], images=ImageFacts(heights, widths, modes, (height, width, channels)),
                    skipped=tuple(tree.skipped + skipped))


def has_unlabelled_series(path: Path) -> bool:
    """A .ts file whose header says @classLabel false: series to learn normal from, not to classify."""
    header = ts_header(path) if is_series_file(path) else {}
    return "classlabel" in header and header["classlabel"][1][:1] != ["true"]


def _series(path: Path, config, tree: DataFolder) -> Dataset:
    files = {"all": path} if path.is_file() else series_split_files(path, tree)
    read, labels, notes = {}, {}, []
    for split, file in files.items():
        unlabelled = has_unlabelled_series(file)
        try:
            series, names = read_ts(file, labelled=not unlabelled)
        except DataError as error:
            if not unlabelled or "is not a number" not in str(error):
                raise
            raise DataError(f"{error} The header says @classLabel false, so every value of a line is read as "
                            "data; if each line ends with a class label, declare them (@classLabel true A B …) to "
                            "classify, or drop the labels from the lines.") from None
        read[split] = series
        if len(names) == len(series):
            labels[split], how = anomaly_labels(pd.Series(names), f"The labels of '{file}'")
            notes.append(f"The labels of '{file.name}' mark known anomalies (read {how}); they score the detector only.")
        else:
            labels[split] = np.full(len(series), UNKNOWN, dtype=np.int64)
    facts = series_facts_of(read)
    parts, how = assign_splits(labels, config, f"'{path}'")
    padded = {split: pad_series(series, facts.length) for split, series in read.items()}
    splits = {split: series_split(_gather(items, padded), _gather(items, labels)) for split, items in parts.items()}
    return _dataset(path.stem if path.is_file() else path.resolve().name,
                    f"Series '{path}' ({sum(len(s) for s in read.values())} series, {facts.channels} channel"
                    f"{'s' if facts.channels > 1 else ''}, no classes: anomaly detection)", "series", splits, how,
                    notes, series=facts, skipped=tuple(tree.skipped) if path.is_dir() else ())
