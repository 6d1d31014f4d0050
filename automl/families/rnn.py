"""RNN family for text: word embeddings + a bidirectional LSTM or GRU (the cell is a hyperparameter).

The vocabulary comes from the profile (counted once on the training split); texts are cut or padded
to the profile's sequence length, and padding is masked. When the plan names pretrained word vectors,
the embedding starts from them (automl.families.vectors) and lives in the exported model.
"""

from __future__ import annotations

import keras
from keras import layers

from automl.families.common import compile_model, output_head
from automl.families.ngram import text_input
from automl.families.vectors import embedding_matrix, load_word_vectors


def token_ids(inputs, hp, profile):
    """Raw strings → word indices (0 pads, 1 is out-of-vocabulary), and the vocabulary by index."""
    text = profile.text_inputs
    size = hp.Choice("max_words", [20_000, 10_000], default=20_000)
    vectorizer = layers.TextVectorization(output_mode="int", vocabulary=list(text.words[:size]),
                                          output_sequence_length=text.sequence_length, name="tokens")
    return vectorizer(inputs), vectorizer.get_vocabulary()


def word_embedding(ids, vocabulary: list[str], hp, dim_name: str, dim_choices: list[int], name: str):
    """Token ids → vectors: from the plan's pretrained word vectors when it names some (fixed
    hyperparameter "word_vectors"; the search tries them frozen and fine-tuned), else learned from
    scratch at a width searched as `dim_name`. Returns the embedded sequence and its width."""
    path = hp.values.get("word_vectors")
    if not path:
        dim = hp.Choice(dim_name, dim_choices, default=dim_choices[0])
        return layers.Embedding(len(vocabulary), dim, mask_zero=True, name=name)(ids), dim
    matrix, _ = embedding_matrix(load_word_vectors(path), vocabulary)
    embedding = layers.Embedding(len(vocabulary), matrix.shape[1], mask_zero=True, name=name,
                                 trainable=hp.Boolean("fine_tune_vectors", default=True))
    embedded = embedding(ids)
    embedding.embeddings.assign(matrix)  # weights, not an initializer: a 20k × 50 array stays out of the config
    return embedded, matrix.shape[1]


def build_model(hp, profile) -> keras.Model:
    """Embedding → bidirectional LSTM/GRU (last states) → dropout → dense → head."""
    inputs = text_input()
    ids, vocabulary = token_ids(inputs, hp, profile)
    x, _ = word_embedding(ids, vocabulary, hp, "embedding_dim", [64, 32, 128], "embedding")
    units = hp.Choice("units", [32, 64], default=32)
    cell = {"gru": layers.GRU, "lstm": layers.LSTM}[hp.Choice("cell", ["gru", "lstm"], default="gru")]
    dropout = hp.Choice("dropout", [0.3, 0.0, 0.5], default=0.3)
    x = layers.Bidirectional(cell(units), name="bidirectional")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(units, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    return compile_model(keras.Model(inputs, output_head(x, profile), name="rnn"), hp, profile)
