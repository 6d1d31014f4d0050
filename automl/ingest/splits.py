"""Seeded, stratified train/val/test index splits for data that comes without its own splits, and splits that
keep whole groups (speakers) on one side."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from automl.errors import DataError

# A class needs one example in each of train, val and test to be learnt and measured at all.
MIN_EXAMPLES_PER_CLASS = 3
# Seeded draws of whole groups tried before a grouped split gives up: each must leave every class on both sides.
GROUP_SPLIT_TRIES = 20


@dataclass(frozen=True)
class Groups:
    """Who or what each example comes from (a speaker), to be kept whole on one side of a split.

    Attributes:
        values: Each example's group, in the examples' order.
        noun: What the groups are, plural, for sentences ("speakers").
        source: Where they were found, for sentences ("found in the file names as their 2nd part, …").
    """

    values: np.ndarray
    noun: str
    source: str


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


def assign_folder_splits(groups: np.ndarray, labels: np.ndarray, config, files: str, speakers: Groups | None = None):
    """Returns ({split: indices}, how) honouring train/val/test folders (each example's group: "train", "val",
    "test", or "all" when there are no split folders); validation comes from train/. `files` names the files in
    the error message ("text files", ".wav files").

    With `speakers` (who made each example), the splits carved here keep each speaker on one side when the test
    is about speakers training never heard: always without split folders, and with a test/ folder when some of
    its speakers are not in train/. When test/ holds only speakers of train/, validation mixes speakers as the
    test does, so that it ranks models by what the test measures."""
    seed, val_f, test_f = config.seed, config.val_fraction, config.test_fraction
    given = {name: np.flatnonzero(groups == name) for name in ("train", "val", "test", "all")}
    if len(given["all"]):
        grouped = speakers is not None and split_by_group(labels, speakers.values, val_f, test_f, seed)
        if grouped:
            train, val, test = grouped
            return {"train": train, "val": val, "test": test}, (
                f"No split folders: test holds out {held_out_groups(speakers, np.concatenate([train, val]), test)} "
                f"and validation {held_out_groups(speakers, train, val)}, whole (the {speakers.noun} were "
                f"{speakers.source}), so both measure {speakers.noun} training never saw (seed {seed})")
        train, val, test = split_indices(labels, val_f, test_f, seed, stratified=True)
        return {"train": train, "val": val, "test": test}, f"No split folders: seeded stratified split (seed {seed})"
    if len(given["test"]) and len(given["val"]):
        return {k: given[k] for k in ("train", "val", "test")}, "Honoured the train/, val/ and test/ folders"
    test = given["test"] if len(given["test"]) else given["val"]
    if not len(test):
        raise DataError(f"The test split is empty. Put {files} in test/<class>/ or remove the empty split folders.")
    held = "test/" if len(given["test"]) else "val/ (no test/ folder, so val/ is the held-out test split)"
    split, how = _validation_of(given["train"], test, labels, speakers, config)
    return {"train": split[0], "val": split[1], "test": test}, f"Honoured {held}; {how}"


def _validation_of(train: np.ndarray, test: np.ndarray, labels: np.ndarray, speakers: Groups | None, config):
    """(train, val) indices carved from the given train/, and how, in words (see assign_folder_splits)."""
    val_f, seed = config.val_fraction, config.seed
    if speakers is not None:
        new = set(speakers.values[test].tolist()) - set(speakers.values[train].tolist())
        split = new and group_holdout(train, labels, speakers.values, val_f, seed + 1)
        if split:
            return split, (f"validation holds out {held_out_groups(speakers, *split)} of train/, whole, as the test "
                           f"split holds {speakers.noun} train/ lacks (the {speakers.noun} were {speakers.source})")
    inner_train, inner_val, _ = split_indices(labels[train], val_f, 0.0, seed, stratified=True, need_test=False)
    how = f"validation is a seeded stratified {val_f:.0%} of train/"
    if speakers is not None and not new:
        how += f" (every one of test's {speakers.noun} is in train/ too, so validation mixes them as the test does)"
    return (train[inner_train], train[inner_val]), how


def group_holdout(indices: np.ndarray, labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int):
    """Indices split into (kept, held out) by whole groups: ceil(fraction × groups) of them held out (at least
    one, and at least one kept), seeded; None when no draw in GROUP_SPLIT_TRIES leaves every class of `indices`
    on both sides (a class only some groups have)."""
    names = np.unique(groups[indices])
    held = min(max(1, math.ceil(fraction * len(names))), len(names) - 1)
    if held < 1:
        return None
    classes = np.unique(labels[indices])
    draws = GroupShuffleSplit(n_splits=GROUP_SPLIT_TRIES, test_size=held, random_state=seed)
    for kept, out in draws.split(indices, groups=groups[indices]):
        if all(np.isin(classes, labels[indices[side]]).all() for side in (kept, out)):
            return np.sort(indices[kept]), np.sort(indices[out])
    return None


def split_by_group(labels: np.ndarray, groups: np.ndarray, val_fraction: float, test_fraction: float, seed: int,
                   need_test: bool = True):
    """(train, val, test) index arrays with each group on one side only (test empty when need_test is False);
    None when the groups are too few, or too unevenly spread over the classes, for that."""
    indices, test = np.arange(len(labels)), np.array([], dtype=int)
    if need_test:
        split = group_holdout(indices, labels, groups, test_fraction, seed)
        if split is None:
            return None
        indices, test = split
    split = group_holdout(indices, labels, groups, val_fraction / (1 - test_fraction if need_test else 1), seed + 1)
    return None if split is None else (*split, test)


def held_out_groups(groups: Groups, kept: np.ndarray, held: np.ndarray) -> str:
    """"1 of 6 speakers ('lucas')" — how many of the groups in kept + held the held side has, and which."""
    names = sorted(set(groups.values[held].tolist()))
    total = len(set(groups.values[np.concatenate([kept, held])].tolist()))
    shown = ", ".join(map(repr, names[:3])) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"{len(names)} of {total} {groups.noun} ({shown})"
