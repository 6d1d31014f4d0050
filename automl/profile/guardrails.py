"""Profile stage, the checks every dataset gets: class balance (and the class weights it calls for),
leakage and duplicates across splits. Guardrail is the type every check, here or per modality, returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from automl.ingest import Dataset

# Above this ratio of largest to smallest class, an unweighted loss mostly learns the big class.
IMBALANCE_RATIO_FOR_WEIGHTS = 3.0
# Below this many test examples one error moves accuracy by more than 2 points.
SMALL_TEST_SPLIT = 50
PASSED, DONE, ALERTED = "Passed", "Done", "Alerted"


@dataclass(frozen=True)
class Guardrail:
    name: str
    status: str  # Passed | Done | Alerted
    message: str


def balance_check(dataset: Dataset):
    """Examples per class per split, the largest-to-smallest ratio, class weights (None when balanced enough)
    and the guardrail saying which."""
    counts = {split: tuple(int(c) for c in np.bincount(s.labels, minlength=dataset.num_classes))
              for split, s in dataset.splits().items()}
    train = np.array(counts["train"])
    ratio = float(train.max() / max(train.min(), 1))
    if ratio <= IMBALANCE_RATIO_FOR_WEIGHTS:
        return counts, ratio, None, Guardrail("Class balance", PASSED,
                                              f"Largest to smallest class ratio is {ratio:.1f} (limit {IMBALANCE_RATIO_FOR_WEIGHTS:g}).")
    weights = {i: float(train.sum() / (len(train) * max(c, 1))) for i, c in enumerate(train)}
    return counts, ratio, weights, Guardrail(
        "Class balance", DONE, f"Largest to smallest class ratio is {ratio:.1f} (over {IMBALANCE_RATIO_FOR_WEIGHTS:g}): "
        "balanced class weights are applied in training.")


def leakage_checks(dataset: Dataset, used_columns: list[str] | None = None) -> list[Guardrail]:
    """Identical examples: val against train, test against train and val. For a table, rows are compared
    on the columns the model reads (USED_COLUMNS), so rows that differ only in a dropped ID column count
    as the duplicates they are to the model."""
    hashes_of = {name: split.hashes for name, split in dataset.splits().items()}
    identical = "byte-identical"
    if dataset.table is not None and used_columns is not None:
        hashes_of = {name: tuple(pd.util.hash_pandas_object(getattr(dataset.table, name)[used_columns],
                                                            index=False).to_numpy())
                     for name in hashes_of}
        identical = (f"identical on the {len(used_columns)} column{'s' if len(used_columns) != 1 else ''} the "
                     "model reads")
    train = set(hashes_of["train"])
    seen = {"val": (train, "training"), "test": (train | set(hashes_of["val"]), "training or validation")}
    checks = []
    for split, (earlier, what) in seen.items():
        hashes = hashes_of[split]
        shared = sum(h in earlier for h in hashes)
        name = f"Leakage into {split}"
        checks.append(Guardrail(name, ALERTED, f"{shared} of {len(hashes)} {split} examples are {identical} to "
                                f"{what} examples: {split} scores are optimistic. Remove the duplicates.") if shared
                      else Guardrail(name, PASSED, f"No {split} example is identical to a {what} example."))
    duplicates = len(hashes_of["train"]) - len(train)
    if duplicates:
        checks.append(Guardrail("Duplicates in train", ALERTED, f"{duplicates} training examples are exact duplicates of others."))
    return checks
