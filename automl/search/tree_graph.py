"""Search stage, tables: a fitted scikit-learn HistGradientBoosting pipeline evaluated exactly inside a plain Keras
model (raw columns in, probabilities or the prediction out), so gradient-boosted trees ship as a SavedModel."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from automl.search.table_linear import ABSENT_LOGIT, table_inputs

# The code of a category no encoder or bin knows: scikit-learn sends it where missing values go. Real codes are
# below max_bins (at most 255).
MISSING_CODE = 255
# A node's left categories (codes 0-255) as 16 words of 16 bits, which float32 weights hold exactly (as they do the
# node table's row and column numbers, below 2**24).
WORD_BITS = 16


def keras_tree_model(pipeline, columns, task: str, num_classes: int) -> keras.Model:
    """The Keras form of automl.search.simple's gradient-boosted trees (ColumnTransformer of passthrough numbers and
    OrdinalEncoder(unknown → -1) on strings, then HistGradientBoostingClassifier or Regressor).

    Args:
        pipeline: The fitted pipeline.
        columns: profile.column_inputs (objects with .key and .kind).
        task: "classification" or "regression".
        num_classes: Classes of the task (a class absent from training gets probability 0).

    Returns:
        Raw columns → class probabilities [batch, num_classes] or the prediction [batch, 1], float32.
    """
    transformer, trees = pipeline.steps[0][1], pipeline.steps[-1][1]
    inputs = table_inputs(columns)
    # (score, tree) pairs, deepest first: shallower trees stop stepping sooner.
    predictors = sorted(((k, tree) for iteration in trees._predictors for k, tree in enumerate(iteration)),
                        key=lambda pair: -pair[1].get_max_depth())
    x = _features(inputs, transformer, trees)
    tests, nodes, values, roots = _tables([tree for _, tree in predictors], x.shape[1])
    leaves = _traverse(_decisions(x, tests), nodes, roots, [tree.get_max_depth() for _, tree in predictors])
    # Leaf values are summed in float64, as scikit-learn sums them, each tree's into its score.
    leaf_values = layers.Embedding(len(values), 1, weights=values[:, None], dtype="float64", trainable=False,
                                   name="leaf_values")(leaves)
    into_scores = np.eye(trees.n_trees_per_iteration_)[[k for k, _ in predictors]]
    raw = ops.add(ops.matmul(leaf_values[..., 0], into_scores), trees._baseline_prediction)
    if task == "classification":
        outputs = layers.Activation("linear", name="probabilities", dtype="float32")(
            _probabilities(raw, trees.classes_, num_classes))
    else:  # squared error, the default loss: the prediction is the raw score
        outputs = layers.Activation("linear", name="prediction", dtype="float32")(raw)
    return keras.Model(inputs, outputs, name="gradient_boosted_trees")


def _probabilities(raw, classes, num_classes: int) -> keras.KerasTensor:
    """Softmax over the scores at their classes' places and ABSENT_LOGIT at absent classes'. A binary model has one
    score, the second class's logit: softmax over (0, z) is scikit-learn's expit."""
    classes, scores = np.asarray(classes, dtype=int), raw.shape[1]
    weights, bias = np.zeros((scores, num_classes)), np.full(num_classes, ABSENT_LOGIT)
    bias[classes] = 0.0
    weights[np.arange(scores), classes[-scores:]] = 1.0
    return ops.softmax(ops.add(ops.matmul(raw, weights), bias))


def _features(inputs: dict, transformer, trees) -> keras.KerasTensor:
    """The columns in the trees' feature order, float32 [batch, features]. HistGradientBoosting re-encodes the
    categorical columns and puts them first; a string that either encoder or the fitted bins do not know becomes
    MISSING_CODE."""
    outer = []  # (key, OrdinalEncoder categories or None for a number), in the ColumnTransformer's order
    for name, fitted, keys in transformer.transformers_:
        if name == "numbers":
            outer += [(key, None) for key in keys]
        elif name == "categories" and len(keys):
            outer += list(zip(keys, fitted.categories_))
    if trees._preprocessor is None:
        return _concatenate([inputs[key] for key, _ in outer])
    inner = trees._preprocessor.named_transformers_["encoder"].categories_
    features = []
    for f, column in enumerate(np.flatnonzero(trees.is_categorical_)):
        key, categories = outer[column]
        known = set(trees._bin_mapper.bin_thresholds_[f].astype(int))  # the trees' feature f is this column
        recode = {float(c): code for code, c in enumerate(inner[f]) if code in known}
        # StringLookup's index i is the OrdinalEncoder's code i - 1 (index 0, unknown, is its -1).
        codes = [recode.get(float(code), MISSING_CODE) for code in range(-1, len(categories))]
        lookup = layers.StringLookup(vocabulary=[str(c) for c in categories], name=f"tree_codes_{f}")
        features.append(ops.take(np.array(codes, dtype="float32"), lookup(inputs[key])))
    return _concatenate(features + [inputs[outer[i][0]] for i in np.flatnonzero(~trees.is_categorical_)])


def _concatenate(features: list) -> keras.KerasTensor:
    return layers.Concatenate(name="tree_features", dtype="float32")(features) if len(features) > 1 else features[0]


def _tables(predictors, features: int) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
    """All trees' nodes as rows of one table [nodes, 3]: the column of _decisions' matrix each tests, its threshold,
    and its right child (scikit-learn stores the left child next). A leaf's threshold is NaN, which nothing is ≤:
    it is its own right child, so every tree can take the same number of steps. Also each categorical node's
    (feature, left-category words), the leaf values (float64) and each tree's root."""
    nodes, tests, values, roots = [], [], [], []
    for tree in predictors:
        n, start = tree.nodes, sum(len(table) for table in nodes)
        leaf, categorical = n["is_leaf"].astype(bool), n["is_categorical"].astype(bool) & ~n["is_leaf"].astype(bool)
        if not np.array_equal(n["left"][~leaf], np.flatnonzero(~leaf) + 1):
            raise ValueError("scikit-learn no longer stores a node's left child next to it")
        table = np.zeros((len(n), 3), dtype="float32")
        # A number is tested in column f, missing values NaN (which go right), or f + features, missing -inf (left).
        table[:, 0] = n["feature_idx"] + features * n["missing_go_to_left"]
        table[:, 1] = np.where(leaf, np.nan, _float32_at_most(n["num_threshold"]))
        table[:, 2] = np.where(leaf, start + np.arange(len(n)), start + n["right"])
        for node in np.flatnonzero(categorical):
            table[node, :2] = 2 * features + len(tests), 0.5  # 0 where the category goes left, 1 where right
            bitset = tree.raw_left_cat_bitsets[n["bitset_idx"][node]].astype("<u4")  # 8 words of 32 bits
            bits = np.unpackbits(bitset.view("u1"), bitorder="little")
            bits[MISSING_CODE] = n["missing_go_to_left"][node]
            tests.append((n["feature_idx"][node], np.packbits(bits, bitorder="little").view("<u2")))
        nodes.append(table), values.append(n["value"]), roots.append(start)
    if sum(len(table) for table in nodes) >= 2**24:
        raise ValueError("too many tree nodes for float32 row numbers")
    return tests, np.concatenate(nodes), np.concatenate(values), np.array(roots, dtype="int32")


def _float32_at_most(thresholds: np.ndarray) -> np.ndarray:
    """The largest float32 ≤ each float64 threshold: a float32 x is ≤ it exactly when x ≤ the threshold, the
    comparison scikit-learn makes in float64."""
    with np.errstate(over="ignore"):
        rounded = thresholds.astype("float32")
    return np.where(rounded > thresholds, np.nextafter(rounded, np.float32(-np.inf)), rounded)


def _decisions(x, tests: list) -> keras.KerasTensor:
    """What the nodes compare, float32 [batch, 2 × features + categorical nodes]: the features with missing values
    NaN, the same with -inf, then per categorical node whether each row's category goes right (1) or left (0)."""
    columns = [x, ops.where(ops.isnan(x), -np.inf, x)]
    if tests:
        features = np.array([feature for feature, _ in tests], dtype="int32")
        words = np.concatenate([node_words for _, node_words in tests]).astype("float32")
        codes = ops.cast(ops.take(x, features, axis=1), "int32")  # [batch, categorical nodes]
        offsets = np.arange(len(tests), dtype="int32") * (256 // WORD_BITS)
        table = layers.Embedding(len(words), 1, weights=words[:, None], dtype="float32", trainable=False,
                                 name="tree_left_categories")
        word = ops.cast(table(ops.add(offsets, ops.floor_divide(codes, WORD_BITS)))[..., 0], "int32")
        goes_left = ops.mod(ops.right_shift(word, ops.mod(codes, WORD_BITS)), 2)
        columns.append(ops.cast(ops.subtract(1, goes_left), "float32"))
    return layers.Concatenate(name="tree_decisions", dtype="float32")(columns)


def _traverse(decisions, nodes: np.ndarray, roots: np.ndarray, depths: list) -> keras.KerasTensor:
    """Every row down every tree at once, a level a step: [batch, trees] node rows, their tested values gathered
    from the flattened decisions, compared, and the children taken. Trees come deepest first, and leave the loop
    when they are as deep as they go. Returns the leaves' rows."""
    table = layers.Embedding(len(nodes), nodes.shape[1], weights=nodes, dtype="float32", trainable=False,
                             name="tree_nodes")
    flat = ops.reshape(decisions, (-1,))
    # Each row's start in `flat` (int64: a large batch of wide rows passes 2**31).
    starts = ops.multiply(ops.cumsum(ops.ones_like(decisions[:, :1], dtype="int64"), axis=0) - 1, decisions.shape[1])
    index, done = ops.add(ops.zeros_like(decisions[:, :1], dtype="int32"), roots), []
    for step in range(max(depths)):
        stepping = sum(depth > step for depth in depths)
        if stepping < index.shape[1]:
            done.insert(0, index[:, stepping:])
            index = index[:, :stepping]
        node = table(index)
        value = ops.take(flat, ops.add(starts, ops.cast(node[..., 0], "int64")))
        index = ops.where(ops.less_equal(value, node[..., 1]), ops.add(index, 1), ops.cast(node[..., 2], "int32"))
    return ops.concatenate([index] + done, axis=1) if done else index
