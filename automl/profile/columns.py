"""Profile stage, tables: column types, missing values, constant / ID-like / leaking columns,
and the statistics the model's preprocessing layers are built from (computed on train only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.preprocessing import OrdinalEncoder
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from automl.errors import DataError
from automl.ingest import is_numeric_column

# A non-float column whose values are this unique is an identifier, not a feature.
ID_UNIQUE_RATIO = 0.95
# One column alone scoring this well on validation (a small tree, balanced accuracy or R^2)
# is more likely known only after the fact than a real cause.
LEAK_SCORE = 0.99
# Categories kept per column: enough for real categoricals, bounded for high-cardinality text.
MAX_VOCABULARY = 1000
# The model's Normalization layer holds a column's variance as a float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class ColumnInput:
    """How one kept column enters the model: normalised numbers or looked-up strings."""

    name: str
    key: str
    kind: str  # "numeric" | "categorical"
    mean: float = 0.0
    variance: float = 1.0
    fill: float = 0.0  # replaces missing numbers (the train median)
    vocabulary: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    kind: str
    missing_fraction: float
    unique: int
    role: str  # "feature" | "dropped"
    note: str = ""


def _is_id_like(series: pd.Series) -> bool:
    values = series.dropna()
    if len(values) < 20 or pd.api.types.is_float_dtype(values):
        return False
    return values.nunique() / len(values) >= ID_UNIQUE_RATIO


def _single_column_score(train, y_train, val, y_val, regression: bool) -> float:
    """How well one column alone predicts the target on validation (a depth-4 tree)."""
    if len(val) < 10:
        return 0.0
    if is_numeric_column(train):
        fill = np.nanmedian(pd.to_numeric(train, errors="coerce")) if train.notna().any() else 0.0
        x_train = pd.to_numeric(train, errors="coerce").fillna(fill).to_numpy().reshape(-1, 1)
        x_val = pd.to_numeric(val, errors="coerce").fillna(fill).to_numpy().reshape(-1, 1)
    else:
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
        x_train = encoder.fit_transform(train.astype(str).to_frame())
        x_val = encoder.transform(val.astype(str).to_frame())
    tree = (DecisionTreeRegressor if regression else DecisionTreeClassifier)(max_depth=4, random_state=0)
    tree.fit(x_train, y_train)
    predicted = tree.predict(x_val)
    if np.ndim(y_val) == 2:  # label sets (multi-label): the mean of each label's balanced accuracy
        return float(np.mean([balanced_accuracy_score(y_val[:, j], predicted[:, j]) for j in range(y_val.shape[1])]))
    return r2_score(y_val, predicted) if regression else balanced_accuracy_score(y_val, predicted)


def _column_input(name, key, series: pd.Series) -> ColumnInput:
    if is_numeric_column(series):
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        if not len(values):
            return ColumnInput(name, key, "numeric")
        variance = float(values.var())
        if not variance <= FLOAT32_MAX:
            raise DataError(f"The column {name!r} spreads too widely for the model's 32-bit numbers (values as large "
                            f"as {np.abs(values).max():.3g}: their variance overflows {FLOAT32_MAX:.3g}). Rescale it "
                            "(e.g. take its logarithm or divide by a power of ten) or drop it.")
        return ColumnInput(name, key, "numeric", float(values.mean()), float(max(variance, 1e-12)),
                           float(np.median(values)))
    counts = series.astype("string").fillna("").value_counts()
    return ColumnInput(name, key, "categorical", vocabulary=tuple(map(str, counts.index[:MAX_VOCABULARY])))


def profile_columns(table, y_train, y_val, regression: bool):
    """Returns (column profiles, inputs of kept columns, leak warnings)."""
    profiles, inputs, leaks = [], [], []
    for name, key in table.keys.items():
        series = table.train[name]
        kind = "numeric" if is_numeric_column(series) else "categorical"
        missing = float(series.isna().mean())
        unique = int(series.nunique(dropna=True))
        if unique <= 1:
            profiles.append(ColumnProfile(name, kind, missing, unique, "dropped", "constant"))
            continue
        if _is_id_like(series):
            profiles.append(ColumnProfile(name, kind, missing, unique, "dropped", "ID-like (almost every value unique)"))
            continue
        score = _single_column_score(series, y_train, table.val[name], y_val, regression)
        note = ""
        if score >= LEAK_SCORE:
            note = f"alone predicts the target (validation score {score:.3f})"
            leaks.append(name)
        profiles.append(ColumnProfile(name, kind, missing, unique, "feature", note))
        inputs.append(_column_input(name, key, series))
    return tuple(profiles), tuple(inputs), leaks
