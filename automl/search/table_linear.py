"""Search stage, tables: the fitted scikit-learn linear model (median fill, standardisation, one-hot categories,
then logistic or ridge regression) copied exactly into a plain Keras model that takes the raw columns, so the
simple model can be what ships (leaderboard) and exports like every family, with no custom objects."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

# A class absent from training gets this logit: probability 0 after the softmax, as scikit-learn gives it none.
ABSENT_LOGIT = -1e9


def table_inputs(columns) -> dict:
    """The raw columns as automl's table models take them (numbers as float32, NaN when missing)."""
    return {c.key: keras.Input(shape=(1,), dtype="float32" if c.kind == "numeric" else "string", name=c.key)
            for c in columns}


def keras_linear_model(pipeline, columns, task: str, num_classes: int) -> keras.Model:
    """The Keras form of automl.search.simple's linear table pipeline (ColumnTransformer of
    SimpleImputer(median) → StandardScaler on numbers and OneHotEncoder(handle_unknown="ignore") on strings,
    then LogisticRegression or RidgeCV).

    Returns:
        Raw columns → class probabilities [batch, num_classes] (classification) or the prediction [batch, 1].
    """
    transformer, linear = pipeline.steps[0][1], pipeline.steps[-1][1]
    inputs = table_inputs(columns)
    features, rows = [], []  # Keras feature blocks, and for each the scikit-learn feature index of its columns
    offset = 0
    for name, fitted, keys in transformer.transformers_:
        if name == "numbers" and len(keys):
            block, used = _numbers(inputs, fitted, keys)
            features.append(block)
            rows.extend(offset + i if i is not None else None for i in used)
            offset += sum(i is not None for i in used)
        elif name == "categories" and len(keys):
            for key, categories in zip(keys, fitted.categories_):
                lookup = layers.StringLookup(vocabulary=[str(c) for c in categories], output_mode="one_hot",
                                             name=f"one_hot_{_safe(key)}")
                features.append(lookup(inputs[key]))
                rows.append(None)  # the out-of-vocabulary slot: scikit-learn ignores unknown categories
                rows.extend(range(offset, offset + len(categories)))
                offset += len(categories)
    x = layers.Concatenate(name="linear_features")(features) if len(features) > 1 else features[0]
    kernel, bias = linear_head_weights(linear, task, num_classes)
    full = np.zeros((len(rows), kernel.shape[1]), dtype="float64")
    for position, row in enumerate(rows):
        if row is not None:
            full[position] = kernel[row]
    dense = layers.Dense(kernel.shape[1], name="linear")
    logits = dense(x)
    dense.set_weights([full.astype("float32"), bias.astype("float32")])
    outputs = layers.Softmax(name="probabilities", dtype="float32")(logits) if task == "classification" else \
        layers.Identity(name="prediction", dtype="float32")(logits)
    return keras.Model(inputs, outputs, name="linear_model")


def _numbers(inputs: dict, fitted, keys) -> tuple[keras.KerasTensor, list]:
    """Missing numbers filled with the training median, then standardised. A column SimpleImputer dropped
    (no value in training) still enters the graph but gets no weight (its slot maps to no feature)."""
    imputer, scaler = fitted.steps[0][1], fitted.steps[-1][1]
    medians = np.asarray(imputer.statistics_, dtype="float64")
    kept = ~np.isnan(medians)
    x = layers.Concatenate(name="numeric_columns")([inputs[k] for k in keys]) if len(keys) > 1 else inputs[keys[0]]
    fill = np.where(kept, medians, 0.0).astype("float32")
    mean, scale = np.zeros(len(keys)), np.ones(len(keys))
    mean[kept], scale[kept] = scaler.mean_, scaler.scale_
    filled = ops.where(ops.isfinite(x), x, fill)
    standardised = ops.divide(ops.subtract(filled, mean.astype("float32")), scale.astype("float32"))
    used, index = [], 0
    for keep in kept:
        used.append(index if keep else None)
        index += int(keep)
    return standardised, used


def linear_head_weights(linear, task: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """[features, outputs] kernel and bias: logits per class (softmax over (0, z) is the logistic σ(z)), or the
    regression's one output."""
    if task != "classification":
        return np.asarray(linear.coef_, dtype="float64").reshape(-1, 1), np.atleast_1d(linear.intercept_)
    coef, intercept, classes = np.atleast_2d(linear.coef_), np.atleast_1d(linear.intercept_), linear.classes_
    kernel = np.zeros((coef.shape[1], num_classes))
    bias = np.full(num_classes, ABSENT_LOGIT)
    if len(classes) == 2:
        bias[classes] = [0.0, intercept[0]]
        kernel[:, classes[1]] = coef[0]
    else:
        bias[classes] = intercept
        kernel[:, classes] = coef.T
    return kernel, bias


def _safe(key: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in key)[:40]
