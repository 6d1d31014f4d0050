"""Search stage, text classification: TF-IDF over words and word pairs (and characters) with logistic
regression, fitted by scikit-learn and copied exactly into a plain Keras model that takes raw strings.

Both sides tokenise with TextVectorization's own TensorFlow ops, so an n-gram the fit saw is one the model
finds. The Keras form: per block, TextVectorization counts (sparse) → 1 + log count → Dense with the IDF
folded into its kernel, divided by the block's L2 norm (a second Dense, on squared values, with IDF² as its
kernel); the blocks' logits are summed, the bias added, and softmax taken. No custom layer: it ships as a
SavedModel and loads in safe mode.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from automl.families.ngram import text_input
from automl.search.linear_text import WORD, keras_words

# As scikit-learn's model in automl.search.simple was: the most frequent n-grams of each block, seen in
# two texts or more; C = 10 suits L2-normalised rows (IMDB: 90.65 % at C = 16, 90.04 % at C = 4).
MAX_FEATURES = 200_000
MIN_DOCUMENTS = 2
INVERSE_REGULARISATION = 10.0
CHARACTER_WIDTHS = (2, 3, 4, 5)
# Each block's TextVectorization tokens, which the pipeline's FunctionTransformer and analyzer reproduce:
# words by keras_words (TextVectorization's default standardize and split), characters by lower_texts and
# character_ngrams.
KERAS_TOKENS = {"words": {"ngrams": 2},
                "characters": {"standardize": "lower", "split": "character", "ngrams": CHARACTER_WIDTHS}}


@dataclass(frozen=True)
class TfidfTextModel:
    """The Keras model (raw strings → class probabilities), the scikit-learn pipeline it mirrors (raw
    texts in), its number of features and its fitting time."""

    model: keras.Model
    pipeline: object
    features: int
    seconds: float


def lower_texts(texts) -> list[str]:
    """Each text lower-cased by TextVectorization's "lower" op (tf.strings.lower: ASCII letters only)."""
    lowered = tf.strings.lower(tf.constant(list(texts), dtype=tf.string))
    return [text.decode("utf-8") for text in lowered.numpy()]


def character_ngrams(text: str) -> list[str]:
    """The text's character 2-5-grams as TextVectorization(split="character", ngrams=(2, 3, 4, 5)) spells
    them: characters (Unicode code points) joined by spaces, across word bounds, whitespace kept as is."""
    return [" ".join(text[i:i + width]) for width in CHARACTER_WIDTHS for i in range(len(text) - width + 1)]


def tfidf_pipeline(classes: int, characters: bool, balanced: bool = False):
    """The unfitted scikit-learn pipeline: raw texts → TF-IDF blocks (sublinear tf, L2 per block) → logistic
    regression (liblinear, the quick solver for sparse rows, takes two classes only)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    common = {"sublinear_tf": True, "min_df": MIN_DOCUMENTS, "max_features": MAX_FEATURES, "dtype": np.float32}
    blocks = [("words", make_pipeline(FunctionTransformer(keras_words), TfidfVectorizer(
        ngram_range=(1, 2), lowercase=False, token_pattern=WORD, **common)))]
    if characters:
        blocks.append(("characters", make_pipeline(FunctionTransformer(lower_texts), TfidfVectorizer(
            analyzer=character_ngrams, lowercase=False, **common))))
    linear = LogisticRegression(C=INVERSE_REGULARISATION, solver="liblinear" if classes == 2 else "lbfgs",
                                max_iter=1000, class_weight="balanced" if balanced else None, random_state=0)
    return Pipeline([("tfidf", FeatureUnion(blocks)), ("logistic", linear)])


def fit_tfidf_text_model(texts: list[str], labels: np.ndarray, classes: int, characters: bool,
                         balanced: bool = False) -> TfidfTextModel | None:
    """Fits the pipeline on the training texts and copies it into Keras.

    Args:
        texts: Raw training texts.
        labels: Their class ids, 0 to classes - 1.
        classes: Number of classes.
        characters: Whether to add the character 2-5-gram block.
        balanced: Whether to weight classes inversely to their frequency.

    Returns:
        The fitted model, or None when some class has no training text or no term occurs in two texts.
    """
    labels = np.asarray(labels)
    if len(np.unique(labels)) != classes:
        return None
    start = time.perf_counter()
    pipeline = tfidf_pipeline(classes, characters, balanced)
    try:
        pipeline.fit(list(texts), labels)
    except ValueError:  # an empty vocabulary after min_df: nothing to learn from
        return None
    model = _keras_model(pipeline, classes)
    features = pipeline.named_steps["logistic"].coef_.shape[1]
    return TfidfTextModel(model, pipeline, features, time.perf_counter() - start)


def _keras_model(pipeline, classes: int) -> keras.Model:
    """Raw strings → the sum of the blocks' normalised logits + bias → softmax."""
    linear = pipeline.named_steps["logistic"]
    weights, bias = linear.coef_.T.astype("float32"), linear.intercept_.astype("float32")
    if classes == 2:  # softmax over (0, z) is liblinear's logistic σ(z)
        weights = np.concatenate([np.zeros_like(weights), weights], axis=1)
        bias = np.concatenate([np.zeros_like(bias), bias])
    inputs, logits, offset = text_input(), [], 0
    for name, block in pipeline.named_steps["tfidf"].transformer_list:
        size = len(block[-1].idf_)
        logits.append(_block_logits(inputs, name, block[-1], weights[offset:offset + size]))
        offset += size
    total = logits[0] if len(logits) == 1 else layers.Add(name="logits")(logits)
    probabilities = layers.Softmax(dtype="float32", name="probabilities")(ops.add(total, bias))
    return keras.Model(inputs, probabilities, name="tfidf_logistic")


def _block_logits(inputs, name: str, vectorizer, weights: np.ndarray):
    """One block's share of the logits, ((1 + log counts) · idf / ‖·‖₂) W, normalised after the Dense
    ((x/‖x‖)W = (xW)/‖x‖) so the [batch, features] rows stay sparse. Index 0 (an n-gram out of the
    vocabulary) has IDF 0, so it adds nothing to the logits or the norm."""
    idf = np.concatenate([[0.0], vectorizer.idf_]).astype("float32")[:, None]
    vocabulary = list(vectorizer.get_feature_names_out())
    counts = layers.TextVectorization(output_mode="count", sparse=True, vocabulary=vocabulary, name=f"{name}_counts",
                                      **KERAS_TOKENS[name])(inputs)
    # 1 + log c as 1 + log1p(c − 1) where c ≥ 1: ops that keep zeros zero keep the rows sparse (log would not).
    present = ops.sign(counts)
    sublinear = ops.add(present, ops.log1p(ops.subtract(counts, present)))
    weighted = layers.Dense(weights.shape[1], use_bias=False, name=f"{name}_logistic")
    squared = layers.Dense(1, use_bias=False, trainable=False, name=f"{name}_squared_norm")
    logits, norm = weighted(sublinear), ops.sqrt(squared(ops.square(sublinear)))
    weighted.set_weights([idf * np.concatenate([np.zeros((1, weights.shape[1]), "float32"), weights])])
    squared.set_weights([np.square(idf)])
    return ops.divide(logits, ops.where(norm > 0, norm, 1.0))  # scikit-learn leaves an empty row at zero
