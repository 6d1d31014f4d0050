"""Search stage: training examples whose given label is likely wrong, by confident learning (cleanlab).

Out-of-fold class probabilities come from the best simple model (search.simple) refit on k folds of the
training split, so no example is judged by a model that saw its label; cleanlab's find_label_issues then
flags the examples whose given label the others contradict with confidence (Northcutt et al., "Confident
Learning", 2021), the least likely given label first. Only where a simple model exists (tables, text,
series): images have none, so they are not checked, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The folds refit the simple model k times: skipped when that would take longer than this.
MAX_CHECK_SECONDS = 60.0
FOLDS = 5
# More would be a list nobody reads; the CSV holds every one found.
SHOWN = 12


@dataclass(frozen=True)
class LabelIssue:
    """A training example whose label is likely wrong.

    Attributes:
        index: Its position in the training split.
        given, suggested: Class ids: the label it has, and the one the out-of-fold model gives it.
        given_probability: The out-of-fold probability of the given label.
    """

    index: int
    given: int
    suggested: int
    given_probability: float


@dataclass(frozen=True)
class LabelCheck:
    """The result of the check: how it was done, on how many examples, and the issues, most likely first."""

    method: str
    examples: int
    issues: tuple[LabelIssue, ...]


def check_labels(model, features, labels: np.ndarray, fit_seconds: float) -> LabelCheck | None:
    """Flags likely label errors among the training examples, or None when the check does not apply (no
    probabilities from this model, a class too small for the folds, too slow, or cleanlab missing)."""
    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        return None
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    labels = np.asarray(labels).astype(int)
    folds = min(FOLDS, int(np.bincount(labels).min()) if len(labels) else 0)
    if not hasattr(model, "predict_proba") or folds < 2 or fit_seconds * folds > MAX_CHECK_SECONDS:
        return None
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    probabilities = cross_val_predict(clone(model), features, labels, cv=splitter, method="predict_proba")
    # n_jobs=1: cleanlab otherwise forks a process pool, and forking a process that runs TensorFlow's threads can
    # deadlock (seen once in the suite: the pool never joined).
    flagged = find_label_issues(labels, probabilities, return_indices_ranked_by="self_confidence", n_jobs=1)
    issues = tuple(LabelIssue(int(i), int(labels[i]), int(probabilities[i].argmax()),
                              float(probabilities[i, labels[i]])) for i in flagged)
    return LabelCheck(f"confident learning (cleanlab) on {folds}-fold out-of-fold probabilities of the simple "
                      "model", len(labels), issues)
