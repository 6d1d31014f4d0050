"""Search stage: a linear head on fixed features starts at its fitted optimum.

When every layer below a model's head is fixed (MiniRocket's kernel bank, a table's normalised columns
under a zero-hidden-layer MLP), the model is a linear model on features that never change, and
scikit-learn fits that model exactly in a second, where Adam needs many epochs to approach it and on a
few dozen examples stops early, short of it (ItalyPowerDemand: 95.4 % from Adam against 96.4 % for
MiniRocket's own ridge head). So before a trial trains, such a head is fitted by logistic regression (or
ridge regression for a number) on the training features, and its weights are assigned to the Keras head;
training then goes on from there, kept only where it lowers validation loss (early stopping restores the
best epoch) — except for families whose linear model is the whole point (MiniRocket), whose fitted head
is frozen: its trial only scores it. Other models are left as they are.
"""

from __future__ import annotations

import keras
import numpy as np

# Heads by task (automl.modalities.tasks): class probabilities, or the standardised number.
HEADS = ("probabilities", "normalised_prediction")
# Beyond this many feature values (examples × features) the fit is no longer a matter of seconds.
MAX_FEATURE_VALUES = 40_000_000
# Inverse regularisation of the logistic regression: scikit-learn's default, on standardised features.
LOGISTIC_C = 1.0


def _head(model: keras.Model):
    for name in HEADS:
        try:
            return model.get_layer(name)
        except ValueError:
            continue
    return None


def fixed_below_head(model: keras.Model) -> bool:
    """Whether only the head learns: no layer but it has trainable weights."""
    head = _head(model)
    return head is not None and not any(layer.trainable_weights for layer in model.layers if layer is not head)


def _rescaling(model) -> tuple[float, float]:
    """(scale, offset) of the layer that turns a regression head's output into the target's units."""
    try:
        layer = model.get_layer("prediction")
    except ValueError:
        return 1.0, 0.0
    return float(np.ravel(layer.scale)[0]), float(np.ravel(layer.offset)[0])


def _features(model, head, data) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The head's inputs (dropout off), labels and sample weights of a batched (x, y[, w]) dataset."""
    below = keras.Model(model.inputs, head.input)
    features, labels, weights = [], [], []
    for batch in data:
        features.append(np.asarray(below(batch[0], training=False)))
        labels.append(np.asarray(batch[1]))
        if len(batch) > 2:
            weights.append(np.asarray(batch[2]))
    return np.concatenate(features), np.concatenate(labels), (np.concatenate(weights) if weights else None)


def start_head(model: keras.Model, data, class_weight: dict | None, closed_form: bool) -> None:
    """Warm-starts the head; with closed_form (MiniRocket: the linear model *is* the classifier) the
    fitted head is also frozen, so training changes nothing and only scores it. On standardised
    MiniRocket features, logistic regression alone scores ItalyPowerDemand 96.3 %, GunPoint 99.3 %,
    ArrowHead 86.9 %; Adam continuing from it drifted back (ItalyPowerDemand 95.6 %)."""
    if warm_start_head(model, data, class_weight) and closed_form:
        _head(model).trainable = False  # before the first train step, so no recompile is needed


def head_weights(model: keras.Model) -> list:
    """The output head's weights (kernel, bias): what warm_start_head fits."""
    return _head(model).get_weights()


def set_head_weights(model: keras.Model, weights: list) -> None:
    _head(model).set_weights(weights)


def warm_start_head(model: keras.Model, data, class_weight: dict | None = None) -> bool:
    """Assigns the head the weights of a linear model fitted on the training features, when only the
    head learns and the features are small enough; returns whether it did."""
    from sklearn.linear_model import LogisticRegression, Ridge

    head = _head(model)
    if not fixed_below_head(model):
        return False
    units = head.kernel.shape[-1]
    features, labels, weights = _features(model, head, data)
    if not features.size or features.size > MAX_FEATURE_VALUES:
        return False
    features = features.reshape(len(features), -1).astype(np.float64)
    if head.name == "normalised_prediction":  # learns the standardised target: undo the Rescaling after it
        scale, offset = _rescaling(model)
        target = (labels.reshape(-1).astype(np.float64) - offset) / scale
        linear = Ridge(alpha=1.0).fit(features, target, sample_weight=weights)
        kernel, bias = linear.coef_.reshape(-1, 1), np.atleast_1d(linear.intercept_)
    elif labels.ndim == 2 and labels.shape[1] == units > 1:  # multi-hot labels: one sigmoid per label
        kernel, bias = _per_label_logistic(features, labels, weights)
    else:
        labels = labels.reshape(-1).astype(int)
        if len(np.unique(labels)) < 2:
            return False
        linear = LogisticRegression(C=LOGISTIC_C, max_iter=1000, class_weight=class_weight)
        linear.fit(features, labels, sample_weight=weights)
        kernel, bias = np.zeros((features.shape[1], units)), np.zeros(units)
        if len(linear.classes_) == 2:  # one logit z: softmax(-z/2, z/2) is sigmoid(z)
            kernel[:, linear.classes_] = np.stack([-linear.coef_[0], linear.coef_[0]], axis=1) / 2
            bias[linear.classes_] = np.array([-linear.intercept_[0], linear.intercept_[0]]) / 2
        else:  # a class absent from training keeps zero weights (logit 0)
            kernel[:, linear.classes_] = linear.coef_.T
            bias[linear.classes_] = linear.intercept_
    head.kernel.assign(kernel.astype("float32"))
    head.bias.assign(bias.astype("float32"))
    return True


def _per_label_logistic(features: np.ndarray, labels: np.ndarray, weights) -> tuple[np.ndarray, np.ndarray]:
    """A multi-label head's weights: a logistic regression per label (its sigmoid is exactly the head's); a label
    that is always or never present keeps zero weights and the bias of its training frequency."""
    from sklearn.linear_model import LogisticRegression

    kernel, bias = np.zeros((features.shape[1], labels.shape[1])), np.zeros(labels.shape[1])
    for j in range(labels.shape[1]):
        column = (labels[:, j] > 0.5).astype(int)
        if column.min() == column.max():
            share = np.clip(column.mean(), 1e-3, 1 - 1e-3)
            bias[j] = np.log(share / (1 - share))
            continue
        linear = LogisticRegression(C=LOGISTIC_C, max_iter=1000).fit(features, column, sample_weight=weights)
        kernel[:, j], bias[j] = linear.coef_[0], linear.intercept_[0]
    return kernel, bias
