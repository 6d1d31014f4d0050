"""A text table whose rows are mostly phrases cut from longer texts (SST-2's layout): validation is drawn
from the whole texts, and the phrases of validation texts leave training."""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl.ingest import load_dataset
from automl.ingest.fragments import whole_texts
from helpers import make_texts


def _texts(split) -> list[str]:
    return [x.decode() for x, _ in split.data.as_numpy_iterator()]


def _phrase_table(path, sentences_per_class: int = 40, seed: int = 0):
    """Whole sentences plus three of each one's phrases, SST-2 style: most rows are fragments."""
    rng = np.random.default_rng(seed)
    rows = []
    for label in ("neg", "pos"):
        for text in make_texts(label, sentences_per_class, seed=seed + len(label), words=14):
            words = text.split()
            rows.append((text, label))
            for _ in range(3):
                start = int(rng.integers(0, len(words) - 4))
                rows.append((" ".join(words[start:start + int(rng.integers(2, 6))]), label))
    pd.DataFrame(rows, columns=["sentence", "label"]).to_csv(path, index=False)
    return path


def test_whole_texts_are_those_inside_no_other():
    texts = ["a fine film", "fine", "A FINE film", "film and plot", "and plot", "plot"]
    assert whole_texts(texts).tolist() == [True, False, False, True, False, False]


def test_validation_holds_whole_texts_and_their_phrases_leave_training(tmp_path, config_for):
    """SST-2's layout: training phrases and sentences, a test table of whole sentences."""
    folder = tmp_path / "sst"
    folder.mkdir()
    _phrase_table(folder / "train.csv")
    rows = [(t, label) for label in ("neg", "pos") for t in make_texts(label, 10, seed=50 + len(label), words=14)]
    pd.DataFrame(rows, columns=["sentence", "label"]).to_csv(folder / "test.csv", index=False)
    dataset = load_dataset(config_for(folder))
    train, val = _texts(dataset.train), _texts(dataset.val)
    assert all(len(text.split()) == 14 for text in val)  # every validation text is a whole sentence
    inside_val = {" ".join(t.split()[a:b]) for t in val for a in range(14) for b in range(a + 1, 15)}
    assert not inside_val & set(train)
    assert any(len(text.split()) < 14 for text in train)  # other sentences' phrases still train
    assert any("fragments of longer ones" in note for note in dataset.notes)
    assert sorted(set(dataset.val.labels)) == [0, 1]


def test_ordinary_texts_and_given_validation_splits_are_left_alone(tmp_path, config_for):
    rows = [(t, label) for label in ("neg", "pos") for t in make_texts(label, 40, seed=len(label))]
    pd.DataFrame(rows, columns=["sentence", "label"]).to_csv(tmp_path / "plain.csv", index=False)
    plain = load_dataset(config_for(tmp_path / "plain.csv"))
    assert not any("fragments" in note for note in plain.notes)
    folder = tmp_path / "given"
    folder.mkdir()
    for name in ("train", "val", "test"):
        _phrase_table(folder / f"{name}.csv", sentences_per_class=10, seed=len(name))
    given = load_dataset(config_for(folder))
    assert not any("fragments" in note for note in given.notes)
    assert given.val.size == len(pd.read_csv(folder / "val.csv"))
