"""Ingest an image folder labelled by a table: images beside one CSV/TSV that maps file names to a number
(image regression) or to a set of labels ("a|b": multi-label), as streamed tf.data splits.

File names in the table are relative to the folder; only files a DataFolder walk finds are read, so a row
naming `../x.jpg`, an absolute path or a link leading out of the folder is refused (listed, never read).
Rows whose file is missing or unreadable, files no row names and values that are not numbers are skipped
and listed, like the class-folder reader's corrupt files.
"""

from __future__ import annotations

import posixpath
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from automl.errors import DataError
from automl.ingest.dataset import Dataset, ImageFacts, SkippedFile, Split, fingerprint_of, inspect_files
from automl.ingest.images import GRAY_MODES, choose_image_size, inspect_image, is_image_file, stream_images
from automl.ingest.label_sets import label_sets_of
from automl.ingest.splits import describe_split, split_indices
from automl.ingest.table import is_table_file, read_table
from automl.ingest.walk import DataFolder

# A column names image files when at least this share of its values end in an image extension.
FILE_COLUMN_MIN_SHARE = 0.5
OUTSIDE_ROW = "refused: the table names a path outside the data folder (absolute or with '..'); not read"


def _file_column(frame: pd.DataFrame):
    """The column whose values are mostly image file names, or None."""
    for column in frame.columns:
        values = frame[column].dropna().astype(str)
        if len(values) and values.map(lambda v: is_image_file(Path(v))).mean() >= FILE_COLUMN_MIN_SHARE:
            return column
    return None


def image_table_file(root: Path, tree: DataFolder) -> Path | None:
    """The table labelling an image folder: a CSV/TSV/Parquet file at its top, beside top-level images,
    with a column of image file names. Class sub-folders of images have no top-level images, so their
    layout is never taken for this one."""
    files = tree.files(root)
    if not any(is_image_file(p) for p in files):
        return None
    for path in (p for p in files if is_table_file(p) and not p.name.startswith(".")):
        try:
            if _file_column(read_table(path)) is not None:
                return path
        except DataError:
            continue
    return None


def _value_column(frame: pd.DataFrame, file_column, config, where: str):
    if config.target is not None:
        if config.target not in frame.columns or config.target == file_column:
            raise DataError(f"--target {config.target!r}: {where} has no such value column. Its columns are "
                            f"{', '.join(map(repr, map(str, frame.columns)))}; pass the one holding the values.")
        return config.target
    others = [c for c in frame.columns if c != file_column]
    if len(others) != 1:
        raise DataError(f"{where} has {len(others)} columns besides the file names ({file_column!r}); expected one "
                        "holding each image's value. Name it with --target COLUMN.")
    return others[0]


def _resolve(name: str, files: dict[str, Path]):
    """The file a table row names (relative to the folder), or a reason it is not read."""
    normal = posixpath.normpath(str(name).strip().replace("\\", "/"))
    if PurePosixPath(normal).is_absolute() or normal == ".." or normal.startswith("../") or ":" in normal[:3]:
        return None, OUTSIDE_ROW
    if normal not in files:
        return None, "the table names this file, but there is no such image in the folder"
    return files[normal], None


def _rows(frame, file_column, value_column, files, root, skipped):
    """(path, raw value) of every usable row; the rest are listed in skipped."""
    named, rows = set(), []
    for name, value in zip(frame[file_column], frame[value_column]):
        if pd.isna(name):
            continue
        path, reason = _resolve(name, files)
        if path is None:
            skipped.append(SkippedFile(str(root / str(name)), reason))
            continue
        named.add(path)
        if pd.isna(value) or str(value).strip() == "":
            skipped.append(SkippedFile(str(path), f"no value in {value_column!r}"))
            continue
        rows.append((path, value))
    skipped += [SkippedFile(str(p), "no row in the table names this image") for p in files.values() if p not in named]
    return rows


def _numbers(rows, value_column, skipped):
    kept = []
    for path, value in rows:
        number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        if pd.isna(number) or not np.isfinite(number):
            skipped.append(SkippedFile(str(path), f"its value {str(value)[:40]!r} in {value_column!r} is not a number"))
        else:
            kept.append((path, float(number)))
    return kept


def load_image_table(root: Path, table: Path, config) -> Dataset:
    """Reads the images a table names, with their values (regression) or label sets (multi-label).

    Raises:
        DataError: No value column, no usable row, values neither numbers nor label sets.
    """
    tree = DataFolder.of(root, config)
    frame, where = read_table(table), f"'{table}'"
    file_column = _file_column(frame)
    value_column = _value_column(frame, file_column, config, where)
    files = {p.relative_to(root).as_posix(): p for p in tree.walk() if is_image_file(p)}
    skipped: list[SkippedFile] = []
    rows = _rows(frame, file_column, value_column, files, root, skipped)
    values = pd.Series([value for _, value in rows], dtype=object)
    label_sets = label_sets_of(values, config, where, str(value_column))
    if label_sets is None:
        if config.task not in ("auto", "regression"):
            raise DataError(f"--task {config.task} is not read from an image table: it reads numbers (regression) or "
                            "label sets such as 'cat|dog' (multi-label). For classes use class sub-folders.")
        rows = _numbers(rows, value_column, skipped)
    else:
        rows = list(zip((path for path, _ in rows), label_sets.encode(values)))
    if not rows:
        raise DataError(f"No row of {where} names a readable image with a value in {value_column!r} (columns "
                        f"{file_column!r} → {value_column!r}). Check that the file names are relative to '{root}'.")
    return _dataset(root, table, rows, label_sets, tree.skipped + skipped, config, value_column)


def _dataset(root, table, rows, label_sets, skipped, config, value_column) -> Dataset:
    good = inspect_files(rows, inspect_image, 0, skipped)
    if len(good) < 10:
        raise DataError(f"Only {len(good)} images of '{root}' could be read with a value; at least 10 are needed to "
                        "train, validate and test. Add images (each with a row in the table).")
    labels = np.array([value for _, value, _ in good], dtype=np.float32)
    if label_sets is None and np.unique(labels).size == 1:
        raise DataError(f"Every image in '{root}' has the same value ({labels[0]:g}): there is nothing to learn. "
                        f"Check the value column {value_column!r} (--target).")
    train, val, test = split_indices(labels, config.val_fraction, config.test_fraction, config.seed, stratified=False)
    heights = np.array([info[1] for _, _, info in good])
    widths = np.array([info[2] for _, _, info in good])
    modes = tuple(info[3] for _, _, info in good)
    height, width, crop = choose_image_size(heights, widths, config)
    channels = 1 if all(mode in GRAY_MODES for mode in modes) else 3
    splits = {name: Split(stream_images([good[i][0] for i in idx], labels[idx], height, width, channels, crop),
                          labels[idx], tuple(good[i][2][0] for i in idx))
              for name, idx in (("train", train), ("val", val), ("test", test))}
    task = "regression" if label_sets is None else "multilabel"
    return Dataset(
        name=root.resolve().name,
        source=f"Image folder '{root}' labelled by '{table.name}' ({len(good)} images, values from {value_column!r})",
        modality="image", task=task, class_names=() if label_sets is None else label_sets.names,
        train=splits["train"], val=splits["val"], test=splits["test"],
        split_note=describe_split({k: v.size for k, v in splits.items()}, f"Seeded random split (seed {config.seed})"),
        fingerprint=fingerprint_of(splits), images=ImageFacts(heights, widths, modes, (height, width, channels), crop),
        target=str(value_column), skipped=tuple(skipped), notes=() if label_sets is None else label_sets.notes)
