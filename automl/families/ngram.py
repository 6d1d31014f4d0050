"""N-gram family for text: TF-IDF over word unigrams and bigrams (TextVectorization) + dense layers.

Google's text-classification guide finds this beats sequence models when there are few samples per
word of text (samples / words per sample < 1500). The vocabulary and IDF weights come from the
profile (counted once on the training split), so building a trial adapts nothing.
"""

from __future__ import annotations

import keras
from keras import layers

from automl.families.common import compile_model, output_head


def text_input() -> keras.KerasTensor:
    """The raw-text input every text family takes: a 1-D batch of strings."""
    return keras.Input(shape=(), dtype="string", name="text")


def build_model(hp, profile) -> keras.Model:
    """TF-IDF (L2-normalised, as scikit-learn's TfidfVectorizer does, so long and short texts weigh
    alike) → dropout → 0-2 dense ReLU layers → head; zero layers is logistic regression on n-grams."""
    text = profile.text_inputs
    size = hp.Choice("max_features", [50_000, 20_000, 100_000], default=50_000)
    vocabulary, idf = list(text.ngrams[:size]), list(text.idf_weights[:size])
    inputs = text_input()
    x = layers.TextVectorization(ngrams=2, output_mode="tf_idf", vocabulary=vocabulary, idf_weights=idf,
                                 name="tfidf")(inputs)
    x = layers.UnitNormalization(name="l2_normalise")(x)
    dropout = hp.Choice("dropout", [0.2, 0.0, 0.4], default=0.2)
    x = layers.Dropout(dropout)(x)
    units = hp.Choice("units", [64, 32, 128], default=64)
    for _ in range(hp.Int("layers", 0, 2, default=1)):
        x = layers.Dense(units, activation="relu")(x)
        x = layers.Dropout(dropout)(x)
    return compile_model(keras.Model(inputs, output_head(x, profile), name="ngram"), hp, profile)
