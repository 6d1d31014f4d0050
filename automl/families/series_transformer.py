"""Transformer family for series: time steps grouped into patches (a strided convolution, as in
PatchTST), learned position embeddings, and self-attention encoder blocks that ignore padding.

Patches keep attention affordable on a CPU: its cost grows with the square of the token count.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from automl.families.common import compile_model, output_head
from automl.families.series_common import masked_average, series_input

# At most this many tokens reach attention; longer series are grouped into patches of several steps.
MAX_TOKENS = 128


def _encoder_block(x, attention_mask, heads: int, width: int, dropout: float):
    """Post-norm encoder block (Vaswani et al.): self-attention and a feed-forward layer, each residual."""
    attended = layers.MultiHeadAttention(heads, width // heads, dropout=dropout)(x, x, attention_mask=attention_mask)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, layers.Dropout(dropout)(attended)]))
    hidden = layers.Dense(width * 2, activation="relu")(x)
    hidden = layers.Dense(width)(hidden)
    return layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, layers.Dropout(dropout)(hidden)]))


def _patches(x, mask, patch: int, width: int):
    """Embeds groups of `patch` steps as tokens; a token holds a value if any of its steps does."""
    if patch == 1:
        return layers.Dense(width, name="step_embedding")(x), mask
    tokens = layers.Conv1D(width, patch, strides=patch, padding="same", name="patch_embedding")(x)
    present = layers.MaxPooling1D(patch, strides=patch, padding="same")(ops.expand_dims(ops.cast(mask, "float32"), -1))
    return tokens, ops.squeeze(present, -1) > 0.5


def build_model(hp, profile) -> keras.Model:
    """Normalised series → patch tokens + positions → encoder blocks → masked average → head."""
    inputs, x, mask = series_input(profile)
    length = profile.series_inputs.length
    patch = max(1, math.ceil(length / MAX_TOKENS))
    width = hp.Choice("width", [64, 32, 128], default=64)
    tokens, token_mask = _patches(x, mask, patch, width)
    positions = ops.cumsum(ops.ones_like(token_mask, dtype="int32"), axis=1) - 1
    x = layers.Add()([tokens, layers.Embedding(math.ceil(length / patch), width, name="position_embedding")(positions)])
    dropout = hp.Choice("dropout", [0.1, 0.0, 0.3], default=0.1)
    attention_mask = ops.expand_dims(token_mask, 1)  # [batch, 1, tokens]: every query ignores padded keys
    for _ in range(hp.Int("blocks", 1, 3, default=2)):
        x = _encoder_block(x, attention_mask, hp.Choice("heads", [4, 2], default=4), width, dropout)
    x = masked_average(x, token_mask)
    x = layers.Dropout(dropout)(x)
    return compile_model(keras.Model(inputs, output_head(x, profile), name="series_transformer"), hp, profile)
