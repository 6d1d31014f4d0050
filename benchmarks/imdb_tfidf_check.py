"""How far TF-IDF n-gram features can take IMDB: scikit-learn's TfidfVectorizer + logistic regression
on the official train/test split, for raw vs log (sublinear) counts and 50k vs 200k features.

Not a benchmark of automl: it tells what the n-gram family's features allow (issue 3's 90.5 % aim).
Prepare the data with benchmarks/prepare_data.py, then:

    python benchmarks/imdb_tfidf_check.py [--data-dir /tmp/automl-bench-data]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

# (features, sublinear counts) pairs tried, each with the inverse regularisation strengths below.
SETTINGS = [(50_000, False), (50_000, True), (200_000, True)]
STRENGTHS = (4, 16)


def read_split(root: Path, split: str) -> tuple[list[str], np.ndarray]:
    texts, labels = [], []
    for label, name in enumerate(["neg", "pos"]):
        for path in sorted((root / split / name).glob("*.txt")):
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
            labels.append(label)
    return texts, np.array(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/automl-bench-data"))
    root = parser.parse_args().data_dir / "imdb" / "aclImdb"
    (train_texts, train_labels), (test_texts, test_labels) = read_split(root, "train"), read_split(root, "test")
    print("features | sublinear | C | test accuracy | seconds")
    for features, sublinear in SETTINGS:
        started = time.perf_counter()
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), max_features=features, sublinear_tf=sublinear)
        train, test = vectorizer.fit_transform(train_texts), vectorizer.transform(test_texts)
        for strength in STRENGTHS:
            model = LogisticRegression(C=strength, max_iter=1000).fit(train, train_labels)
            accuracy = (model.predict(test) == test_labels).mean()
            print(f"{features} | {sublinear} | {strength} | {accuracy:.2%} | {time.perf_counter() - started:.0f}")


if __name__ == "__main__":
    main()
