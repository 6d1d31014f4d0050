"""Text tables whose training rows are fragments of longer texts (SST-2 trains on 67k phrases cut from
~7k sentences, and is scored on whole sentences): validation is drawn from the whole texts only, and the
fragments of those validation texts leave training, so trials are ranked on what the test split holds
and a validation text's own phrases are not in training.

A text is a fragment when its words are a contiguous run of another training text's words (after
lowercasing). Only short texts are looked at: every run of words of every whole text is kept in a set,
which costs (words per text)² for each.
"""

from __future__ import annotations

import numpy as np

# Fragments are looked for when 95 % of training texts hold at most this many words (SST-2: 33).
MAX_WORDS = 80
# ... and when at least this share of training texts turn out to be fragments (SST-2: 90 %): a few
# repeated short texts in ordinary data are not what this is for.
MIN_FRAGMENT_SHARE = 0.5
# Up to this many training texts (the word-run set grows with them).
MAX_TEXTS = 300_000


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.lower().split())


def _runs(words: tuple[str, ...]):
    """Every contiguous run of words (the text itself included)."""
    return (words[a:b] for a in range(len(words)) for b in range(a + 1, len(words) + 1))


def whole_texts(texts: list[str]) -> np.ndarray:
    """True for each text that is not a contiguous word run of another, longer text (the first of equal
    texts counts as whole, its copies do not)."""
    words = [_words(t) for t in texts]
    runs: set[tuple[str, ...]] = set()
    whole = np.zeros(len(texts), dtype=bool)
    for i in sorted(range(len(texts)), key=lambda i: -len(words[i])):
        if words[i] in runs:
            continue
        whole[i] = True
        runs.update(_runs(words[i]))
    return whole


def fragment_runs(texts: list[str]) -> set[tuple[str, ...]]:
    """Every contiguous word run of the given texts."""
    return {run for text in texts for run in _runs(_words(text))}


def revalidate_on_whole_texts(train_texts: list[str], train_labels: np.ndarray, val_texts: list[str],
                              val_labels: np.ndarray, val_fraction: float, seed: int):
    """New (train, val) pairs of (texts, labels) when train + validation are mostly fragments of longer
    texts, with a sentence saying what was done; None when they are not (or are too long or too many to
    look at). Validation becomes a stratified sample of the whole texts (as many as val_fraction of them,
    at least one per class); training keeps every other text except the fragments of validation texts."""
    from sklearn.model_selection import train_test_split

    texts = list(train_texts) + list(val_texts)
    labels = np.concatenate([train_labels, val_labels])
    if not texts or len(texts) > MAX_TEXTS or np.percentile([len(t.split()) for t in texts], 95) > MAX_WORDS:
        return None
    whole = whole_texts(texts)
    share = 1 - whole.mean()
    if share < MIN_FRAGMENT_SHARE:
        return None
    candidates = np.flatnonzero(whole)
    classes, counts = np.unique(labels[candidates], return_counts=True)
    size = max(len(classes), int(round(len(candidates) * val_fraction)))
    if counts.min() < 2 or size >= len(candidates):
        return None
    _, val = train_test_split(candidates, test_size=size, random_state=seed, stratify=labels[candidates])
    val = np.sort(val)
    held = fragment_runs([texts[i] for i in val])
    in_val = np.zeros(len(texts), dtype=bool)
    in_val[val] = True
    train = np.array([i for i in range(len(texts)) if not in_val[i] and _words(texts[i]) not in held], dtype=int)
    note = (f"{share:.0%} of the {len(texts):,} training texts are fragments of longer ones (their words run "
            f"inside another text, as phrases cut from sentences do), so validation is {len(val):,} of the "
            f"{len(candidates):,} whole texts, and the {len(texts) - len(val) - len(train):,} fragments of those "
            "left training: trials are ranked on whole texts, like the test split.")
    return ([texts[i] for i in train], labels[train]), ([texts[i] for i in val], labels[val]), note
