"""Text: ingest (folders of .txt, tables with a text column), profile facts, selection, and runs end to end.

The tiny generated texts are separable by their words ("good great fine" vs "bad awful poor"), with
shared noise words, so a model that learns anything at all gets them right.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from automl import cli
from automl.errors import ConfigError, DataError
from automl.ingest import load_dataset
from automl.profile import profile_dataset
from automl.select import choose_family
from helpers import NOISE, WORDS, make_text_folder, make_texts

@pytest.fixture
def text_folder(tmp_path):
    return make_text_folder(tmp_path / "texts")


@pytest.fixture
def text_tsv(tmp_path):
    rows = [(t, 1) for t in make_texts("pos", 30, 1)] + [(t, 0) for t in make_texts("neg", 30, 2)]
    frame = pd.DataFrame(rows, columns=["sentence", "label"]).assign(code=np.arange(60) % 3)
    path = tmp_path / "reviews.tsv"
    frame.to_csv(path, sep="\t", index=False)
    return path


def test_text_folder_is_text_with_words_and_hashes(text_folder, config_for):
    dataset = load_dataset(config_for(text_folder))
    assert dataset.modality == "text" and dataset.class_names == ("neg", "pos")
    assert sum(s.size for s in dataset.splits().values()) == 40
    text, label = next(iter(dataset.train.data))
    assert text.dtype.name == "string" and len(text.numpy().decode().split()) == 12
    assert len(set(dataset.train.hashes)) == dataset.train.size


def test_imdb_layout_honours_splits_and_ignores_unsup(tmp_path, config_for):
    root = make_text_folder(tmp_path / "aclImdb", per_class=20, splits=("train", "test"))
    (root / "train" / "unsup").mkdir()
    (root / "train" / "unsup" / "0_0.txt").write_text("unlabelled review")
    (root / "train" / "urls_pos.txt").write_text("http://example.com")
    (root / "README").write_text("readme")
    dataset = load_dataset(config_for(root))
    assert dataset.class_names == ("neg", "pos")
    assert dataset.test.size == 40 and dataset.train.size + dataset.val.size == 40
    assert np.bincount(dataset.val.labels).tolist() == [3, 3]  # stratified, from train/ only
    assert "Honoured test/" in dataset.split_note
    assert any("unsup/" in note and "urls_pos.txt" in note for note in dataset.notes)
    again = load_dataset(config_for(root))
    assert again.val.hashes == dataset.val.hashes  # seeded


def test_empty_and_undecodable_files_are_handled_the_same_way_every_time(text_folder, config_for):
    (text_folder / "pos" / "empty.txt").write_text("  \n")
    (text_folder / "neg" / "latin1.txt").write_bytes("bad caf\xe9 awful poor".encode("latin-1"))
    (text_folder / "neg" / "cover.jpg").write_bytes(b"\xff\xd8")
    dataset = load_dataset(config_for(text_folder))
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in dataset.skipped}
    assert reasons == {"empty.txt": "empty text file", "cover.jpg": "not a .txt file (.jpg)"}
    assert dataset.text.undecodable == 1
    texts = [t.decode() for split in dataset.splits().values() for t, _ in split.data.as_numpy_iterator()]
    assert "bad caf\ufffd awful poor" in texts
    profile = profile_dataset(dataset)
    encoding = next(g for g in profile.guardrails if g.name == "Text encoding")
    assert encoding.status == "Done" and "1 texts" in encoding.message


def test_profile_counts_words_vocabulary_and_cross_split_duplicates(tmp_path, config_for):
    root = make_text_folder(tmp_path / "texts", per_class=10, splits=("train", "test"))
    (root / "test" / "pos" / "copy.txt").write_text((root / "train" / "pos" / "0_pos.txt").read_text())
    dataset = load_dataset(config_for(root))
    profile = profile_dataset(dataset)
    facts = dict(profile.facts)
    assert facts["Words per text"].startswith("median 12, 95th percentile 12")
    assert set(profile.text_inputs.words) <= set(NOISE + WORDS["pos"] + WORDS["neg"])
    assert "movie" in profile.text_inputs.words and "great awful" not in profile.text_inputs.words
    assert len(profile.text_inputs.ngrams) == len(profile.text_inputs.idf_weights)
    assert any(" " in ngram for ngram in profile.text_inputs.ngrams)
    assert profile.text_inputs.sequence_length == 12
    leak = next(g for g in profile.guardrails if g.name == "Leakage into test")
    assert leak.status == "Alerted" and leak.message.startswith("1 of 21"), "the copy has the same text hash"


def test_vocabulary_matches_what_text_vectorization_produces(text_folder, config_for):
    import keras

    profile = profile_dataset(load_dataset(config_for(text_folder)))
    layer = keras.layers.TextVectorization(output_mode="int", vocabulary=list(profile.text_inputs.words))
    ids = layer(["The MOVIE, was great!"]).numpy()[0]
    assert 1 not in ids.tolist()  # no out-of-vocabulary token: punctuation and case are handled alike


def test_tsv_text_column_is_detected_and_announced(text_tsv, config_for):
    dataset = load_dataset(config_for(text_tsv))
    assert dataset.modality == "text" and dataset.text.column == "sentence"
    assert any("Text column detected: 'sentence'" in note for note in dataset.notes)
    assert any("'code'" in note for note in dataset.notes)  # the unused column is said, not silently dropped


def test_text_column_flag_overrides_and_checks(text_tsv, config_for):
    assert load_dataset(config_for(text_tsv, text_column="sentence")).text.column == "sentence"
    with pytest.raises(DataError, match="No column 'review' for --text-column"):
        load_dataset(config_for(text_tsv, text_column="review"))


def test_plain_table_stays_a_table(table_csv, config_for):
    assert load_dataset(config_for(table_csv)).modality == "table"


def test_selector_follows_the_samples_per_words_rule(text_folder, config_for):
    profile = profile_dataset(load_dataset(config_for(text_folder)))
    plan = choose_family(profile, config_for(text_folder))
    assert plan.family == "ngram" and "1500" in plan.reason
    many = profile.__class__(**{**profile.__dict__, "split_sizes": {**profile.split_sizes, "train": 60_000}})
    plan = choose_family(many, config_for(text_folder))
    assert plan.family in ("rnn", "transformer") and "1500" in plan.reason


def test_forced_family_must_take_text(text_folder, config_for):
    profile = profile_dataset(load_dataset(config_for(text_folder)))
    assert choose_family(profile, config_for(text_folder, family="transformer")).family == "transformer"
    with pytest.raises(ConfigError, match="takes table data, but this data is text. Use --family ngram or rnn or transformer"):
        choose_family(profile, config_for(text_folder, family="mlp"))


def test_run_and_predict_on_a_text_folder(text_folder, tmp_path, capsys):
    run_dir = tmp_path / "run"
    code = cli.main(["run", str(text_folder), "--output", str(run_dir), "--max-trials", "1", "--epochs", "3",
                     "--tuner", "random", "--batch-size", "8", "--time-budget", "none"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["family"] == "ngram" and (run_dir / "report.html").exists()
    new = make_text_folder(tmp_path / "new", per_class=3)
    assert cli.main(["predict", str(run_dir), str(new), "-o", str(tmp_path / "p.csv")]) == 0
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert len(predictions) == 6 and set(predictions["predicted_class"]) <= {"neg", "pos"}
    assert {"path", "probability_pos"} <= set(predictions.columns)


def test_run_and_predict_on_a_tsv(text_tsv, tmp_path, capsys):
    run_dir = tmp_path / "run"
    code = cli.main(["run", str(text_tsv), "--output", str(run_dir), "--max-trials", "1",
                     "--epochs", "2", "--tuner", "random", "--batch-size", "8", "--time-budget", "none"])
    assert code == 0, capsys.readouterr().err
    assert json.loads((run_dir / "summary.json").read_text())["family"] == "ngram"
    assert cli.main(["predict", str(run_dir), str(text_tsv), "-o", str(tmp_path / "p.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "p.csv", sep=",")) == 60


def test_non_ascii_texts_are_kept_for_later_exports(tmp_path):
    import tensorflow as tf

    from automl.export.measure import load_samples, save_samples

    texts = ["héllo wörld — ça va", "plain", "日本語のレビュー"]
    save_samples(tf.constant(texts), tmp_path)  # tf.string holds UTF-8 bytes
    assert [value.decode("utf-8") for value in load_samples(tmp_path).numpy()] == texts
