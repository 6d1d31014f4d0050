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


def _labels(y: np.ndarray, name: str, path: Path, notes: list) -> np.ndarray:
    """One label a row: a column of labels, or one-hot rows read by argmax (announced).

    Raises:
        DataError: Labels of another shape (multi-label or soft rows), or missing (NaN) labels.
    """
    if y.ndim == 2 and y.shape[1] > 1:
        values = y.astype(np.float64) if y.dtype.kind in "biuf" else None
        if values is None or not (np.isin(values, (0, 1)).all() and (values.sum(axis=1) == 1).all()):
            raise DataError(f"In '{path}', {name} has shape {y.shape}: {y.shape[1]} values a row that are not one-hot "
                            "(exactly one 1, the rest 0). Give one label a row (shape (n,)), or one-hot rows.")
        notes.append(f"{name} is one-hot ({y.shape[1]} columns): read as class indices 0–{y.shape[1] - 1} by argmax.")
        return values.argmax(axis=1)
    if y.ndim > 1 and int(np.prod(y.shape[1:])) != 1:
        raise DataError(f"In '{path}', {name} has shape {y.shape}; expected one label a row (shape (n,)).")
    y = y.reshape(len(y))
    if y.dtype.kind == "f":
        missing = int((~np.isfinite(y)).sum())
        if missing:
            raise DataError(f"In '{path}', {missing} of the {len(y)} labels in {name} {'is' if missing == 1 else 'are'} "
                            "missing (NaN or infinite). Give every row a label, or remove the unlabelled rows.")
        if np.all(np.mod(y, 1) == 0) and np.abs(y).max(initial=0) < 2 ** 53:
            y = y.astype(np.int64)  # whole-number floats: class 1.0 in one split is class 1 in another
    elif y.dtype.kind == "S":
        y = y.astype(str)
    elif y.dtype.kind not in "biuU":
        raise DataError(f"In '{path}', {name} holds {y.dtype} values; expected integer, float or string labels.")
    return y


def _pairs(arrays: dict, path: Path, notes: list) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    pairs = {}
    for split, suffix in (("all", ""), ("train", "_train"), ("val", "_val"), ("test", "_test")):
        if f"x{suffix}" in arrays and f"y{suffix}" in arrays:
            x, y = arrays[f"x{suffix}"], arrays[f"y{suffix}"]
            if y.ndim == 0 or x.ndim == 0:
                raise DataError(f"In '{path}', x{suffix} has shape {x.shape} and y{suffix} shape {y.shape}: both need "
                                "one row per example.")
            if len(x) != len(y):
                raise DataError(f"In '{path}', x{suffix} has {len(x)} rows but y{suffix} has {len(y)}. They must match.")
            pairs[split] = (x, _labels(y, f"y{suffix}", path, notes))
        elif f"x{suffix}" in arrays:
            notes.append(f"x{suffix} has no y{suffix} beside it, so it was not used.")
    if "train" in pairs:
        pairs.pop("all", None)
    if not pairs:
        raise DataError(f"'{path}' has arrays {sorted(arrays)}, but needs 'x' and 'y' "
                        "(or x_train/y_train with optional x_val/y_val and x_test/y_test).")
    dims = {split: x.ndim for split, (x, _) in pairs.items()}
    if len({n == 2 for n in dims.values()}) > 1:  # rows of a table in one split, images in another
        raise DataError(f"In '{path}', the x arrays have different numbers of dimensions "
                        f"({', '.join(f'{split} {n}' for split, n in dims.items())}). Save every split the same way.")
    return pairs


def load_npz(path: Path, config) -> Dataset:
    """Reads an .npz of images or table rows with labels.

    Raises:
        DataError: Missing keys, mismatched lengths, object arrays or unusable labels.
    """
    notes: list[str] = []
    pairs = _pairs(_read_npz(path), path, notes)
    ndim = next(iter(pairs.values()))[0].ndim
    if ndim == 2:
        widths = {x.shape[1] for x, _ in pairs.values()}
        if len(widths) > 1:
            raise DataError(f"In '{path}', the x arrays have different numbers of columns "
                            f"({', '.join(f'{split} {x.shape[1]}' for split, (x, _) in pairs.items())}). "
                            "Give every split the same columns.")
        frames = {split: pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])]).assign(y=y)
                  for split, (x, y) in pairs.items()}
        return table_dataset(frames, dataclasses.replace(config, target=config.target or "y"),
                             path.stem, where=f"'{path}'", notes=notes)
    if ndim not in (3, 4):
        raise DataError(f"'{path}' has x of shape {next(iter(pairs.values()))[0].shape}; expected "
                        "(n, features) for a table or (n, height, width[, channels]) for images.")
    return _image_arrays(pairs, path, config, notes)


def _pixel_arrays(pairs, path: Path, notes: list) -> dict[str, np.ndarray]:
    """[n, height, width, channels] uint8 per split, converted the same way for every split (announced).

    Raises:
        DataError: Pixels that are not numbers, or channels that are not 1, 3 or 4.
    """
    arrays = {}
    for split, (x, _) in pairs.items():
        name = "x" if split == "all" else f"x_{split}"
        if x.dtype.kind not in "biuf":
            raise DataError(f"In '{path}', {name} holds {x.dtype} values; image pixels must be numbers "
                            "(uint8 0–255, or floats 0–1 or 0–255). Convert them with x.astype('uint8').")
        if x.ndim == 4 and x.shape[-1] not in (1, 3, 4) and x.shape[1] in (1, 3, 4):
            notes.append(f"{name} is channels-first {x.shape}: read as (n, height, width, channels).")
            x = np.moveaxis(x, 1, -1)
        x = x[..., None] if x.ndim == 3 else x
        if x.shape[-1] not in (1, 3, 4):
            raise DataError(f"In '{path}', {name} has shape {x.shape}: {x.shape[-1]} channels. Expected "
                            "(n, height, width) or (n, height, width, channels) with 1 (grey), 3 (RGB) or 4 (RGBA).")
        arrays[split] = x
    if any(x.shape[-1] == 4 for x in arrays.values()):
        notes.append("The alpha channel of RGBA images was dropped (the models read RGB).")
        arrays = {split: x[..., :3] for split, x in arrays.items()}
    if len({x.shape[-1] for x in arrays.values()}) > 1:
        notes.append("Splits mix grey and colour images: grey ones were repeated into RGB.")
        arrays = {split: np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x for split, x in arrays.items()}
    other = {split: x for split, x in arrays.items() if x.dtype != np.uint8}
    if not other:
        return arrays
    # One scale for every split not already uint8, so that a pixel value means the same brightness everywhere.
    finite = [x[np.isfinite(x)] if x.dtype.kind == "f" else x for x in other.values()]
    low = min((float(v.min()) for v in finite if v.size), default=0.0)
    high = max((float(v.max()) for v in finite if v.size), default=0.0)
    if low >= 0 and high <= 1.0:
        offset, scale = 0.0, 255.0
    elif low >= 0 and high <= 255:
        offset, scale = 0.0, 1.0
    else:
        offset, scale = low, 255.0 / max(high - low, 1e-12)
        notes.append(f"Pixel values span {low:.3g}…{high:.3g}, outside 0–255: rescaled linearly to 0–255.")
    bad = sum(int((~np.isfinite(x)).sum()) for x in other.values() if x.dtype.kind == "f")
    if bad:
        notes.append(f"{bad} pixel values were NaN or infinite and became 0.")
    return {split: x if x.dtype == np.uint8 else
            np.clip(np.nan_to_num((x.astype(np.float32) - offset) * scale, nan=0.0, posinf=0.0, neginf=0.0),
                    0, 255).round().astype(np.uint8) for split, x in arrays.items()}


def _same_size(images: dict[str, np.ndarray], notes: list) -> dict[str, np.ndarray]:
    """Resizes splits whose images differ in size from the training ones to the training size (announced)."""
    reference = images.get("train", images.get("all"))
    height, width = reference.shape[1:3]
    for split, x in images.items():
        if x.shape[1:3] != (height, width):
            notes.append(f"x_{split} images are {x.shape[1]}x{x.shape[2]}, the training ones {height}x{width}: "
                         f"x_{split} was resized to {height}x{width}.")
            images[split] = np.concatenate([resize_uint8(x[i:i + 256], height, width).numpy()
                                            for i in range(0, len(x), 256)]) if len(x) else \
                np.zeros((0, height, width, x.shape[-1]), np.uint8)
    return images


def _image_arrays(pairs, path: Path, config, notes: list) -> Dataset:
    images = _same_size(_pixel_arrays(pairs, path, notes), notes)
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
        notes=tuple(notes),
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
