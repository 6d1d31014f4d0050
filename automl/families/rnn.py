"""RNN family for text: word embeddings + a bidirectional LSTM or GRU (the cell is a hyperparameter).

The vocabulary comes from the profile (counted once on the training split); texts are cut or padded
to the profile's sequence length, and padding is masked.
"""

from __future__ import annotations

import keras
from keras import layers

from automl.families.common import compile_model, output_head
from automl.families.ngram import text_input


def token_ids(inputs, hp, profile):
    """Raw strings → word indices (0 pads, 1 is out-of-vocabulary), and the index count."""
    text = profile.text_inputs
    size = hp.Choice("max_words", [20_000, 10_000], default=20_000)
    vectorizer = layers.TextVectorization(output_mode="int", vocabulary=list(text.words[:size]),
                                          output_sequence_length=text.sequence_length, name="tokens")
    return vectorizer(inputs), vectorizer.vocabulary_size()


def build_model(hp, profile) -> keras.Model:
    """Embedding → bidirectional LSTM/GRU (last states) → dropout → dense → head."""
    inputs = text_input()
    ids, vocabulary_size = token_ids(inputs, hp, profile)
    x = layers.Embedding(vocabulary_size, hp.Choice("embedding_dim", [64, 32, 128], default=64),
                         mask_zero=True, name="embedding")(ids)
    units = hp.Choice("units", [32, 64], default=32)
    cell = {"gru": layers.GRU, "lstm": layers.LSTM}[hp.Choice("cell", ["gru", "lstm"], default="gru")]
    dropout = hp.Choice("dropout", [0.3, 0.0, 0.5], default=0.3)
    x = layers.Bidirectional(cell(units), name="bidirectional")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(units, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    return compile_model(keras.Model(inputs, output_head(x, profile), name="rnn"), hp, profile)
