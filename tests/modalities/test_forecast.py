"""Forecasting: windows and chronological splits (no future leakage), the time-axis rules, metrics
against hand-computed values, the families' forecast contract (fresh-process reload), CLI errors and
one run end to end through the CLI. Data: a tiny generated monthly series (noisy sine with a trend)."""

import json
import subprocess
import sys
import textwrap

import keras
import keras_tuner as kt
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from automl import cli
from automl.config import load_config
from automl.errors import ConfigError, DataError
from automl.export import export_model
from automl.families import FAMILIES
from automl.diagnose.forecast_metrics import (forecast_errors, naive_forecast, seasonal_naive_forecast,
                                     seasonal_scale)
from automl.ingest import load_dataset
from automl.ingest.time_axis import autocorrelation_peak
from automl.profile import profile_dataset
from automl.modalities.batching import batched
from automl.select import choose_family


def make_series(path, n=120, shuffle=False, drop=(), step="MS", extra=None):
    """A monthly noisy sine (season 12) on a trend: the level leaves its training range by the test stretch."""
    rng = np.random.default_rng(0)
    t = np.arange(n)
    frame = pd.DataFrame({"date": pd.date_range("2000-01-01", periods=n, freq=step).strftime("%Y-%m-%d"),
                          "sales": 10 + 0.05 * t + 2 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.2, n)})
    if extra is not None:
        frame = extra(frame)
    frame = frame.drop(index=list(drop))
    if shuffle:
        frame = frame.sample(frac=1.0, random_state=0)
    frame.to_csv(path, index=False)
    return path


def _config(path, tmp_path, **overrides):
    settings = {**dict(max_trials=1, epochs=2, time_budget=None, batch_size=8, tuner="random",
                       run_dir=str(tmp_path / "run"), horizon=6), **overrides}
    return load_config(data=str(path), **settings)


@pytest.fixture
def series_csv(tmp_path):
    return make_series(tmp_path / "sales.csv")


def test_windows_are_chronological_and_hold_the_right_values(series_csv, tmp_path):
    dataset = load_dataset(_config(series_csv, tmp_path, lookback=24))
    facts = dataset.forecast
    assert dataset.task == "forecast" and facts.inputs.frequency == "MS" and facts.inputs.season == 12
    origins, starts, horizon = facts.origins, facts.starts, 6
    # Every target of a split lies inside its own stretch: train targets end before validation starts,
    # and the first test target comes after every training and validation target.
    assert origins["train"].max() + horizon <= starts["val"] <= origins["val"].min()
    assert origins["val"].max() + horizon <= starts["test"] <= origins["test"].min()
    assert origins["test"].max() + horizon == len(facts.values)
    x, y = next(iter(dataset.test.data.take(1)))
    first = origins["test"][0]
    np.testing.assert_array_equal(x.numpy(), facts.values[first - 24:first])
    np.testing.assert_array_equal(y.numpy()[:, 0], facts.values[first:first + horizon, 0])
    assert x.shape == (24, 1) and dataset.test.labels.shape == (len(origins["test"]), horizon, 1)


def test_unsorted_rows_are_sorted_and_missing_months_filled(tmp_path):
    path = make_series(tmp_path / "messy.csv", shuffle=True, drop=(30, 31, 70))
    dataset = load_dataset(_config(path, tmp_path))
    notes = " ".join(dataset.notes)
    assert "sorted by 'date'" in notes and "3 steps had no row" in notes
    assert len(dataset.forecast.values) == 120 and np.isfinite(dataset.forecast.values).all()


def test_duplicate_times_and_missing_time_column_are_clear_errors(tmp_path):
    duplicated = make_series(tmp_path / "dup.csv", extra=lambda f: pd.concat([f, f.iloc[[5]]]))
    with pytest.raises(DataError, match="1 duplicate times in 'date'.*one row per time step"):
        load_dataset(_config(duplicated, tmp_path))
    pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0)[::-1]}).to_csv(tmp_path / "no_time.csv", index=False)
    with pytest.raises(DataError, match="Found no time column.*--time-column"):
        load_dataset(_config(tmp_path / "no_time.csv", tmp_path))
    with pytest.raises(ConfigError, match="add --horizon"):
        load_config(data=str(duplicated), lookback=5)


def test_numeric_time_column_and_autocorrelation_season(tmp_path):
    t = np.arange(1700, 1900)
    frame = pd.DataFrame({"year": t.astype(float), "spots": 50 + 40 * np.sin(2 * np.pi * t / 10)})
    frame.to_csv(tmp_path / "spots.csv", index=False)
    dataset = load_dataset(_config(tmp_path / "spots.csv", tmp_path, horizon=5))
    assert dataset.forecast.inputs.season == 10 and dataset.forecast.inputs.lookback == 20
    assert autocorrelation_peak(np.random.default_rng(0).normal(size=300)) == (0, 0.0)


def test_metrics_match_hand_computed_values():
    series = np.array([[1.0], [2.0], [4.0], [3.0], [5.0], [6.0]])
    origins = np.array([4])
    np.testing.assert_array_equal(naive_forecast(series, origins, 2)[0, :, 0], [3.0, 3.0])
    # season 2: step 0 takes index 4 - 2 = 2 (4.0), step 1 takes index 5 - 2 = 3 (3.0)
    np.testing.assert_array_equal(seasonal_naive_forecast(series, origins, 2, 2)[0, :, 0], [4.0, 3.0])
    # in-sample seasonal-naive MAE (season 2) on the first 4 values: (|4-1| + |3-2|) / 2 = 2
    scale = seasonal_scale(series[:4], 2)
    np.testing.assert_allclose(scale, [2.0])
    errors = forecast_errors(series[None, 4:6], np.array([[[4.0], [3.0]]]), scale)  # errors 1 and 3
    assert errors == pytest.approx({"mae": 2.0, "rmse": np.sqrt(5.0), "mase": 1.0})


def test_naive_forecast_has_mase_one_on_its_own_scaling_set():
    train = np.cumsum(np.random.default_rng(1).normal(size=(200, 1)), axis=0)
    origins = np.arange(1, 200)  # every one-step forecast inside the training stretch
    actual = np.stack([train[o:o + 1] for o in origins])
    mase = forecast_errors(actual, naive_forecast(train, origins, 1), seasonal_scale(train, 1))["mase"]
    assert mase == pytest.approx(1.0)


def test_untrained_model_is_the_seasonal_naive_forecast(series_csv, tmp_path):
    """The anchored head starts at the seasonal-naive forecast, so training can only start from there."""
    dataset = load_dataset(_config(series_csv, tmp_path, lookback=24))
    profile = profile_dataset(dataset)
    model = FAMILIES["series_cnn"](kt.HyperParameters(), profile)
    predicted = model.predict(batched(dataset.test, profile, 64, None), verbose=0)
    facts = dataset.forecast
    expected = seasonal_naive_forecast(facts.values, facts.origins["test"], 6, 12)
    np.testing.assert_allclose(predicted, expected, atol=1e-4)


def test_selector_states_why_for_forecasts(series_csv, tmp_path):
    profile = profile_dataset(load_dataset(_config(series_csv, tmp_path)))
    plan = choose_family(profile, _config(series_csv, tmp_path))
    assert plan.family == "series_rnn" and "last state summarises the window" in plan.reason
    assert plan.task_reason.startswith("Forecasting: --horizon 6")
    with pytest.raises(ConfigError, match="takes table data, but this data is series"):
        choose_family(profile, _config(series_csv, tmp_path, family="mlp"))


FRESH_PROCESS = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    windows = tf.constant(np.load(sys.argv[1])["series"])
    models = {d: tf.saved_model.load(d) for d in sys.argv[2:]}  # held: their variables live with them
    print(json.dumps({d: model.serve(windows)["forecast"].numpy().tolist() for d, model in models.items()}))
""")


def test_cli_errors_for_forecasts(series_csv, tmp_path, capsys):
    code = cli.main(["plan", str(series_csv), "--horizon", "60"])
    err = capsys.readouterr().err
    assert code == 1 and "horizon 60" in err and "Use a smaller --horizon" in err and "Traceback" not in err
    code = cli.main(["plan", str(tmp_path), "--horizon", "3"])
    assert code == 1 and "--horizon asks for a forecast" in capsys.readouterr().err
    assert cli.main(["plan", str(series_csv), "--horizon", "6", "--time-column", "when"]) == 1
    assert "No column 'when'" in capsys.readouterr().err


def _export_other_families(run_dir, tmp_path, windows) -> dict:
    """The forecast contract for the families the run did not pick: each builds with the forecast head
    ([n, horizon, targets] out) and exports a SavedModel taking raw windows, with in-process parity."""
    profile = profile_dataset(load_dataset(_config(run_dir.parent / "sales.csv", tmp_path)))
    expected = {}
    for family in ("series_cnn", "series_transformer", "series_rocket"):
        model = FAMILIES[family](kt.HyperParameters(), profile)
        assert model.output_shape == (None, 6, 1)
        export = export_model(model, profile, windows, tmp_path / family)
        assert export.parity_max_abs_diff < 1e-4
        expected[str(export.model_dir)] = model.predict(windows, verbose=0)
    return expected


@pytest.mark.slow  # 40 s in CI; keeps the default suite under 12 minutes (run with -m slow)
def test_run_end_to_end_and_every_family_reloads_in_a_fresh_process(series_csv, tmp_path, capsys):
    """One CLI run (report, summary.json, SavedModel), then the SavedModels of all four series families
    forecast the same in a fresh process that imports only TensorFlow. Training the other two families
    is left to the classification contract in test_families.py (an epoch costs 5-10 s a family here)."""
    run_dir = tmp_path / "run"
    code = cli.main(["run", str(series_csv), "--horizon", "6", "--output", str(run_dir), "--max-trials", "1",
                     "--epochs", "1", "--tuner", "random", "--batch-size", "16", "--time-budget", "none"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "test MASE" in out.out and "seasonal naive" in out.out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["task"] == "forecast" and summary["family"] == "series_rnn"
    methods = summary["forecast"]["methods"]
    assert set(methods) == {"model", "naive (last value)", "seasonal naive"}
    assert summary["metrics"]["test"]["mase"] == pytest.approx(methods["model"]["mase"])
    html = (run_dir / "report.html").read_text()
    assert 'id="forecast"' in html and "seasonal naive" in html
    meta = json.loads((run_dir / "model" / "metadata.json").read_text())
    assert meta["outputs"] == ["forecast"] and meta["forecast"]["frequency"] == "MS"
    assert meta["forecast"]["lookback"] == 24 and meta["forecast"]["horizon"] == 6  # max(3 × 6, 2 × 12)
    windows = np.linspace(10, 14, 2 * 24, dtype=np.float32).reshape(2, 24, 1)
    expected = {str(run_dir / "model"): keras.saving.load_model(run_dir / "model.keras").predict(windows, verbose=0)}
    expected.update(_export_other_families(run_dir, tmp_path, tf.constant(windows)))
    np.savez(tmp_path / "windows.npz", series=windows)
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(tmp_path / "windows.npz"), *expected],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    for model_dir, got in json.loads(done.stdout.strip().splitlines()[-1]).items():
        assert np.shape(got) == (2, 6, 1)
        np.testing.assert_allclose(got, expected[model_dir], atol=1e-4)
    # automl predict: the 6 months after the table's last date (2009-12-01), from its last 24 steps
    assert cli.main(["predict", str(run_dir), str(series_csv), "-o", str(tmp_path / "p.csv")]) == 0
    predicted = pd.read_csv(tmp_path / "p.csv")
    assert list(predicted["date"]) == [f"2010-0{m}-01" for m in range(1, 7)] and predicted["sales"].notna().all()
