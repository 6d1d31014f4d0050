"""Embedded examples: real datasets that ship inside scikit-learn, written out as a user would keep them."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from automl.errors import DataError

EXAMPLES = ("digits", "breast_cancer", "wine")


def write_example(name: str, folder: Path) -> Path:
    """Writes example NAME under folder and returns the path to give to ingest.

    digits becomes a folder of 8×8 grayscale PNGs in class sub-folders; breast_cancer and wine
    become CSV files with a `target` column. Written aside and renamed into place, and kept when already
    there: the workers of a search (automl.search.distributed) read the example the chief wrote, and none
    of them may see it half written.
    """
    from sklearn import datasets

    if name not in EXAMPLES:
        raise DataError(f"No example {name!r}. Available: {', '.join('example:' + e for e in EXAMPLES)}.")
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / ("digits" if name == "digits" else f"{name}.csv")
    if final.exists():
        return final
    aside = Path(tempfile.mkdtemp(prefix=".writing-", dir=folder))
    if name == "digits":
        digits = datasets.load_digits()
        for index, (image, label) in enumerate(zip(digits.images, digits.target)):
            path = aside / "digits" / str(label) / f"{index:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.uint8(image * 255 / 16)).save(path)
    else:
        getattr(datasets, f"load_{name}")(as_frame=True).frame.to_csv(aside / final.name, index=False)
    try:
        os.rename(aside / final.name, final)
    except OSError:  # another process put it in place first: the same content
        pass
    shutil.rmtree(aside, ignore_errors=True)
    return final
