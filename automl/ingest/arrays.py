"""Ingest an .npz file of arrays: x/y (images when x is 3-D or 4-D, a table when 2-D).

Optional x_train/y_train, x_val/y_val and x_test/y_test keys are honoured as splits.
Never unpickled: object arrays are refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest.dataset import Dataset, ImageFacts, Split, fingerprint_of
from automl.ingest.images import resize_uint8
from automl.ingest.splits import check_class_sizes, describe_split, split_indices
from automl.ingest.table import table_dataset


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise DataError(f"'{path}' is not a valid .npz file (not a zip archive). Save arrays with numpy.savez.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as error:
        raise DataError(f"'{path}' holds object arrays, which would need unpickling ({error}). "
                        "Save plain numeric or string arrays (np.savez with dtype uint8/float/str).") from None
    except (OSError, zipfile.BadZipFile) as error:
        raise DataError(f"Cannot read '{path}' as an .npz file ({error}). Save it with numpy.savez.") from None


def _pairs(arrays: dict, path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    pairs = {}
    for split, suffix in (("all", ""), ("train", "_train"), ("val", "_val"), ("test", "_test")):
        if f"x{suffix}" in arrays and f"y{suffix}" in arrays:
            x, y = arrays[f"x{suffix}"], arrays[f"y{suffix}"].reshape(-1)
            if len(x) != len(y):
                raise DataError(f"In '{path}', x{suffix} has {len(x)} rows but y{suffix} has {len(y)}. They must match.")
            pairs[split] = (x, y)
    if "train" in pairs:
        pairs.pop("all", None)
    if not pairs:
        raise DataError(f"'{path}' has arrays {sorted(arrays)}, but needs 'x' and 'y' "
                        "(or x_train/y_train with optional x_val/y_val and x_test/y_test).")
    return pairs


def load_npz(path: Path, config) -> Dataset:
    """Reads an .npz of images or table rows with labels.

    Raises:
        DataError: Missing keys, mismatched lengths, object arrays or unusable labels.
    """
    pairs = _pairs(_read_npz(path), path)
    ndim = next(iter(pairs.values()))[0].ndim
    if ndim == 2:
        frames = {split: pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])]).assign(y=y)
                  for split, (x, y) in pairs.items()}
        return table_dataset(frames, dataclasses.replace(config, target=config.target or "y"),
                             path.stem, where=f"'{path}'")
    if ndim not in (3, 4):
        raise DataError(f"'{path}' has x of shape {next(iter(pairs.values()))[0].shape}; expected "
                        "(n, features) for a table or (n, height, width[, channels]) for images.")
    return _image_arrays(pairs, path, config)


def _as_uint8(x: np.ndarray) -> np.ndarray:
    if x.ndim == 3:
        x = x[..., None]
    if x.dtype != np.uint8:
        scale = 255.0 if np.nanmax(x) <= 1.0 else 1.0
        x = np.clip(np.nan_to_num(x.astype(np.float32) * scale), 0, 255).round().astype(np.uint8)
    return x


def _image_arrays(pairs, path: Path, config) -> Dataset:
    images = {split: _as_uint8(x) for split, (x, _) in pairs.items()}
    class_names = sorted({str(v) for _, y in pairs.values() for v in y},
                         key=lambda v: (0, float(v), v) if _is_number(v) else (1, 0, v))
    lookup = {name: i for i, name in enumerate(class_names)}
    labels = {split: np.array([lookup[str(v)] for v in y], dtype=np.int64) for split, (_, y) in pairs.items()}
    check_class_sizes(np.concatenate(list(labels.values())), class_names, f"'{path}'")
    parts, how = _array_splits(images, labels, config)
    side = config.image_size
    splits = {split: Split(_stream(x, y, side), y, tuple(hashlib.sha1(img.tobytes()).hexdigest() for img in x))
              for split, (x, y) in parts.items()}
    every = np.concatenate([x for x, _ in parts.values()])
    count = len(every)
    channels = every.shape[-1]
    return Dataset(
        name=path.stem, source=f"Arrays '{path}' ({count} images of {every.shape[1]}x{every.shape[2]}x{channels})",
        modality="image", task="classification", class_names=tuple(class_names),
        train=splits["train"], val=splits["val"], test=splits["test"],
        split_note=describe_split({k: v.size for k, v in splits.items()}, how),
        fingerprint=fingerprint_of(splits),
        images=ImageFacts(np.full(count, every.shape[1]), np.full(count, every.shape[2]),
                          ("L" if channels == 1 else "RGB",) * count,
                          (side or every.shape[1], side or every.shape[2], channels)),
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _array_splits(images, labels, config):
    seed, val_f, test_f = config.seed, config.val_fraction, config.test_fraction
    if "all" in images:
        train, val, test = split_indices(labels["all"], val_f, test_f, seed, stratified=True)
        x, y = images["all"], labels["all"]
        return {"train": (x[train], y[train]), "val": (x[val], y[val]), "test": (x[test], y[test])}, \
            f"Seeded stratified split (seed {seed})"
    parts = {split: (images[split], labels[split]) for split in images}
    how = "Honoured the given x_train/x_test arrays"
    if "val" not in parts:
        x, y = parts["train"]
        need_test = "test" not in parts
        train, val, test = split_indices(y, val_f, test_f, seed, stratified=True, need_test=need_test)
        parts["train"], parts["val"] = (x[train], y[train]), (x[val], y[val])
        if need_test:
            parts["test"] = (x[test], y[test])
        how += f"; validation is a seeded stratified {val_f:.0%} of train"
    return parts, how


def _stream(x: np.ndarray, y: np.ndarray, side: int | None) -> tf.data.Dataset:
    data = tf.data.Dataset.from_tensor_slices((x, y))
    if side and (x.shape[1], x.shape[2]) != (side, side):
        data = data.map(lambda image, label: (resize_uint8(image, side, side), label),
                        num_parallel_calls=tf.data.AUTOTUNE)
    return data
