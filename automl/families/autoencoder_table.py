"""Dense autoencoder for tables (anomaly detection): raw columns in, filled, normalised and one-hot encoded
inside the model as the MLP does; it reconstructs that encoded row, and outputs the reconstruction error."""

from __future__ import annotations

import numpy as np
import keras
from keras import layers, ops

from automl.families.autoencoder_common import bottleneck_settings, compile_autoencoder, reconstruction_error

# Up to this many categories a column is one-hot encoded (so an unusual category is a reconstruction error);
# above it, embedded (the embedding is then part of the target, held constant).
MAX_ONE_HOT = 32


def _encoded_row(inputs: dict, columns):
    """Every column as features: numbers filled (training mean) and normalised, strings looked up."""
    numeric = [c for c in columns if c.kind == "numeric"]
    features = []
    if numeric:
        x = (layers.Concatenate(name="numeric_columns")([inputs[c.key] for c in numeric]) if len(numeric) > 1
             else inputs[numeric[0].key])
        filled = ops.where(ops.isfinite(x), x, np.array([c.fill for c in numeric], dtype="float32"))
        features.append(layers.Normalization(mean=[c.mean for c in numeric], variance=[c.variance for c in numeric],
                                             name="normalise_numbers")(filled))
    for column in (c for c in columns if c.kind != "numeric"):
        size = len(column.vocabulary) + 1  # + the out-of-vocabulary index
        if size <= MAX_ONE_HOT:
            features.append(layers.StringLookup(vocabulary=list(column.vocabulary), output_mode="one_hot",
                                                name=f"lookup_{column.key}")(inputs[column.key]))
        else:
            indices = layers.StringLookup(vocabulary=list(column.vocabulary), name=f"lookup_{column.key}")(inputs[column.key])
            embedded = layers.Embedding(size, min(16, size // 2 + 1), name=f"embed_{column.key}")(indices)
            features.append(layers.Flatten()(embedded))
    return layers.Concatenate(name="encoded_row")(features) if len(features) > 1 else features[0]


def build_model(hp, profile) -> keras.Model:
    """Encoded row → dense layers narrowing to the bottleneck → mirrored dense layers → the encoded row again."""
    inputs = {c.key: keras.Input(shape=(1,), dtype="float32" if c.kind == "numeric" else "string", name=c.key)
              for c in profile.column_inputs}
    row = _encoded_row(inputs, profile.column_inputs)
    bottleneck, dropout = bottleneck_settings(hp)
    bottleneck = min(bottleneck, max(1, row.shape[-1] // 2))  # narrower than the row, or it learns to copy
    units = hp.Choice("units", [64, 32, 128], default=64)
    depth = hp.Int("layers", 1, 2, default=1)
    x = row
    for _ in range(depth):
        x = layers.Dropout(dropout)(layers.Dense(units, activation="relu")(x))
    x = layers.Dense(bottleneck, activation="relu", name="bottleneck")(x)
    for _ in range(depth):
        x = layers.Dense(units, activation="relu")(x)
    reconstruction = layers.Dense(row.shape[-1], name="reconstruction", dtype="float32")(x)
    return compile_autoencoder(inputs, reconstruction_error(row, reconstruction), hp, profile, "autoencoder_table")
