import numpy as np
import pandas as pd
import pytest

from automl.errors import DataError
from automl.ingest import load_dataset
from automl.profile import profile_dataset
from helpers import make_image_folder


def _status(profile, name):
    return next(g for g in profile.guardrails if g.name == name)


def test_balanced_images_pass(image_folder, config_for):
    profile = profile_dataset(load_dataset(config_for(image_folder)))
    assert _status(profile, "Class balance").status == "Passed" and profile.class_weight is None
    assert profile.image_inputs.height == 16
    assert profile.class_counts["train"][0] + profile.class_counts["val"][0] + profile.class_counts["test"][0] == 8


def test_imbalance_applies_class_weights(tmp_path, config_for):
    root = make_image_folder(tmp_path / "d", per_class=40, classes=("bright",))
    make_image_folder(root, per_class=5, classes=("dark",))
    profile = profile_dataset(load_dataset(config_for(root)))
    check = _status(profile, "Class balance")
    assert check.status == "Done" and "class weights" in check.message
    assert profile.class_weight[1] > 3 * profile.class_weight[0]


def test_identical_files_across_splits_alert_leakage(tmp_path, config_for):
    for split in ("train", "test"):
        make_image_folder(tmp_path / "d" / split, per_class=4)  # same seeds → byte-identical files
    profile = profile_dataset(load_dataset(config_for(tmp_path / "d")))
    check = _status(profile, "Leakage into test")
    assert check.status == "Alerted" and check.message.startswith("8 of 8")


def test_skipped_files_alert(image_folder, config_for):
    (image_folder / "dark" / "bad.png").write_bytes(b"nope")
    profile = profile_dataset(load_dataset(config_for(image_folder)))
    assert _status(profile, "Unreadable files").status == "Alerted" and len(profile.skipped) == 1


def test_table_columns_are_profiled_and_acted_on(table_csv, config_for):
    profile = profile_dataset(load_dataset(config_for(table_csv)))
    roles = {c.name: (c.role, c.note) for c in profile.columns}
    assert roles["id"] == ("dropped", "ID-like (almost every value unique)")
    assert roles["constant"] == ("dropped", "constant")
    assert {c.name for c in profile.column_inputs} == {"x1", "x2", "colour"}
    assert _status(profile, "Missing values").status == "Done"
    colour = next(c for c in profile.column_inputs if c.name == "colour")
    assert set(colour.vocabulary) >= {"red", "green", "blue"}


def test_a_column_that_is_the_target_is_flagged_as_leaking(tmp_path, config_for):
    rng = np.random.default_rng(1)
    label = rng.choice(["a", "b"], 80)
    frame = pd.DataFrame({"x": rng.normal(size=80), "label_copy": np.where(label == "a", 1.0, 0.0), "label": label})
    frame.to_csv(tmp_path / "t.csv", index=False)
    profile = profile_dataset(load_dataset(config_for(tmp_path / "t.csv")))
    check = _status(profile, "Target leakage")
    assert check.status == "Alerted" and "'label_copy'" in check.message


def test_a_table_with_only_id_columns_is_refused(tmp_path, config_for):
    frame = pd.DataFrame({"id": range(40), "label": ["a", "b"] * 20})
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match="No usable feature column"):
        profile_dataset(load_dataset(config_for(tmp_path / "t.csv")))
