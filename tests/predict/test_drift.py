"""Drift at prediction time: a drifted table and a drifted image folder give the warning line and drift.json
naming what drifted; clean inputs do not; unreadable images are skipped and listed, not the end of the batch."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from automl.errors import ConfigError
from automl.modalities.drift import compare, reference_for
from automl.predict import predict_to_csv
from conftest import people_table


def test_psi_allows_for_sampling_noise_but_not_for_a_shift():
    rng = np.random.default_rng(0)
    reference = reference_for({"x": {"kind": "numeric", "values": rng.normal(size=2000)}})
    same = compare(reference, {"x": {"kind": "numeric", "values": rng.normal(size=80)}})
    shifted = compare(reference, {"x": {"kind": "numeric", "values": rng.normal(3, 1, size=30)}})
    assert same["drifted"] == [] and shifted["drifted"] == ["x"]
    few = compare(reference, {"x": {"kind": "numeric", "values": rng.normal(9, 1, size=5)}})
    assert few["drifted"] == [] and "not judged" in few["features"]["x"]["note"]


def test_a_drifted_table_is_named_and_a_clean_one_is_not(finished_table_run, tmp_path):
    root, (_, run_dir) = tmp_path, finished_table_run
    clean = people_table(300, 1)
    clean.drop(columns="label").to_csv(root / "clean.csv", index=False)
    _, _, notes = predict_to_csv(run_dir, root / "clean.csv", root / "clean-predictions.csv")
    assert not any(note.startswith("Drift:") for note in notes)
    assert json.loads((root / "clean-predictions.drift.json").read_text())["drifted"] == []
    drifted = clean.assign(age=clean["age"] + 80, income=clean["income"] * 1000,
                           city=np.random.default_rng(2).choice(["Paris", "Rome"], len(clean)))
    drifted.drop(columns="label").to_csv(root / "drifted.csv", index=False)
    _, count, notes = predict_to_csv(run_dir, root / "drifted.csv", root / "drifted-predictions.csv")
    assert count == 300
    line = next(note for note in notes if note.startswith("Drift:"))
    assert all(name in line for name in ("age", "income", "city")) and "drifted-predictions.drift.json" in line
    report = json.loads((root / "drifted-predictions.drift.json").read_text())
    assert set(report["drifted"]) == {"age", "income", "city"} and report["features"]["city"]["unseen_share"] == 1.0


def test_a_drifted_image_folder_warns_and_unreadable_files_are_skipped(finished_image_run, tmp_path):
    data, run_dir = finished_image_run
    _, _, notes = predict_to_csv(run_dir, data, tmp_path / "clean.csv")
    assert not any(note.startswith("Drift:") for note in notes)
    odd = tmp_path / "odd"
    odd.mkdir()
    rng = np.random.default_rng(0)
    for i in range(30):  # saturated noise: brightness and contrast unlike any training image
        Image.fromarray(rng.choice([0, 255], size=(16, 16, 3)).astype(np.uint8)).save(odd / f"{i}.png")
    (odd / "broken.png").write_bytes(b"not a png")
    out, count, notes = predict_to_csv(run_dir, odd, tmp_path / "odd.csv")
    assert count == 30 and "broken.png" not in pd.read_csv(out)["path"].str.cat()
    assert any("Skipped 1 file(s)" in note and "broken.png" in note for note in notes)
    line = next(note for note in notes if note.startswith("Drift:"))
    assert "contrast" in line


def test_a_user_file_where_the_drift_report_goes_is_never_overwritten(finished_table_run, tmp_path):
    run_dir = finished_table_run[1]
    people_table(40, 3).drop(columns="label").to_csv(tmp_path / "new.csv", index=False)
    mine = tmp_path / "out.drift.json"
    mine.write_text('{"my": "notes"}')
    with pytest.raises(ConfigError, match="not a drift report automl wrote"):
        predict_to_csv(run_dir, tmp_path / "new.csv", tmp_path / "out.csv")
    assert mine.read_text() == '{"my": "notes"}' and not (tmp_path / "out.csv").exists()
    mine.unlink()
    predict_to_csv(run_dir, tmp_path / "new.csv", tmp_path / "out.csv")
    first = json.loads(mine.read_text())
    predict_to_csv(run_dir, tmp_path / "new.csv", tmp_path / "out.csv")  # its own earlier report is replaced
    assert json.loads(mine.read_text())["examples"] == first["examples"] == 40
