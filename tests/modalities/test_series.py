"""Series: ingest (.ts files, the UCR TRAIN/TEST layout, wide tables), profile facts, selection, export,
predict, and a run end to end.

The generated series are separable by shape (a rising ramp vs a sine wave, with noise), so a model that
learns anything gets most of them right.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl import cli
from automl.errors import ConfigError, DataError
from automl.ingest import load_dataset
from automl.profile import profile_dataset
from automl.select import choose_family
from helpers import make_series, write_ts


def aeon_data(name: str) -> Path:
    """A UCR/UEA set aeon ships (its folder holds NAME_TRAIN.ts and NAME_TEST.ts)."""
    import aeon

    return Path(aeon.__file__).parent / "datasets" / "data" / name


def write_wide_csv(path, per_class: int = 15, length: int = 16, seed: int = 0) -> Path:
    """One series a row: columns t0..t{length-1}, then the label; the last row ends early (empty cells)."""
    rng = np.random.default_rng(seed)
    rows = [list(make_series(label, length, 1, rng)[:, 0]) + [label]
            for _ in range(per_class) for label in ("up", "wave")]
    frame = pd.DataFrame(rows, columns=[f"t{i}" for i in range(length)] + ["label"])
    frame.iloc[-1, length - 3:length] = np.nan
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def ucr_folder(tmp_path):
    """The UCR layout with unequal lengths and a missing value: gen_TRAIN.ts + gen_TEST.ts."""
    write_ts(tmp_path / "gen" / "gen_TRAIN.ts", per_class=15, lengths=(24, 20, 30), missing=True)
    write_ts(tmp_path / "gen" / "gen_TEST.ts", per_class=6, lengths=(24, 33), seed=1)
    return tmp_path / "gen"


def test_a_ts_file_is_split_and_profiled(tmp_path, config_for):
    path = write_ts(tmp_path / "one.ts", per_class=10, channels=3, lengths=(12, 15), missing=True)
    dataset = load_dataset(config_for(path))
    assert dataset.modality == "series" and dataset.class_names == ("up", "wave")
    assert sum(s.size for s in dataset.splits().values()) == 20 and "seeded stratified" in dataset.split_note
    assert dataset.series.length == 15 and dataset.series.channels == 3 and dataset.series.missing == 1
    features, _ = next(iter(dataset.train.data))
    assert features.shape == (15, 3) and features.dtype.name == "float32"
    profile = profile_dataset(dataset)
    spec = profile.series_inputs
    assert (spec.length, spec.channels, len(spec.mean), spec.equal_length) == (15, 3, 3, False)
    facts = dict(profile.facts)
    assert facts["Series length"].startswith("min 12, median") and "unequal" in facts["Series length"]
    checks = {g.name: g for g in profile.guardrails}
    assert checks["Missing values"].status == "Done" and "1 missing" in checks["Missing values"].message
    assert checks["Series length"].status == "Done"


def test_the_ucr_layout_honours_train_and_test(ucr_folder, config_for):
    dataset = load_dataset(config_for(ucr_folder))
    assert dataset.test.size == 12 and dataset.train.size + dataset.val.size == 30
    assert "gen_TEST.ts" in dataset.split_note and "validation" in dataset.split_note
    assert dataset.series.length == 30  # the longest training series; the 33-step test ones are cut
    assert dataset.series.truncated == 6 and any("cut" in note for note in dataset.notes)


def test_a_wide_table_is_read_as_series_and_the_reading_can_be_forced(tmp_path, config_for, table_csv):
    path = write_wide_csv(tmp_path / "wide.csv")
    dataset = load_dataset(config_for(path))
    assert dataset.modality == "series" and dataset.series.columns[0] == "t0"
    assert any("one series per row" in note and "--modality table" in note for note in dataset.notes)
    assert dataset.series.missing == 0 and dataset.series.lengths.min() == 13  # trailing empty cells pad
    assert load_dataset(config_for(path, modality="table")).modality == "table"
    assert load_dataset(config_for(table_csv)).modality == "table"  # x1, x2: no ordered run of columns
    assert load_dataset(config_for(table_csv, modality="series")).series.columns == ("x1", "x2")  # forced
    plain = pd.DataFrame({"height": np.arange(20.0), "width": np.arange(20.0) % 3, "label": ["a", "b"] * 10})
    plain.to_csv(tmp_path / "plain.csv", index=False)
    with pytest.raises(DataError, match="--modality series needs numeric columns named"):
        load_dataset(config_for(tmp_path / "plain.csv", modality="series"))
    with pytest.raises(ConfigError, match="--modality must be one of"):
        config_for(path, modality="image")


@pytest.mark.parametrize("content, message", [
    ("@problemName bad\n@univariate true\n@classLabel true 1 2\n@data\n1,2,3:1\n1,x,3:2\n", "Cannot read the series file"),
    ("not a ts file\n", "Found no labelled series"),
])
def test_a_bad_ts_file_is_a_clear_error(tmp_path, config_for, capsys, content, message):
    path = tmp_path / "bad.ts"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_dataset(config_for(path))
    assert cli.main(["plan", str(path)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_real_ucr_sets_pick_a_family_for_a_stated_reason(config_for):
    if not aeon_data("GunPoint").is_dir():
        pytest.skip("aeon's GunPoint files are not installed")
    gunpoint = load_dataset(config_for(aeon_data("GunPoint")))
    assert (gunpoint.train.size + gunpoint.val.size, gunpoint.test.size) == (50, 150)
    plan = choose_family(profile_dataset(gunpoint), config_for(aeon_data("GunPoint")))
    assert plan.family == "series_rocket" and "MiniRocket" in plan.reason
    vowels = profile_dataset(load_dataset(config_for(aeon_data("JapaneseVowels"))))
    assert vowels.series_inputs.channels == 12 and not vowels.series_inputs.equal_length
    assert choose_family(vowels, config_for(aeon_data("JapaneseVowels"))).family == "series_rnn"
    with pytest.raises(ConfigError, match="takes table data, but this data is series"):
        choose_family(vowels, config_for(aeon_data("JapaneseVowels"), family="mlp"))
    # BasicMotions declares '@classLabel true Standing Running …' and labels its series 'standing', …
    motions = load_dataset(config_for(aeon_data("BasicMotions")))
    assert motions.num_classes == 4 and motions.series.channels == 6
    leaves = profile_dataset(load_dataset(config_for(aeon_data("OSULeaf"))))  # 427 steps: past MiniRocket's limit
    assert choose_family(leaves, config_for(aeon_data("OSULeaf"))).family == "series_cnn"


def test_run_export_and_predict_on_a_ucr_folder(ucr_folder, tmp_path, capsys):
    import tensorflow as tf

    run_dir = tmp_path / "run"
    code = cli.main(["run", str(ucr_folder), "--output", str(run_dir), "--max-trials", "1", "--epochs", "2",
                     "--tuner", "random", "--batch-size", "8", "--time-budget", "none"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["family"] == "series_rocket" and "MiniRocket" in summary["reason"]
    html = (run_dir / "report.html").read_text()
    assert "Series length" in html and "tf.float32" in html
    model = tf.saved_model.load(str(run_dir / "model"))
    series = np.full((2, 30, 1), np.nan, np.float32)
    series[0, :20, 0], series[1] = np.linspace(-1, 1, 20), np.sin(np.linspace(0, 4 * np.pi, 30))[:, None]
    out = model.serve(tf.constant(series))
    assert np.isfinite(out["probabilities"].numpy()).all() and out["probabilities"].shape == (2, 2)
    assert cli.main(["predict", str(run_dir), str(ucr_folder / "gen_TEST.ts"), "-o", str(tmp_path / "p.csv")]) == 0
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert len(predictions) == 12 and set(predictions["predicted_class"]) <= {"up", "wave"}
    rows = pd.DataFrame(series[:, :, 0], columns=[f"v{i}" for i in range(30)])  # a .ts model: numeric columns in order
    rows.to_csv(tmp_path / "rows.csv", index=False)
    assert cli.main(["predict", str(run_dir), str(tmp_path / "rows.csv"), "-o", str(tmp_path / "r.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "r.csv")) == 2
    assert cli.main(["report", str(run_dir)]) == 0  # the report state (SeriesInputs) round-trips
    (tmp_path / "x.txt").write_text("hello")
    assert cli.main(["predict", str(run_dir), str(tmp_path / "x.txt")]) == 1
    assert "neither a .ts file nor a CSV" in capsys.readouterr().err


@pytest.mark.slow  # a second full run (~14 s); the run above covers ingest → report → predict already
def test_predict_reads_the_training_columns_of_a_wide_table(tmp_path, capsys):
    path = write_wide_csv(tmp_path / "wide.csv")
    run_dir = tmp_path / "run"
    code = cli.main(["run", str(path), "--output", str(run_dir), "--max-trials", "1", "--epochs", "1",
                     "--tuner", "random", "--batch-size", "8", "--time-budget", "none"])
    assert code == 0, capsys.readouterr().err
    frame = pd.read_csv(path).drop(columns=["label"])
    frame.insert(0, "note", "x")  # extra columns are ignored; the t0..t15 columns are read by name
    frame.to_csv(tmp_path / "new.csv", index=False)
    assert cli.main(["predict", str(run_dir), str(tmp_path / "new.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "p.csv")) == 30
    frame.drop(columns=["t3"]).to_csv(tmp_path / "short.csv", index=False)
    assert cli.main(["predict", str(run_dir), str(tmp_path / "short.csv")]) == 1
    assert "lacks time-step columns" in capsys.readouterr().err
