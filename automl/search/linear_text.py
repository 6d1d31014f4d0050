"""Search stage, text classification: a naive Bayes-weighted n-gram logistic regression as a Keras model,
offered to the final ensemble beside the best trials.

A linear model over word n-grams (Wang & Manning's NBSVM) is as good as the searched models on short or
long reviews and errs differently: averaged with the best trial it lifted validation accuracy by about a
point on SST-2 and test accuracy from 90.4 to 91.6 % on IMDB (benchmarks/RESULTS.md, round 14). It is
fitted by scikit-learn in seconds, then its
weights are copied into TextVectorization (word 1-3-grams, multi-hot) → Dense → softmax. So it takes raw
strings like every text family, and averaging it with a trial is one plain Keras model: one SavedModel, no
custom objects.

Its words are TextVectorization's default ones (ASCII lower case, punctuation deleted, split on
whitespace), made for the fit by the same TensorFlow ops the profile counts words with: a word the fit saw
is a word the model finds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from automl.families.ngram import text_input
from automl.profile.text import standardize_and_split

# Member id in the ensemble, and the model's description in the plan and report.
MEMBER = "naive_bayes"
DESCRIPTION = "naive Bayes-weighted word 1-3-gram logistic regression"
# The most frequent n-grams kept (seen in two texts or more): a [batch, MAX_NGRAMS] multi-hot row per
# batch at prediction, and a MAX_NGRAMS × classes kernel in the SavedModel.
MAX_NGRAMS = 300_000
# Regularisation of the logistic regression: NBSVM's binary features are unnormalised, and C = 0.1 is
# the simple model's value (automl.search.simple: IMDB validation 91.3 % at 0.1, 91.0 % at 0.03).
INVERSE_REGULARISATION = 0.1
# A word of keras_words' output: they are joined by single spaces, and a word may hold other whitespace
# (tf.strings.split keeps U+00A0 inside a word), so nothing else separates them.
WORD = r"[^ ]+"


@dataclass(frozen=True)
class LinearTextModel:
    """The fitted model (raw strings → class probabilities), its vocabulary size and fitting time."""

    model: keras.Model
    ngrams: int
    seconds: float


def keras_words(texts: list[str]) -> list[str]:
    """Each text as TextVectorization's default standardize and split see it, its words joined by spaces."""
    words = tf.strings.reduce_join(standardize_and_split(tf.constant(texts, dtype=tf.string)), axis=-1, separator=" ")
    return [joined.decode("utf-8", "replace") for joined in words.numpy()]


def fit_linear_text_model(texts: list[str], labels: np.ndarray, classes: int) -> LinearTextModel | None:
    """Fits the model on the training texts; None when some class has no training text, or no n-gram occurs
    in two texts.

    Two classes: binary n-gram presence scaled by its naive Bayes log-count ratio, then logistic
    regression, the scaling folded into the weights ((w ∘ r) · x). More classes: multinomial logistic
    regression on the binary n-grams (the log-count ratio is a two-class quantity).
    """
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(labels)
    if len(np.unique(labels)) != classes:
        return None
    start = time.perf_counter()
    vectorizer = CountVectorizer(ngram_range=(1, 3), binary=True, min_df=2, max_features=MAX_NGRAMS,
                                 lowercase=False, token_pattern=WORD, dtype=np.float32)
    try:
        counts = vectorizer.fit_transform(keras_words(texts))
    except ValueError:  # no n-gram in two texts: nothing to learn from
        return None
    if classes == 2:
        positive = 1 + np.asarray(counts[labels == 1].sum(axis=0)).ravel()  # add-one smoothing, as NBSVM
        negative = 1 + np.asarray(counts[labels == 0].sum(axis=0)).ravel()
        ratio = np.log(positive / positive.sum()) - np.log(negative / negative.sum())
        linear = LogisticRegression(C=INVERSE_REGULARISATION, solver="liblinear", max_iter=1000, random_state=0)
        linear.fit(counts.multiply(ratio).tocsr(), labels)
        weights = np.zeros((counts.shape[1], 2), dtype="float32")
        weights[:, 1] = linear.coef_[0] * ratio  # softmax over (0, z) is the logistic σ(z)
        bias = np.array([0.0, linear.intercept_[0]], dtype="float32")
    else:
        linear = LogisticRegression(C=INVERSE_REGULARISATION, max_iter=1000).fit(counts, labels)
        weights, bias = linear.coef_.T.astype("float32"), linear.intercept_.astype("float32")
    model = _keras_model(list(vectorizer.get_feature_names_out()), weights, bias)
    return LinearTextModel(model, counts.shape[1], time.perf_counter() - start)


def _keras_model(ngrams: list[str], weights: np.ndarray, bias: np.ndarray) -> keras.Model:
    """Raw strings → multi-hot word 1-3-grams (index 0: any other n-gram, weight 0) → Dense → softmax."""
    inputs = text_input()
    vectorizer = layers.TextVectorization(ngrams=3, output_mode="multi_hot", sparse=True, vocabulary=ngrams,
                                          name="ngrams_1_3")
    dense = layers.Dense(weights.shape[1], name="naive_bayes_logistic")
    probabilities = layers.Softmax(dtype="float32", name="probabilities")(dense(vectorizer(inputs)))
    dense.set_weights([np.concatenate([np.zeros((1, weights.shape[1]), "float32"), weights]), bias])
    return keras.Model(inputs, probabilities, name=MEMBER)
