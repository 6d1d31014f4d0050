"""The text n-gram linear model offered to the final ensemble (automl.search.linear_text)."""

import json
import re

import numpy as np
import tensorflow as tf

from automl.search.ensemble import average_models
from automl.search.linear_text import MEMBER, WORD, fit_linear_text_model, keras_words
from automl.cli import main
from helpers import FAST_CLI_FLAGS, make_text_folder, make_texts


def _labelled(labels: tuple[str, ...], count: int, seed: int):
    texts, targets = [], []
    for index, label in enumerate(labels):
        texts += make_texts(label, count, seed=seed + index)
        targets += [index] * count
    return texts, np.array(targets)


def test_its_words_are_text_vectorization_s():
    texts = ["It's GREAT!!", "Don't  (ever) watch — ÉCOLE", "a\tb,c.d", "naïve CAFÉ?", "x\u00a0y  z"]
    vectorizer = tf.keras.layers.TextVectorization()
    vectorizer.adapt(texts)
    words = [word for text in keras_words(texts) for word in re.findall(WORD, text)]
    assert set(words) == set(vectorizer.get_vocabulary()[2:])  # index 0 pads, 1 is "[UNK]"


def test_two_class_model_learns_and_reads_raw_strings():
    texts, labels = _labelled(("neg", "pos"), 40, seed=1)
    fitted = fit_linear_text_model(texts, labels, classes=2)
    assert fitted is not None and fitted.model.name == MEMBER and fitted.ngrams > 10
    held_out, truth = _labelled(("neg", "pos"), 20, seed=50)
    held_out = [text.upper() + " !!" for text in held_out]  # case and punctuation are standardised away
    probabilities = fitted.model.predict(tf.constant(held_out), verbose=0)
    assert probabilities.shape == (40, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (probabilities.argmax(axis=1) == truth).mean() >= 0.95


def test_many_classes_and_a_missing_class():
    words = {"neg": "bad", "pos": "good", "mid": "fine"}
    texts = [f"the film was {words[label]} and {words[label]}" for label in words for _ in range(10)]
    labels = np.repeat([0, 1, 2], 10)
    fitted = fit_linear_text_model(texts, labels, classes=3)
    predicted = fitted.model.predict(tf.constant(["good good", "bad film", "fine plot fine"]), verbose=0).argmax(1)
    assert list(predicted) == [1, 0, 2]
    assert fit_linear_text_model(texts[:20], labels[:20], classes=3) is None  # no text of the third class


def test_averaged_with_a_trial_it_exports_and_reloads(tmp_path):
    texts, labels = _labelled(("neg", "pos"), 30, seed=3)
    linear = fit_linear_text_model(texts, labels, classes=2).model
    inputs = tf.keras.Input(shape=(), dtype="string", name="text")
    constant = tf.keras.Model(inputs, tf.keras.layers.Dense(2, activation="softmax")(
        tf.keras.layers.TextVectorization(output_mode="count", vocabulary=["good"])(inputs)), name="trial")
    ensemble = average_models({"03": constant, MEMBER: linear})
    assert [layer.name for layer in ensemble.layers[1:3]] == ["trial_03", MEMBER]
    sample = tf.constant(["good good film", "awful plot"])
    expected = (constant.predict(sample, verbose=0) + linear.predict(sample, verbose=0)) / 2
    ensemble.export(str(tmp_path / "model"), verbose=0)
    reloaded = tf.saved_model.load(str(tmp_path / "model"))
    np.testing.assert_allclose(reloaded.serve(sample).numpy(), expected, atol=1e-5)


def test_a_text_run_puts_it_on_the_leaderboard(tmp_path, capsys):
    data = make_text_folder(tmp_path / "texts", per_class=30)
    run_dir = tmp_path / "run"
    assert main(["run", str(data), "--output", str(run_dir), *FAST_CLI_FLAGS, "--family", "ngram"]) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    rows = {row["name"]: row for row in summary["leaderboard"]["rows"]}
    assert rows["naive Bayes-weighted word 1-3-grams + logistic regression"]["kind"] == "simple"
    # --family ngram: the user asked for the n-gram family, so a trial (or an average of trials) ships.
    assert rows[summary["leaderboard"]["chosen"]]["kind"] in ("trial", "ensemble")
    assert "naive Bayes-weighted word 1-3-grams" in capsys.readouterr().out


def test_a_cut_best_trial_is_still_a_candidate():
    from types import SimpleNamespace

    from automl.search.candidates import trial_candidates

    loaded = SimpleNamespace(model=lambda trial_id: f"model {trial_id}", outputs=lambda trial_id: np.zeros((2, 2)))
    ranked = [SimpleNamespace(trial_id="03", status="CUT_AT_DEADLINE", seconds=1.0, params=5),
              SimpleNamespace(trial_id="00", status="COMPLETED", seconds=1.0, params=5),
              SimpleNamespace(trial_id="01", status="COMPLETED", seconds=1.0, params=5)]
    assert [c.name for c in trial_candidates(loaded, ranked, 2)] == ["trial 03", "trial 00"]
    assert [c.name for c in trial_candidates(loaded, ranked, 1)] == ["trial 03"]
