"""Multi-label classification: label sets in a delimited column or in 0/1 columns (--target a,b,c), for tables,
texts and image folders with a labels.csv; thresholds tuned on validation; runs end to end whose SavedModel
reloads in a fresh process with plain TensorFlow; bad targets as DataErrors.

The generated tables' labels follow from their columns ("red" when x1 > 0, "round" when x2 > 0, "big" when
x3 > 0.3), and the texts' from their words, so the tiny models have something to learn.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from automl import cli
from automl.diagnose.multilabel import diagnose_multilabel, tune_thresholds
from automl.errors import DataError
from automl.ingest import load_dataset
from automl.predict import load_run_model, predict_instances
from automl.profile import profile_dataset
from helpers import FAST_CLI_FLAGS, no_traceback, write_image

LABELS = ("big", "red", "round")


def _features(rows: int, seed: int = 0) -> pd.DataFrame:
    x = np.random.default_rng(seed).normal(size=(rows, 3))
    return pd.DataFrame(x, columns=["x1", "x2", "x3"])


def _flags(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"red": frame.x1 > 0, "round": frame.x2 > 0, "big": frame.x3 > 0.3}).astype(int)


def delimited_table(path, rows=90, delimiter="|"):
    frame = _features(rows)
    flags = _flags(frame)
    frame["tags"] = [delimiter.join(name for name in flags.columns if row[name]) or "plain" for _, row in flags.iterrows()]
    frame.to_csv(path, index=False)
    return path


def columns_table(path, rows=90):
    frame = _features(rows)
    pd.concat([frame, _flags(frame)], axis=1).to_csv(path, index=False)
    return path


TOPICS = {"sport": ("goal", "match", "team"), "money": ("bank", "price", "market"), "food": ("pizza", "bread", "cheese")}
NOISE = ("the", "a", "today", "we", "saw", "some", "very", "and", "then", "it")


def text_table(path, rows=60):
    rng = np.random.default_rng(1)
    records = []
    for _ in range(rows):
        topics = [t for t in TOPICS if rng.random() < 0.5] or ["sport"]
        words = [w for t in topics for w in rng.choice(TOPICS[t], 2)] + list(rng.choice(NOISE, 6))
        records.append((" ".join(rng.permutation(words)), ";".join(topics)))
    pd.DataFrame(records, columns=["text", "topics"]).to_csv(path, index=False)
    return path


def test_delimited_target_is_detected_with_its_delimiter(tmp_path, config_for):
    dataset = load_dataset(config_for(delimited_table(tmp_path / "t.csv", delimiter=";")))
    assert dataset.task == "multilabel" and dataset.class_names == ("big", "plain", "red", "round")
    assert dataset.train.labels.dtype == np.float32 and dataset.train.labels.shape[1] == 4
    assert any("separated by ';'" in note for note in dataset.notes)
    _, labels = next(iter(dataset.train.data))
    assert labels.dtype.name == "float32" and labels.shape == (4,)
    profile = profile_dataset(dataset)
    assert profile.class_weight is None and any("Multi-label target" in value for _, value in profile.facts)


def test_label_columns_named_with_target(tmp_path, config_for):
    path = columns_table(tmp_path / "t.csv")
    dataset = load_dataset(config_for(path, target="red,round,big"))
    assert dataset.task == "multilabel" and dataset.class_names == LABELS
    frame = pd.read_csv(path)
    total = sum(split.labels.sum(axis=0) for split in dataset.splits().values())
    assert total.tolist() == [frame[name].sum() for name in LABELS]
    assert not {"red", "round", "big"} & set(dataset.table.train.columns)


def test_bad_multilabel_targets_are_data_errors(tmp_path, config_for):
    path = columns_table(tmp_path / "t.csv")
    with pytest.raises(DataError, match="'shiny'"):
        load_dataset(config_for(path, target="red,shiny"))
    pd.read_csv(path).assign(red=lambda f: f.red * 2).to_csv(path, index=False)
    with pytest.raises(DataError, match="must hold 0 or 1"):
        load_dataset(config_for(path, target="red,round"))
    single = _features(40).assign(kind=["a", "b", "c", "d"] * 10)
    single.to_csv(tmp_path / "single.csv", index=False)
    with pytest.raises(DataError, match="plain classification"):
        load_dataset(config_for(tmp_path / "single.csv", task="multilabel"))
    assert load_dataset(config_for(tmp_path / "single.csv")).task == "classification"  # auto: one label a row


def test_text_table_with_label_sets_is_multilabel_text(tmp_path, config_for):
    dataset = load_dataset(config_for(text_table(tmp_path / "texts.csv")))
    assert (dataset.modality, dataset.task, dataset.class_names) == ("text", "multilabel", ("food", "money", "sport"))
    text, labels = next(iter(dataset.train.data))
    assert text.dtype.name == "string" and labels.shape == (3,)


def test_image_folder_with_label_sets(tmp_path, config_for):
    root, rows = tmp_path / "photos", []
    for i in range(20):
        write_image(root / f"i{i}.png", 40 if i % 2 else 210, seed=i)
        rows.append((f"i{i}.png", ("dark" if i % 2 else "bright") + ("|square" if i % 3 else "")))
    pd.DataFrame(rows, columns=["filename", "labels"]).to_csv(root / "labels.csv", index=False)
    dataset = load_dataset(config_for(root))
    assert (dataset.modality, dataset.task, dataset.class_names) == ("image", "multilabel", ("bright", "dark", "square"))


def test_thresholds_maximise_each_labels_f1_and_metrics():
    labels = np.array([[1, 0], [1, 0], [1, 1], [0, 1], [0, 1], [0, 0]], dtype=np.float32)
    probabilities = np.array([[0.3, 0.1], [0.35, 0.2], [0.4, 0.9], [0.1, 0.8], [0.2, 0.7], [0.05, 0.1]])
    thresholds = tune_thresholds(labels, probabilities)
    assert 0.2 < thresholds[0] <= 0.3 and thresholds[1] == 0.5  # the nearest 0.5 among the best
    splits = {s: labels for s in ("train", "val", "test")}
    diagnosis = diagnose_multilabel(("a", "b"), splits, {s: probabilities for s in splits}, best_epoch=1)
    assert diagnosis.metrics["test"]["micro_f1"] == 1.0 and diagnosis.metrics["test"]["subset_accuracy"] == 1.0
    assert diagnosis.thresholds == thresholds and [c.name for c in diagnosis.per_class] == ["a", "b"]
    assert diagnosis.baseline["subset_accuracy"] == pytest.approx(2 / 6)  # {a} and {b} tie; the first is kept


FRESH_PROCESS = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    model = tf.saved_model.load(sys.argv[1])
    rows = json.loads(sys.argv[2])
    out = model.serve({key: tf.constant([row[key] for row in rows], tf.float32) for key in rows[0]})
    print(json.dumps({"probabilities": out["probabilities"].numpy().tolist(),
                      "predicted": out["predicted"].numpy().tolist(),
                      "labels": [v.decode() for v in out["predicted_labels"].numpy()]}))
""")


def test_table_run_exports_thresholds_and_reloads_in_a_fresh_process(tmp_path, capsys):
    path, run_dir = columns_table(tmp_path / "t.csv"), tmp_path / "run"
    assert cli.main(["run", str(path), "--target", "red,round,big", "--output", str(run_dir),
                     *FAST_CLI_FLAGS[:2], "--epochs", "3", *FAST_CLI_FLAGS[4:]]) == 0
    assert "micro F1" in no_traceback(capsys)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["task"] == "multilabel" and summary["objective"] == "val_auc"
    assert {"micro_f1", "macro_f1", "subset_accuracy"} <= set(summary["metrics"]["test"]) <= set(
        summary["metrics"]["test"]) | {"loss"}
    assert set(summary["label_thresholds"]) == set(LABELS) and "confusion matrix" in summary["skipped_for_multilabel"]
    assert "Multi-label runs skip" in (run_dir / "report.html").read_text()
    meta = json.loads((run_dir / "model" / "metadata.json").read_text())
    assert meta["class_names"] == list(LABELS) and len(meta["label_thresholds"]) == 3
    rows = [{"x1": 1.5, "x2": -1.5, "x3": 2.0}, {"x1": -1.5, "x2": 1.5, "x3": -2.0}]
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(run_dir / "model"), json.dumps(rows)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    fresh = json.loads(done.stdout.strip().splitlines()[-1])
    probabilities, cut = np.array(fresh["probabilities"]), np.array(meta["label_thresholds"])
    assert probabilities.shape == (2, 3) and fresh["predicted"] == (probabilities >= cut).astype(int).tolist()
    assert fresh["labels"] == ["|".join(n for n, on in zip(LABELS, row) if on) for row in fresh["predicted"]]
    served = predict_instances(*load_run_model(run_dir), rows)  # what `automl serve` answers with
    assert served["predicted_labels"].tolist() == fresh["labels"]
    np.testing.assert_allclose(served[[f"probability_{n}" for n in LABELS]].to_numpy(), probabilities, atol=1e-5)


@pytest.mark.slow  # 14 s on 2 cores: a whole run; the table run above covers the task end to end
def test_text_run_predicts_label_sets(tmp_path, capsys):
    path, run_dir = text_table(tmp_path / "texts.csv"), tmp_path / "run"
    assert cli.main(["run", str(path), "--output", str(run_dir), *FAST_CLI_FLAGS]) == 0
    no_traceback(capsys)
    assert json.loads((run_dir / "summary.json").read_text())["family"] in ("ngram", "rnn", "transformer")
    assert cli.main(["predict", str(run_dir), str(path), "-o", str(tmp_path / "p.csv")]) == 0
    predictions = pd.read_csv(tmp_path / "p.csv", keep_default_na=False)
    assert {"predicted_labels", "probability_food", "probability_money", "probability_sport"} <= set(predictions.columns)
    assert all(set(filter(None, cell.split("|"))) <= set(TOPICS) for cell in predictions["predicted_labels"])
