"""Transformer family for text: token + position embeddings and multi-head self-attention blocks.

Built from standard Keras layers only (position ids come from the token ids with keras.ops), so the
export needs no custom objects. The vocabulary comes from the profile, counted once.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from automl.families.common import compile_model, output_head
from automl.families.ngram import text_input
from automl.families.rnn import token_ids, word_embedding


def _encoder_block(x, heads: int, width: int, dropout: float):
    """Post-norm encoder block (Vaswani et al.): self-attention and a feed-forward layer, each residual."""
    attended = layers.MultiHeadAttention(heads, width // heads, dropout=dropout)(x, x)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, layers.Dropout(dropout)(attended)]))
    hidden = layers.Dense(width * 2, activation="relu")(x)
    hidden = layers.Dense(width)(hidden)
    return layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, layers.Dropout(dropout)(hidden)]))


def build_model(hp, profile) -> keras.Model:
    """Token + learned position embeddings → encoder blocks → masked average pooling → head."""
    inputs = text_input()
    ids, vocabulary = token_ids(inputs, hp, profile)
    tokens, width = word_embedding(ids, vocabulary, hp, "width", [64, 32, 128], "token_embedding")
    positions = ops.cumsum(ops.ones_like(ids), axis=1) - 1
    positioned = layers.Embedding(profile.text_inputs.sequence_length, width, name="position_embedding")(positions)
    x = layers.Add()([tokens, positioned])
    dropout = hp.Choice("dropout", [0.1, 0.0, 0.3], default=0.1)
    for _ in range(hp.Int("blocks", 1, 2, default=1)):
        x = _encoder_block(x, hp.Choice("heads", [2, 4], default=2), width, dropout)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(dropout)(x)
    return compile_model(keras.Model(inputs, output_head(x, profile), name="transformer"), hp, profile)
