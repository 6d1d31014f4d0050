"""TF-IDF + logistic regression copied exactly into Keras (automl.search.tfidf_text)."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from automl.search.tfidf_text import fit_tfidf_text_model

CLASS_WORDS = [["bad", "awful", "dull"], ["good", "great", "lovely"], ["fine", "okay", "average"]]
NOISE = ["the", "film", "plot", "was", "and", "it", "Café", "straße", "naïve", "😀", "acting!", "(story)", "a"]
# Upper case, punctuation, Unicode, runs of whitespace (line breaks too), unseen words, and nothing at all.
HELD_OUT = ["GOOD film, GREAT plot!!!", "the   Plot was\t\tdull…  😀😀", "Straße\u00a0CAFÉ naïve — lovely?",
            "zebra quantum xylophone", "", "!!!", "okay\nfine\r\naverage", "É ß é àç good bad",
            "a"]


def _labelled(classes: int, count: int, seed: int):
    """Texts of noise words with two of their class's words mixed in: a learnable but not certain signal."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % classes
    texts = [" ".join(rng.permutation(list(rng.choice(NOISE, 6)) + list(rng.choice(CLASS_WORDS[label], 2))))
             for label in labels]
    return texts, labels


def _fit(classes: int, characters: bool):
    texts, labels = _labelled(classes, 24 * classes, seed=classes)
    fitted = fit_tfidf_text_model(texts, labels, classes, characters)
    assert fitted is not None and fitted.features > 10
    return fitted


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("characters", [False, True])
def test_the_keras_model_is_the_scikit_learn_model(classes, characters):
    fitted = _fit(classes, characters)
    held_out = HELD_OUT + _labelled(classes, 12, seed=99)[0]
    probabilities = fitted.model.predict(tf.constant(held_out), verbose=0)
    expected = fitted.pipeline.predict_proba(held_out)
    assert probabilities.dtype == np.float32 and probabilities.shape == (len(held_out), classes)
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    # The logits too, where a saturated softmax could not hide a difference.
    logits = keras.Model(fitted.model.inputs, fitted.model.get_layer("probabilities").input)
    decision = fitted.pipeline.decision_function(held_out)
    decision = decision if classes > 2 else np.stack([np.zeros_like(decision), decision], axis=1)
    np.testing.assert_allclose(logits.predict(tf.constant(held_out), verbose=0), decision, atol=1e-4)
    assert probabilities.max(axis=1).min() < 0.99  # not a trivially certain model


def test_a_missing_class_or_no_shared_term_gives_none():
    texts, labels = _labelled(3, 30, seed=1)
    assert fit_tfidf_text_model(texts, np.minimum(labels, 1), classes=3, characters=False) is None
    assert fit_tfidf_text_model(["alpha", "beta!"], np.array([0, 1]), classes=2, characters=False) is None


def test_the_saved_model_reloads_in_a_fresh_process_without_automl(tmp_path):
    fitted = _fit(3, characters=True)
    fitted.model.export(str(tmp_path / "model"), verbose=0)
    script = textwrap.dedent(f"""
        import json, sys
        import tensorflow as tf
        model = tf.saved_model.load({str(tmp_path / "model")!r})
        outputs = model.serve(tf.constant(json.loads(sys.stdin.read()))).numpy()
        assert not any(name.startswith("automl") for name in sys.modules)
        print(json.dumps(outputs.tolist()))
    """)
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(HELD_OUT), capture_output=True, text=True,
                          timeout=300, check=False, cwd=tmp_path, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr
    reloaded = np.array(json.loads(done.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(reloaded, fitted.pipeline.predict_proba(HELD_OUT), atol=1e-5)


def test_the_keras_file_reloads_in_safe_mode(tmp_path):
    fitted = _fit(2, characters=True)
    fitted.model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(tf.constant(HELD_OUT), verbose=0),
                               fitted.model.predict(tf.constant(HELD_OUT), verbose=0), atol=1e-6)
