"""MLP family for tables: raw columns in, missing numbers filled, normalised and strings looked up inside."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from automl.families.common import compile_model, output_head

# Up to this many categories a column is one-hot encoded; above it, embedded.
MAX_ONE_HOT = 32


def _numeric_features(inputs: dict, columns) -> keras.KerasTensor:
    """All numeric columns as one vector, filled and normalised by one layer each: a wide table's graph
    then grows by one input per column, not by four layers (3,000 columns took minutes to build and trace)."""
    x = layers.Concatenate(name="numeric_columns")([inputs[c.key] for c in columns]) if len(columns) > 1 \
        else inputs[columns[0].key]
    fill = np.array([c.fill for c in columns], dtype="float32")
    filled = ops.where(ops.isfinite(x), x, fill)
    return layers.Normalization(mean=[c.mean for c in columns], variance=[c.variance for c in columns],
                                name="normalise_numbers")(filled)


def _string_features(inputs, column):
    size = len(column.vocabulary) + 1  # + the out-of-vocabulary index
    if size <= MAX_ONE_HOT:
        lookup = layers.StringLookup(vocabulary=list(column.vocabulary), output_mode="one_hot", name=f"lookup_{column.key}")
        return lookup(inputs)
    indices = layers.StringLookup(vocabulary=list(column.vocabulary), name=f"lookup_{column.key}")(inputs)
    embedded = layers.Embedding(size, min(16, size // 2 + 1), name=f"embed_{column.key}")(indices)
    return layers.Flatten()(embedded)


def build_model(hp, profile) -> keras.Model:
    """Dense-ReLU-dropout layers over the concatenated column features; zero hidden layers is a
    (multinomial) logistic or linear regression, which small, nearly linear tables often prefer."""
    inputs = {c.key: keras.Input(shape=(1,), dtype="float32" if c.kind == "numeric" else "string", name=c.key)
              for c in profile.column_inputs}
    numeric = [c for c in profile.column_inputs if c.kind == "numeric"]
    features = [_numeric_features(inputs, numeric)] if numeric else []
    features += [_string_features(inputs[c.key], c) for c in profile.column_inputs if c.kind != "numeric"]
    x = layers.Concatenate()(features) if len(features) > 1 else features[0]
    units = hp.Choice("units", [128, 64, 256, 32], default=128)
    for _ in range(hp.Int("layers", 0, 3, default=2)):
        x = layers.Dense(units, activation="relu")(x)
        x = layers.Dropout(hp.Choice("dropout", [0.2, 0.0, 0.4], default=0.2))(x)
    return compile_model(keras.Model(inputs, output_head(x, profile), name="mlp"), hp, profile)
