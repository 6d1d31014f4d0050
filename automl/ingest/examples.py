"""Embedded examples: real datasets that ship inside scikit-learn, written out as a user would keep them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from automl.errors import DataError

EXAMPLES = ("digits", "breast_cancer", "wine")


def write_example(name: str, folder: Path) -> Path:
    """Writes example NAME under folder and returns the path to give to ingest.

    digits becomes a folder of 8×8 grayscale PNGs in class sub-folders; breast_cancer and wine
    become CSV files with a `target` column.
    """
    from sklearn import datasets

    if name not in EXAMPLES:
        raise DataError(f"No example {name!r}. Available: {', '.join('example:' + e for e in EXAMPLES)}.")
    folder.mkdir(parents=True, exist_ok=True)
    if name == "digits":
        digits = datasets.load_digits()
        root = folder / "digits"
        for index, (image, label) in enumerate(zip(digits.images, digits.target)):
            path = root / str(label) / f"{index:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.uint8(image * 255 / 16)).save(path)
        return root
    frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path
