"""Search stage, the strong simple models: fitted first, in seconds, and entered on the run's one leaderboard in
their exact Keras form, so whichever wins ships as the same raw-input SavedModel as a deep model.

Tables get a linear model (median fill, standardisation, one-hot, logistic or ridge regression) and
gradient-boosted trees (scikit-learn, evaluated inside the graph: search.tree_graph); text gets TF-IDF over
words and word pairs (and characters where the texts are short enough to be quick) with logistic regression
(search.tfidf_text) and naive Bayes-weighted word n-grams (search.linear_text); labelled series get
MiniRocket's features with a logistic-regression head (the series_rocket family, head in closed form); labelled
audio gets Google's pretrained speech embedding with a logistic regression (search.speech_head) where it is installed.
Images have none here (with a backbone, the transfer family's first phase is the linear probe).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
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
# Batches the simple models' features are computed in (series: the MiniRocket bank).
FEATURE_BATCH = 64


@dataclass
class SimpleFit:
    """A simple model fitted on one split: its exact Keras form (raw inputs → outputs), and the scikit-learn
    model and training inputs it mirrors where there is one (the label check refits it on folds)."""

    name: str
    model: keras.Model
    reference: object
    inputs: object
    seconds: float


def simple_fitters(dataset, profile, speech_embedding: Path | None = None) -> dict:
    """name → function(split) → SimpleFit | None, for the simple models this data gets (none for other
    modalities, or data too big for them to be quick). Audio gets the pretrained speech embedding's logistic
    regression where its files were found (speech_embedding: their folder)."""
    if profile.modality == "table" and profile.task in ("classification", "regression"):
        columns = profile.column_inputs
        if not columns or len(columns) > MAX_TABLE_COLUMNS or dataset.train.size * len(columns) > MAX_TABLE_CELLS:
            return {}
        return {name: functools.partial(_fit_table, name, profile)
                for name in ("linear model", "gradient-boosted trees")}
    if profile.modality == "series" and profile.task == "classification":
        spec = profile.series_inputs
        if spec.length < 9 or dataset.train.size * spec.length * spec.channels > MAX_SERIES_VALUES:
            return {}  # MiniRocket's kernels span 9 steps
        return {"MiniRocket + logistic regression": functools.partial(_fit_rocket, profile)}
    if profile.modality == "text" and profile.task == "classification":
        return _text_fitters(dataset, profile)
    if profile.modality == "audio" and profile.task == "classification" and speech_embedding is not None:
        return {SPEECH_NAME: functools.partial(_fit_speech, profile, speech_embedding)}
    return {}


def _table_frame(split, columns) -> pd.DataFrame:
    rows = [x for x, _ in split.data.as_numpy_iterator()]
    frame = pd.DataFrame({c.key: [np.ravel(row[c.key])[0] for row in rows] for c in columns})
    for c in columns:
        if c.kind == "numeric":
            frame[c.key] = frame[c.key].astype("float64").replace([np.inf, -np.inf], np.nan)
        else:
            frame[c.key] = frame[c.key].map(lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
    return frame


def table_pipeline(name: str, columns, classify: bool, balanced: bool):
    """The unfitted scikit-learn pipeline of a table's simple model ("linear model" or "gradient-boosted trees")."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric = [c.key for c in columns if c.kind == "numeric"]
    strings = [c.key for c in columns if c.kind != "numeric"]
    if name == "linear model":
        features = ColumnTransformer([
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ("categories", OneHotEncoder(handle_unknown="ignore"), strings)])
        linear = LogisticRegression(max_iter=2000, class_weight="balanced" if balanced else None) \
            if classify else RidgeCV()
        return make_pipeline(features, linear)
    features = ColumnTransformer([
        ("numbers", "passthrough", numeric),
        ("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                      encoded_missing_value=-1), strings)])
    categorical = [False] * len(numeric) + [True] * len(strings)
    trees = (HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor)(
        categorical_features=categorical if strings else None, random_state=0)
    return make_pipeline(features, trees)


def _fit_table(name: str, profile, split) -> SimpleFit | None:
    from automl.search.table_linear import keras_linear_model
    from automl.search.tree_graph import keras_tree_model

    classify = profile.task == "classification"
    frame = _table_frame(split, profile.column_inputs)
    pipeline = table_pipeline(name, profile.column_inputs, classify, bool(profile.class_weight))
    start = time.perf_counter()
    try:
        pipeline.fit(frame, split.labels)
    except (ValueError, TypeError, MemoryError):  # a simple model that cannot take this data is not a candidate
        return None
    to_keras = keras_linear_model if name == "linear model" else keras_tree_model
    model = to_keras(pipeline, profile.column_inputs, profile.task, len(profile.class_names))
    return SimpleFit(name, model, pipeline if classify else None, frame, time.perf_counter() - start)


def _fit_rocket(profile, split) -> SimpleFit | None:
    """MiniRocket's fixed bank (the series_rocket family at its defaults) with its logistic-regression head
    fitted in closed form on the split (search.warm_start); None where the features are too many to fit."""
    import keras_tuner as kt
    from sklearn.linear_model import LogisticRegression

    from automl.families import FAMILIES
    from automl.modalities.batching import batched
    from automl.search.warm_start import LOGISTIC_C, warm_start_head

    start = time.perf_counter()
    model = FAMILIES["series_rocket"](kt.HyperParameters(), profile)
    data = batched(split, profile, FEATURE_BATCH, None)
    if not warm_start_head(model, data, profile.class_weight):
        return None
    seconds = time.perf_counter() - start
    # The label check refits the same head on folds of the same features.
    features = keras.Model(model.inputs, model.get_layer("probabilities").input).predict(data, verbose=0)
    reference = LogisticRegression(C=LOGISTIC_C, max_iter=1000, class_weight=profile.class_weight)
    return SimpleFit("MiniRocket + logistic regression", model, reference, features.astype("float64"), seconds)


SPEECH_NAME = "speech_embedding (pretrained, frozen) + logistic regression"


def _fit_speech(profile, folder: Path, split) -> SimpleFit:
    from automl.search.speech_head import fit_speech_head

    fitted = fit_speech_head(profile, folder, split)
    return SimpleFit(SPEECH_NAME, fitted.model, fitted.reference, fitted.features, fitted.seconds)


def split_texts(split) -> list[str]:
    """The raw texts of a text split, in order."""
    return [np.ravel(x)[0].decode("utf-8", "replace") for x, _ in split.data.as_numpy_iterator()]


def _text_fitters(dataset, profile) -> dict:
    """TF-IDF (+ characters where the texts are few enough) and naive Bayes-weighted n-grams, both logistic
    regressions: the honest text baselines (Wang & Manning 2012)."""
    characters = sum(len(np.ravel(x)[0]) for x, _ in dataset.train.data.as_numpy_iterator())
    if characters > MAX_TEXT_CHARACTERS:
        return {}
    with_characters = characters <= MAX_CHARACTER_NGRAM_CHARACTERS
    name = ("TF-IDF (words, word pairs, characters 2-5)" if with_characters else "TF-IDF (words, word pairs)") + \
        " + logistic regression"
    return {name: functools.partial(_fit_tfidf, name, profile, with_characters),
            "naive Bayes-weighted word 1-3-grams + logistic regression": functools.partial(_fit_naive_bayes, profile)}


def _fit_tfidf(name: str, profile, characters: bool, split) -> SimpleFit | None:
    from automl.search.tfidf_text import fit_tfidf_text_model

    texts = split_texts(split)
    fitted = fit_tfidf_text_model(texts, split.labels, len(profile.class_names), characters,
                                  balanced=bool(profile.class_weight))
    return None if fitted is None else SimpleFit(name, fitted.model, fitted.pipeline, texts, fitted.seconds)


def _fit_naive_bayes(profile, split) -> SimpleFit | None:
    from automl.search.linear_text import fit_linear_text_model

    fitted = fit_linear_text_model(split_texts(split), split.labels, len(profile.class_names))
    name = "naive Bayes-weighted word 1-3-grams + logistic regression"
    return None if fitted is None else SimpleFit(name, fitted.model, None, None, fitted.seconds)


def label_check_of(fits: list[SimpleFit], labels: np.ndarray) -> LabelCheck | None:
    """Likely label errors, from the first fit (best first) that mirrors a scikit-learn model with probabilities."""
    fit = next((f for f in fits if f.reference is not None and hasattr(f.reference, "predict_proba")), None)
    return None if fit is None else check_labels(fit.reference, fit.inputs, labels, fit.seconds)


# Runs before the leaderboard stored their simple models this way (report_state.json names these types):
# kept so `automl report` still opens them.

class Fitted:
    """A fitted scikit-learn model (runs before the leaderboard; never stored)."""

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
    """Simple models of a run before the leaderboard, scored on validation and test by metric."""

    metric: str
    models: tuple[SimpleModel, ...]
    label_check: LabelCheck | None = None

    @property
    def best(self) -> SimpleModel:
        return max(self.models, key=lambda m: m.val_score)
