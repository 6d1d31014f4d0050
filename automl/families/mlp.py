"""MLP family for tables: raw columns in, missing numbers filled, normalised and strings looked up inside."""

from __future__ import annotations

import keras
from keras import layers, ops

from automl.families.common import compile_model, output_head

# Up to this many categories a column is one-hot encoded; above it, embedded.
MAX_ONE_HOT = 32


def _column_features(column):
    dtype = "float32" if column.kind == "numeric" else "string"
    inputs = keras.Input(shape=(1,), dtype=dtype, name=column.key)
    if column.kind == "numeric":
        filled = ops.where(ops.isfinite(inputs), inputs, column.fill)
        return inputs, layers.Normalization(mean=column.mean, variance=column.variance, name=f"norm_{column.key}")(filled)
    size = len(column.vocabulary) + 1  # + the out-of-vocabulary index
    if size <= MAX_ONE_HOT:
        lookup = layers.StringLookup(vocabulary=list(column.vocabulary), output_mode="one_hot", name=f"lookup_{column.key}")
        return inputs, lookup(inputs)
    indices = layers.StringLookup(vocabulary=list(column.vocabulary), name=f"lookup_{column.key}")(inputs)
    embedded = layers.Embedding(size, min(16, size // 2 + 1), name=f"embed_{column.key}")(indices)
    return inputs, layers.Flatten()(embedded)


def build_model(hp, profile) -> keras.Model:
    """Dense-ReLU-dropout layers over the concatenated column features; zero hidden layers is a
    (multinomial) logistic or linear regression, which small, nearly linear tables often prefer."""
    inputs, features = {}, []
    for column in profile.column_inputs:
        inputs[column.key], feature = _column_features(column)
        features.append(feature)
    x = layers.Concatenate()(features) if len(features) > 1 else features[0]
    units = hp.Choice("units", [128, 64, 256, 32], default=128)
    for _ in range(hp.Int("layers", 0, 3, default=2)):
        x = layers.Dense(units, activation="relu")(x)
        x = layers.Dropout(hp.Choice("dropout", [0.2, 0.0, 0.4], default=0.2))(x)
    return compile_model(keras.Model(inputs, output_head(x, profile), name="mlp"), hp, profile)
