"""Guardrails on data built to deserve them: leakage across splits, a 95:5 class split (alert and weights)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from automl.ingest import load_dataset
from automl.profile import profile_dataset
from helpers import make_image_folder


def test_byte_identical_train_and_test_files_raise_a_leakage_alert(tmp_path, config_for):
    make_image_folder(tmp_path / "data" / "train", per_class=6)
    shutil.copytree(tmp_path / "data" / "train", tmp_path / "data" / "test")
    make_image_folder(tmp_path / "data" / "val", per_class=3, classes=("bright", "dark"))
    for i, path in enumerate(sorted((tmp_path / "data" / "val").rglob("*.png"))):
        path.rename(path.with_name(f"v{i}.png"))
    profile = profile_dataset(load_dataset(config_for(tmp_path / "data")))
    leaks = {g.name: g for g in profile.guardrails if g.name.startswith("Leakage")}
    assert leaks["Leakage into test"].status == "Alerted"
    assert "12 of 12 test examples are byte-identical" in leaks["Leakage into test"].message


def test_95_to_5_split_alerts_and_applies_class_weights(tmp_path, config_for, monkeypatch):
    rng = np.random.default_rng(0)
    label = np.array(["common"] * 190 + ["rare"] * 10)
    frame = pd.DataFrame({"x": rng.normal(size=200) + (label == "rare") * 3, "label": label})
    frame.to_csv(tmp_path / "table.csv", index=False)
    config = config_for(tmp_path / "table.csv")
    dataset = load_dataset(config)
    profile = profile_dataset(dataset)
    balance = next(g for g in profile.guardrails if g.name == "Class balance")
    assert balance.status == "Done" and profile.imbalance_ratio >= 15
    rare = profile.class_names.index("rare")
    assert profile.class_weight[rare] > 5 * profile.class_weight[1 - rare]

    import keras_tuner as kt

    from automl.select import choose_family
    from automl.search import search_models

    seen = {}

    class Applied(Exception):
        pass

    def capture(self, *args, **kwargs):
        seen.update(kwargs)
        raise Applied
    monkeypatch.setattr(kt.RandomSearch, "search", capture)
    with pytest.raises(Applied):
        search_models(choose_family(profile, config), dataset, profile, config)
    assert seen["class_weight"] == profile.class_weight


def test_table_rows_that_differ_only_in_a_dropped_id_column_are_leakage(tmp_path, config_for):
    """The ID column is dropped from the model's inputs, so rows equal on every other column are the same
    example to the model: copied into test with new IDs, they must raise the leakage alert."""
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"id": np.arange(80), "x": rng.normal(size=80), "y": rng.choice(["a", "b"], 80)})
    test = train.iloc[:10].assign(id=np.arange(1000, 1010))
    folder = tmp_path / "ids"
    folder.mkdir()
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    profile = profile_dataset(load_dataset(config_for(folder, target="y")))
    checks = {g.name: g for g in profile.guardrails}
    assert "id" not in [c.name for c in profile.column_inputs]  # the ID really is dropped
    assert checks["Leakage into test"].status == "Alerted"
    assert "10 of 10 test examples are identical on the 1 column the model reads" in checks["Leakage into test"].message
