"""Fixtures: tiny generated datasets, made deterministically in tmp_path (no network, no shared data), and a
seeded, cleared Keras for every test. Helpers that are not fixtures live in helpers.py."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pandas as pd
import pytest

from automl.config import load_config
from helpers import make_image_folder

FAST = dict(max_trials=1, epochs=2, time_budget=None, batch_size=8, tuner="random")


@pytest.fixture(autouse=True)
def no_cross_validation_unless_marked(request, monkeypatch):
    """Tiny test data always has a validation split small enough for cross-validation, which would add
    k fold fits to every run: only tests marked `cross_validation` get it."""
    if request.node.get_closest_marker("cross_validation") is None:
        import automl.select
        monkeypatch.setattr(automl.select, "CROSS_VALIDATE_BELOW", 0)


@pytest.fixture(autouse=True)
def no_installed_word_vectors(monkeypatch):
    """Tests see the machine as if the GloVe vectors package were not installed (it may be, on a developer's
    machine): text tests stay small and the same everywhere; vectors tests name their own."""
    import automl.families.vectors
    monkeypatch.setattr(automl.families.vectors, "VECTORS_PACKAGE", "automl_tests_no_vectors_package")


@pytest.fixture(autouse=True)
def no_installed_text_encoder(monkeypatch):
    """Tests see the machine as if no text-encoder package were installed (all-MiniLM-L6-v2 may be, on a
    developer's machine): text runs stay small; text-encoder tests name a tiny BERT with --text-encoder."""
    import automl.families.text_encoder
    monkeypatch.setattr(automl.families.text_encoder, "ENCODER_PACKAGES", {})


@pytest.fixture(autouse=True)
def no_installed_speech_embedding(monkeypatch):
    """Tests see the machine as if the openwakeword package (Google's speech embedding) were not installed: audio
    runs stay small and the same everywhere; speech-embedding tests name a tiny stand-in with --audio-encoder."""
    import automl.families.speech_embedding
    monkeypatch.setattr(automl.families.speech_embedding, "PACKAGE", "automl_tests_no_speech_package")


@pytest.fixture(autouse=True)
def seeded_fresh_keras():
    """Every test starts from the same seeds and ends with Keras' global state (layer names, graphs) cleared,
    so tests do not depend on their order."""
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session(free_memory=False)


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


# Finished runs shared by the tests that use a run without caring how it was trained (serving, drift, the
# Python API): one run each per test session instead of one per test module.
SHARED_RUN = dict(max_trials=1, epochs=1, time_budget=None, batch_size=16, tuner="random", cross_validation=False)


def people_table(rows: int, seed: int) -> pd.DataFrame:
    """People with an age, an income and a city; the label follows the age."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, rows)
    return pd.DataFrame({"age": age, "income": rng.lognormal(10, 0.5, rows),
                         "city": rng.choice(["Leeds", "York", "Hull"], rows),
                         "label": np.where(age + rng.normal(0, 5, rows) > 40, "old", "young")})


@pytest.fixture(scope="session")
def finished_table_run(tmp_path_factory):
    """(the table's path, the run directory) of a finished run on 400 people_table rows, grouped by city."""
    from automl.pipeline import run

    root = tmp_path_factory.mktemp("finished-table")
    people_table(400, 0).to_csv(root / "people.csv", index=False)
    result = run(load_config(data=str(root / "people.csv"), run_dir=str(root / "run"), group_column="city",
                             **SHARED_RUN))
    return root / "people.csv", Path(result.config.run_dir)


@pytest.fixture(scope="session")
def finished_image_run(tmp_path_factory):
    """(the image folder, the run directory) of a finished run on 2 classes × 12 generated images."""
    from automl.pipeline import run

    root = tmp_path_factory.mktemp("finished-images")
    data = make_image_folder(root / "data", per_class=12)
    result = run(load_config(data=str(data), run_dir=str(root / "run"), **SHARED_RUN))
    return data, Path(result.config.run_dir)
