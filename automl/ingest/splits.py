"""Seeded, stratified train/val/test index splits for data that comes without its own splits."""

from __future__ import annotations

import math

import numpy as np
from sklearn.model_selection import train_test_split

from automl.errors import DataError

# A class needs one example in each of train, val and test to be learnt and measured at all.
MIN_EXAMPLES_PER_CLASS = 3


def check_class_sizes(labels: np.ndarray, class_names, where: str, unit: str = "examples",
                      minimum: int = MIN_EXAMPLES_PER_CLASS) -> None:
    """Refuses single-class data and classes too small to split."""
    counts = np.bincount(labels, minlength=len(class_names))
    present = [name for name, count in zip(class_names, counts) if count > 0]
    if not present and len(class_names):
        raise DataError(f"Found no {unit} in {where} (classes {', '.join(map(repr, class_names))}). "
                        f"Classification needs {unit} in at least 2 classes.")
    if len(present) < 2:
        found = ", ".join(repr(name) for name in present) or "none"
        raise DataError(
            f"Found {len(present)} class{'' if len(present) == 1 else 'es'} in {where} ({found}). "
            "Classification needs at least 2: "
            "add a sub-folder (or label value) per class.")
    for name, count in zip(class_names, counts):
        if count < minimum:
            raise DataError(
                f"Class {name!r} in {where} has {count} {unit.rstrip('s') if count == 1 else unit}; each class needs at least {minimum} "
                f"so that training, validation and test each see it. Add {unit} or remove the class.")


def _holdout(indices, labels, fraction, seed, stratified):
    classes, counts = np.unique(labels[indices], return_counts=True)
    size = max(1, math.ceil(len(indices) * fraction))
    if stratified:
        size = max(size, len(classes))
        # A class seen once (given splits can hold one) cannot be on both sides: split unstratified.
        stratified = counts.min() >= 2 and len(indices) - size >= len(classes)
    if size >= len(indices):
        raise DataError(f"Only {len(indices)} examples are left to split off a {fraction:.0%} hold-out; add "
                        "examples (or give the splits yourself).")
    return train_test_split(indices, test_size=size, random_state=seed,
                            stratify=labels[indices] if stratified else None)


def split_indices(labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int,
                  stratified: bool, need_test: bool = True):
    """Returns (train, val, test) index arrays; test is empty when need_test is False."""
    indices = np.arange(len(labels))
    test = np.array([], dtype=int)
    if need_test:
        indices, test = _holdout(indices, labels, test_fraction, seed, stratified)
    train, val = _holdout(indices, labels, val_fraction / (1 - test_fraction if need_test else 1),
                          seed + 1, stratified)
    return np.sort(train), np.sort(val), np.sort(test)


def describe_split(sizes: dict[str, int], how: str) -> str:
    parts = ", ".join(f"{name} {count}" for name, count in sizes.items())
    return f"{how} ({parts})."


def assign_folder_splits(groups: np.ndarray, labels: np.ndarray, config, files: str):
    """Returns ({split: indices}, how) honouring train/val/test folders (each example's group: "train", "val",
    "test", or "all" when there are no split folders); validation comes from train/. `files` names the files in
    the error message ("text files", ".wav files")."""
    seed, val_f, test_f = config.seed, config.val_fraction, config.test_fraction
    given = {name: np.flatnonzero(groups == name) for name in ("train", "val", "test", "all")}
    if len(given["all"]):
        train, val, test = split_indices(labels, val_f, test_f, seed, stratified=True)
        return {"train": train, "val": val, "test": test}, f"No split folders: seeded stratified split (seed {seed})"
    if len(given["test"]) and len(given["val"]):
        return {k: given[k] for k in ("train", "val", "test")}, "Honoured the train/, val/ and test/ folders"
    test = given["test"] if len(given["test"]) else given["val"]
    if not len(test):
        raise DataError(f"The test split is empty. Put {files} in test/<class>/ or remove the empty split folders.")
    inner_train, inner_val, _ = split_indices(labels[given["train"]], val_f, test_f, seed, stratified=True,
                                              need_test=False)
    held = "test/" if len(given["test"]) else "val/ (no test/ folder, so val/ is the held-out test split)"
    return ({"train": given["train"][inner_train], "val": given["train"][inner_val], "test": test},
            f"Honoured {held}; validation is a seeded stratified {val_f:.0%} of train/")
