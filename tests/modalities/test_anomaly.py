"""Anomaly detection: tables (--task anomaly), flat image folders and unlabelled series are detected or forced,
their labels (if any) only score the autoencoder, the threshold is applied by the SavedModel, and mistakes
are DataErrors that say what to do."""

import json

import numpy as np
import pandas as pd
import pytest

from automl.cli import main
from automl.config import load_config
from automl.errors import ConfigError, DataError
from automl.ingest import ANOMALY, UNKNOWN, load_dataset
from automl.profile import profile_dataset
from automl.select import choose_family
from helpers import FAST_CLI_FLAGS, make_image_folder, no_traceback, write_image

OUTLIERS = 8


def outlier_table(path, rows: int = 120, label: bool = True):
    """Normal rows lie near a line (c ≈ 2a) with a category; the first OUTLIERS rows are far off it, and
    `label` marks them (1) when asked. A separable task the tiny autoencoder must solve."""
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, rows)
    frame = pd.DataFrame({"a": a, "b": rng.normal(0, 1, rows), "c": 2 * a + rng.normal(0, 0.1, rows),
                          "colour": rng.choice(["red", "blue"], rows)})
    frame.loc[:OUTLIERS - 1, ["a", "b", "c"]] = [6.0, -6.0, -12.0]
    if label:
        frame["label"] = [1] * OUTLIERS + [0] * (rows - OUTLIERS)
    frame.to_csv(path, index=False)
    return path


def test_labelled_table_run_scores_outliers_and_reports_metrics(tmp_path, capsys):
    data = outlier_table(tmp_path / "rows.csv")
    run = tmp_path / "run"
    assert main(["run", str(data), "--task", "anomaly", "--output", str(run), *FAST_CLI_FLAGS[:2], "--epochs", "3",
                 *FAST_CLI_FLAGS[4:]]) == 0
    printed = no_traceback(capsys)
    assert "autoencoder_table" in printed and "known anomalies" in printed
    summary = json.loads((run / "summary.json").read_text())
    assert summary["task"] == "anomaly" and summary["family"] == "autoencoder_table"
    assert {"roc_auc", "precision", "recall", "f1"} <= set(summary["metrics"]["test"])
    assert summary["anomaly"]["threshold"] > 0 and summary["anomaly"]["labelled_test_examples"]["anomaly"] == OUTLIERS
    assert summary["anomaly"]["isolation_forest"]["roc_auc"] >= 0.5  # the simple baseline beside ours
    meta = json.loads((run / "model" / "metadata.json").read_text())
    assert meta["outputs"] == ["anomaly_score", "is_anomaly"] and meta["anomaly_threshold"] == pytest.approx(
        summary["anomaly"]["threshold"])
    assert "Anomaly scores and threshold" in (run / "report.html").read_text()

    # The outliers score above the threshold (applied inside the SavedModel) more often than normal rows.
    assert main(["predict", str(run), str(data), "--output", str(tmp_path / "scored.csv")]) == 0
    scored = pd.read_csv(tmp_path / "scored.csv")
    flagged = scored["is_anomaly"].astype(bool)
    assert flagged[:OUTLIERS].mean() > flagged[OUTLIERS:].mean()
    assert scored["anomaly_score"][:OUTLIERS].min() > scored["anomaly_score"][OUTLIERS:].median()


def test_unlabelled_table_is_anomaly_detection_with_unknown_labels(tmp_path):
    config = load_config(data=str(outlier_table(tmp_path / "rows.csv", label=False)), task="anomaly")
    dataset = load_dataset(config)
    assert dataset.task == "anomaly" and dataset.target is None
    assert all((split.labels == UNKNOWN).all() for split in dataset.splits().values())
    plan = choose_family(profile_dataset(dataset), config)
    assert plan.family == "autoencoder_table" and "0.99 quantile" in plan.reason


def test_known_anomalies_are_never_trained_on(tmp_path):
    dataset = load_dataset(load_config(data=str(outlier_table(tmp_path / "rows.csv")), task="anomaly"))
    assert not (dataset.train.labels == ANOMALY).any() and not (dataset.val.labels == ANOMALY).any()
    assert (dataset.test.labels == ANOMALY).sum() == OUTLIERS
    assert "label" not in dataset.table.train.columns  # not a feature either


def test_flat_image_folder_is_detected_and_announced(tmp_path, capsys):
    folder = tmp_path / "photos"
    for i in range(14):
        write_image(folder / f"{i}.png", 120, seed=i)
    for i in range(3):  # known anomalies: scored on test only
        write_image(folder / "anomaly" / f"{i}.png", 250, seed=50 + i)
    assert main(["plan", str(folder)]) == 0
    printed = no_traceback(capsys)
    assert "autoencoder_image" in printed and "no labels found" in printed.lower()
    dataset = load_dataset(load_config(data=str(folder)))
    assert dataset.task == "anomaly" and (dataset.test.labels == ANOMALY).sum() == 3


@pytest.mark.parametrize("make, flags, message", [
    (lambda p: make_image_folder(p / "classes"), ["--task", "anomaly"], "sub-folders 'bright', 'dark'"),
    (lambda p: pd.DataFrame({"x": range(20), "label": ["a", "b", "c", "d"] * 5}).to_csv(p / "t.csv") or p / "t.csv",
     ["--task", "anomaly"], "known anomalies need two"),
    (lambda p: pd.DataFrame({"x": range(6), "z": range(6)}).to_csv(p / "t.csv") or p / "t.csv",
     ["--task", "anomaly"], "at least one feature column and 10 rows"),
])
def test_bad_inputs_are_clear_data_errors(tmp_path, capsys, make, flags, message):
    data = make(tmp_path)
    assert main(["plan", str(data), *flags]) == 1
    assert message in no_traceback(capsys)
    with pytest.raises(DataError, match=message):
        load_dataset(load_config(data=str(data), task="anomaly"))


def test_family_and_task_must_agree(tmp_path):
    config = load_config(data=str(outlier_table(tmp_path / "rows.csv")), task="anomaly", family="mlp")
    with pytest.raises(ConfigError, match="autoencoder_table"):
        choose_family(profile_dataset(load_dataset(config)), config)
    with pytest.raises(ConfigError, match="anomaly-quantile"):
        load_config(data="x.csv", anomaly_quantile=1.5)


def unlabelled_ts(path, count: int = 24, length: int = 20):
    """A .ts file with @classLabel false: noisy sines, no labels."""
    rng = np.random.default_rng(0)
    rows = [",".join(f"{v:.4f}" for v in np.sin(np.linspace(0, 6, length)) + rng.normal(0, 0.1, length))
            for _ in range(count)]
    path.write_text("\n".join(["@problemName waves", "@timeStamps false", "@univariate true", "@equalLength true",
                               f"@seriesLength {length}", "@classLabel false", "@data", *rows]) + "\n")
    return path


def test_unlabelled_series_file_is_anomaly_detection(tmp_path):
    config = load_config(data=str(unlabelled_ts(tmp_path / "waves.ts")))
    dataset = load_dataset(config)
    assert dataset.task == "anomaly" and dataset.modality == "series"
    assert choose_family(profile_dataset(dataset), config).family == "autoencoder_series"


@pytest.mark.slow  # a whole image run (about 20 s on 2 cores); the contract test covers the family's export
def test_flat_image_folder_run(tmp_path, capsys):
    folder = tmp_path / "photos"
    for i in range(14):
        write_image(folder / f"{i}.png", 120, seed=i)
    for i in range(3):
        write_image(folder / "anomalies" / f"{i}.png", 250, seed=50 + i)
    assert main(["run", str(folder), "--output", str(tmp_path / "run"), *FAST_CLI_FLAGS]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["family"] == "autoencoder_image" and "roc_auc" in summary["metrics"]["test"]
