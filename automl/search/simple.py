"""Search stage, the honest yardstick: strong simple models fitted in seconds before the deep search, so
the report can say whether deep learning gained anything. Tables get gradient-boosted trees and a
linear model (scikit-learn); text gets TF-IDF over words and word pairs (and character n-grams where the
texts are short enough to be quick) with logistic regression, and for two classes NBSVM's naive Bayes
weighted n-grams; labelled series get MiniRocket features and a ridge classifier (aeon). Images have none here (with a backbone, the transfer family's first phase
is the linear probe). The fitted models stay in memory for the export stage (export.simple), which
writes the best one out when it is as good as the deep model or better."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from automl.search.label_issues import LabelCheck, check_labels

# Beyond this many training cells, or columns, the simple models stop being a matter of seconds on 2
# cores (the two on 60 rows × 3,000 columns took about 14 s).
MAX_TABLE_CELLS = 2_000_000
MAX_TABLE_COLUMNS = 500
MAX_SERIES_VALUES = 2_000_000
# Text: beyond this many training characters TF-IDF + logistic regression stops being a matter of
# seconds; character n-grams are added below the smaller cap (SST-2's 67k phrases hold 3.4M characters,
# IMDB's 25k reviews 33M).
MAX_TEXT_CHARACTERS = 60_000_000
MAX_CHARACTER_NGRAM_CHARACTERS = 8_000_000
TEXT_FEATURES = 200_000
# Within this many points of accuracy (or R²) the deep model has not beaten the simple one.
TIE_POINTS = 0.5


class Fitted:
    """A fitted scikit-learn model and the test inputs it was scored on, for the export stage. Not a
    dataclass, so the report state stores None in its place (a run reloaded from disk has no models)."""

    def __init__(self, model, test_inputs):
        self.model, self.test_inputs = model, test_inputs


@dataclass(frozen=True)
class SimpleModel:
    name: str
    val_score: float
    test_score: float
    seconds: float
    fitted: Fitted | None = field(default=None, compare=False, repr=False, metadata={"live": True})


@dataclass(frozen=True)
class SimpleModels:
    """Simple models fitted on train, scored on validation and test by metric ("accuracy" or "r2"), and the
    training labels they find likely wrong (search.label_issues; classification only)."""

    metric: str
    models: tuple[SimpleModel, ...]
    label_check: LabelCheck | None = None

    @property
    def best(self) -> SimpleModel:
        return max(self.models, key=lambda m: m.val_score)

    def gain(self, deep_test_score: float) -> float:
        """Points of test score the deep model has over the best simple model (negative: it has fewer)."""
        return (deep_test_score - self.best.test_score) * 100

    def prefers_simple(self, deep_test_score: float) -> bool:
        """Whether the verdict says the simple model is as good or better (so it is exported too)."""
        return self.gain(deep_test_score) <= TIE_POINTS

    def verdict(self, deep_test_score: float) -> str:
        """One sentence: what deep learning gained over the best simple model on test."""
        best = self.best
        gain = self.gain(deep_test_score)
        label = "accuracy" if self.metric == "accuracy" else "R²"
        where = f"{best.name}: test {label} {_fmt(best.test_score, self.metric)}, fitted in {best.seconds:.1f}s"
        if gain > TIE_POINTS:
            return f"Deep learning gains {gain:+.1f} points of test {label} over the best simple model ({where})."
        if gain >= -TIE_POINTS:
            return f"A simple model is as good here ({where}; the deep model differs by {gain:+.1f} points)."
        return (f"A simple model is better here by {-gain:.1f} points of test {label} ({where}): prefer it, "
                "or give the deep search more time.")


def _fmt(score: float, metric: str) -> str:
    return f"{score:.2%}" if metric == "accuracy" else f"{score:.3f}"


def fit_simple_models(dataset, profile) -> SimpleModels | None:
    """The simple models for this data, or None where there are none (other modalities, too big, or a
    library missing)."""
    if profile.modality == "table" and profile.task in ("classification", "regression"):
        return _table_models(dataset, profile)
    if profile.modality == "series" and profile.task == "classification":
        return _series_models(dataset)
    if profile.modality == "text" and profile.task == "classification":
        return _text_models(dataset, profile)
    return None


def _table_frame(split, columns) -> pd.DataFrame:
    rows = [x for x, _ in split.data.as_numpy_iterator()]
    frame = pd.DataFrame({c.key: [np.ravel(row[c.key])[0] for row in rows] for c in columns})
    for c in columns:
        if c.kind == "numeric":
            frame[c.key] = frame[c.key].astype("float64").replace([np.inf, -np.inf], np.nan)
        else:
            frame[c.key] = frame[c.key].map(lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
    return frame


def _table_models(dataset, profile) -> SimpleModels | None:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    columns = profile.column_inputs
    if not columns or len(columns) > MAX_TABLE_COLUMNS or dataset.train.size * len(columns) > MAX_TABLE_CELLS:
        return None
    frames = {name: _table_frame(split, columns) for name, split in dataset.splits().items()}
    numeric = [c.key for c in columns if c.kind == "numeric"]
    strings = [c.key for c in columns if c.kind != "numeric"]
    classify = profile.task == "classification"
    linear_features = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("categories", OneHotEncoder(handle_unknown="ignore"), strings)])  # skl2onnx: no infrequent categories
    tree_features = ColumnTransformer([
        ("numbers", "passthrough", numeric),
        ("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                      encoded_missing_value=-1), strings)])
    categorical = [False] * len(numeric) + [True] * len(strings)
    trees = (HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor)(
        categorical_features=categorical if strings else None, random_state=0)
    linear = LogisticRegression(max_iter=2000, class_weight="balanced" if profile.class_weight else None) \
        if classify else RidgeCV()
    candidates = {"gradient-boosted trees": make_pipeline(tree_features, trees),
                  "linear model": make_pipeline(linear_features, linear)}
    return _score(candidates, frames, {n: s.labels for n, s in dataset.splits().items()}, classify)


def _series_models(dataset) -> SimpleModels | None:
    try:
        from aeon.transformations.collection.convolution_based import MiniRocket
    except ImportError:
        return None
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    arrays = {}
    for name, split in dataset.splits().items():
        series = np.stack([x for x, _ in split.data.as_numpy_iterator()])  # [n, length, channels]
        arrays[name] = np.nan_to_num(np.transpose(series, (0, 2, 1)).astype("float64"))  # aeon: [n, channels, length]
    if arrays["train"].size > MAX_SERIES_VALUES or arrays["train"].shape[-1] < 9:  # MiniRocket's kernels span 9
        return None
    model = make_pipeline(MiniRocket(random_state=0), StandardScaler(with_mean=False),
                          RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)))
    return _score({"MiniRocket + ridge": model}, arrays, {n: s.labels for n, s in dataset.splits().items()}, True)


def split_texts(split) -> list[str]:
    """The raw texts of a text split, in order."""
    return [np.ravel(x)[0].decode("utf-8", "replace") for x, _ in split.data.as_numpy_iterator()]


def _text_models(dataset, profile) -> SimpleModels | None:
    """TF-IDF with log-scaled counts (words and word pairs; character 2-5-grams within word bounds when the
    texts are few enough) + logistic regression: the honest text baseline (Wang & Manning 2012)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    texts = {name: split_texts(split) for name, split in dataset.splits().items()}
    characters = sum(map(len, texts["train"]))
    if characters > MAX_TEXT_CHARACTERS:
        return None
    vectorizers = [TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_features=TEXT_FEATURES,
                                   dtype=np.float32)]
    name = "TF-IDF (words, word pairs)"
    if characters <= MAX_CHARACTER_NGRAM_CHARACTERS:
        vectorizers.append(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                           max_features=TEXT_FEATURES, dtype=np.float32))
        name = "TF-IDF (words, word pairs, characters 2-5)"
    # C = 10: weak regularisation suits L2-normalised TF-IDF rows (IMDB: 90.65 % at C = 16, 90.04 % at C = 4,
    # benchmarks/imdb_tfidf_check.py); liblinear is the quick solver for sparse rows, two classes only.
    solver = "liblinear" if len(profile.class_names) == 2 else "lbfgs"
    linear = LogisticRegression(C=10, solver=solver, max_iter=1000,
                                class_weight="balanced" if profile.class_weight else None)
    candidates = {f"{name} + logistic regression": make_pipeline(make_union(*vectorizers), linear)}
    if len(profile.class_names) == 2:
        candidates["naive Bayes weighted word 1-3-grams + logistic regression"] = _naive_bayes_logistic
    return _score(candidates, texts, {n: s.labels for n, s in dataset.splits().items()}, True)


# NBSVM's word tokens plus "!" and "?", which carry sentiment; word 1-3-grams seen in two texts or more.
NAIVE_BAYES_TOKENS = r"(?u)\b\w+\b|[!?]"


def _naive_bayes_logistic(texts: list[str], labels: np.ndarray):
    """Wang & Manning's NBSVM with a logistic loss, for two classes: binary n-gram counts scaled by their naive
    Bayes log-count ratio, then logistic regression (IMDB, automl's split: 91.6 % test against 90.5 % for TF-IDF
    + logistic regression; benchmarks/simple_models.py). The scaling is folded into the regression's weights
    (w · (x ∘ r) = (w ∘ r) · x), so what is returned is a plain scikit-learn pipeline of a CountVectorizer and
    a LogisticRegression: it exports like the other simple models, with no class of ours inside."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    vectorizer = CountVectorizer(ngram_range=(1, 3), binary=True, min_df=2, token_pattern=NAIVE_BAYES_TOKENS,
                                 dtype=np.float32)
    counts = vectorizer.fit_transform(texts)
    labels = np.asarray(labels)
    positive = 1 + np.asarray(counts[labels == 1].sum(axis=0)).ravel()  # add-one smoothing, as NBSVM
    negative = 1 + np.asarray(counts[labels == 0].sum(axis=0)).ravel()
    ratio = np.log(positive / positive.sum()) - np.log(negative / negative.sum())
    # C = 0.1 (IMDB validation: 91.3 % at 0.1, 91.0 % at 0.03, 91.3 % at 0.3; NBSVM's binary features are
    # unnormalised, so they want stronger regularisation than TF-IDF's C = 10).
    linear = LogisticRegression(C=0.1, solver="liblinear", max_iter=1000).fit(counts.multiply(ratio).tocsr(), labels)
    linear.coef_ = linear.coef_ * ratio.astype(linear.coef_.dtype)
    return make_pipeline(vectorizer, linear)


def _score(candidates: dict, features: dict, labels: dict, classify: bool) -> SimpleModels | None:
    """Fits each candidate (an unfitted scikit-learn model, or a function (inputs, labels) → fitted model) on
    train and scores it on validation and test."""
    from sklearn.metrics import accuracy_score, r2_score

    score = accuracy_score if classify else r2_score
    models = []
    for name, model in candidates.items():
        start = time.perf_counter()
        try:
            if callable(model) and not hasattr(model, "fit"):  # a function that fits and returns a model
                model = model(features["train"], labels["train"])
            else:
                model.fit(features["train"], labels["train"])
        except (ValueError, TypeError, MemoryError):  # a simple model that cannot take this data is not compared
            continue
        seconds = time.perf_counter() - start
        models.append(SimpleModel(name, float(score(labels["val"], model.predict(features["val"]))),
                                  float(score(labels["test"], model.predict(features["test"]))), seconds,
                                  Fitted(model, features["test"])))
    if not models:
        return None
    best = max(models, key=lambda m: m.val_score)
    check = check_labels(best.fitted.model, features["train"], labels["train"], best.seconds) if classify else None
    return SimpleModels("accuracy" if classify else "r2", tuple(models), check)
