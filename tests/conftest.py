"""Tiny generated datasets, made deterministically in tmp_path (no network, no shared data)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from automl.config import load_config

FAST = dict(max_trials=1, epochs=2, time_budget=None, batch_size=8, tuner="random")


def write_image(path, value: int, size=(16, 16), mode="RGB", seed=0):
    """A noisy image around one brightness: dark and bright classes are separable by mean pixel."""
    rng = np.random.default_rng(seed)
    height, width = size
    pixels = np.clip(rng.normal(value, 20, (height, width, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    image = image.convert(mode) if mode != "RGB" else image
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def make_image_folder(root, per_class=8, classes=("bright", "dark"), sizes=((16, 16),), modes=("RGB",)):
    values = {"bright": 210, "dark": 40, "mid": 125}
    for c, name in enumerate(classes):
        for i in range(per_class):
            size, mode = sizes[i % len(sizes)], modes[i % len(modes)]
            write_image(root / name / f"{name}_{i}.png", values[name], size, mode, seed=c * 100 + i)
    return root


@pytest.fixture
def image_folder(tmp_path):
    return make_image_folder(tmp_path / "images")


@pytest.fixture
def table_csv(tmp_path):
    """60 rows: x1 separates the classes; an ID, a constant, a category and some missing values."""
    rng = np.random.default_rng(0)
    n = 60
    label = np.array(["yes", "no"] * (n // 2))
    x1 = np.where(label == "yes", 2.0, -2.0) + rng.normal(0, 0.5, n)
    frame = pd.DataFrame({
        "id": np.arange(1000, 1000 + n), "x1": x1, "x2": rng.normal(0, 1, n),
        "colour": rng.choice(["red", "green", "blue"], n), "constant": 7, "label": label})
    frame.loc[3, "x2"] = np.nan
    frame.loc[5, "colour"] = None
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def config_for(tmp_path):
    def make(data, **overrides):
        settings = {**FAST, "run_dir": str(tmp_path / "run"), **overrides}
        return load_config(data=str(data), **settings)
    return make
