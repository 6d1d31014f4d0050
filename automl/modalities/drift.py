"""Drift between the training inputs and the inputs a model is asked to predict.

Each modality turns a batch of serving inputs into named features (automl.modalities.*.drift_features): a
table its columns, an image its brightness and contrast, a text its length and words, a series its length,
level and scale. At export, the training split's features become a reference (RUN_DIR/model/
drift_reference.json); at prediction time (`automl predict`, `automl serve`) the new inputs' features are held
against it:

    numeric features    population stability index (PSI) over the training deciles; over 0.25 is drift, the
                        usual reading of PSI (0.1-0.25 moderate, over 0.25 a significant shift), plus the
                        PSI that sampling alone gives: about (bins - 1) × (1/n + 1/n_training) for
                        samples of the same data (PSI is close to a chi-square statistic over n), so a
                        small batch is not called drifted for its noise
    categories, words   the share of values the training data never had, over the training's own share by
                        more than 0.1

PSI needs enough inputs to estimate shares: numeric features are judged from MIN_EXAMPLES_FOR_PSI inputs
on (fewer are reported, not judged); unseen values are judged at any count.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

DRIFT_REFERENCE = "drift_reference.json"  # in RUN_DIR/model/, beside metadata.json
PSI_DRIFT = 0.25
UNSEEN_DRIFT = 0.1
MIN_EXAMPLES_FOR_PSI = 20
DECILES = np.linspace(0.1, 0.9, 9)
# Categories and words kept in the reference: the most frequent ones (rarer training values count as unseen
# in the reference's own share, so the comparison stays fair).
MAX_REFERENCE_VALUES = 20_000
EPSILON = 1e-4  # an empty bin on one side would make PSI infinite


def training_reference(batches, modality, meta: dict) -> dict:
    """The reference of the training split, from its serving batches."""
    return reference_for(merge([modality.drift_features(batch, meta) for batch in batches]))


def reference_for(features: dict[str, dict]) -> dict:
    """The reference of training features: name → {"kind", ...}; features maps a name to {"kind": "numeric" |
    "category" | "tokens", "values": array or list (of lists, for tokens)}."""
    reference = {}
    for name, feature in features.items():
        if feature["kind"] == "numeric":
            values = _finite(feature["values"])
            if len(values) == 0:
                continue
            edges = np.unique(np.quantile(values, DECILES))
            reference[name] = {"kind": "numeric", "edges": edges.tolist(), "shares": _shares(values, edges).tolist(),
                               "mean": float(values.mean()), "std": float(values.std() or 1.0),
                               "examples": int(len(values))}
        else:
            flat = _flatten(feature)
            counts = Counter(flat)
            kept = [value for value, _ in counts.most_common(MAX_REFERENCE_VALUES)]
            unseen = 1 - sum(counts[v] for v in kept) / max(len(flat), 1)
            reference[name] = {"kind": feature["kind"], "values": kept, "unseen_share": round(unseen, 6)}
    return reference


def compare(reference: dict, features: dict[str, dict]) -> dict:
    """The drift of new inputs' features from the reference: per feature its figures and whether it drifted,
    and the drifted names (largest drift first)."""
    report, drifted = {}, []
    for name, ref in reference.items():
        feature = features.get(name)
        if feature is None:
            continue
        if ref["kind"] == "numeric":
            values = _finite(feature["values"])
            if len(values) == 0:
                continue
            psi = _psi(np.asarray(ref["shares"]), _shares(values, np.asarray(ref["edges"]), smoothing=0.5))
            judged = len(values) >= MIN_EXAMPLES_FOR_PSI
            noise = (len(ref["shares"]) - 1) * (1 / len(values) + 1 / max(ref.get("examples", 10**6), 1))
            entry = {"psi": round(psi, 4), "threshold": round(PSI_DRIFT + noise, 4),
                     "mean_shift_in_std": round(float(values.mean() - ref["mean"]) / ref["std"], 3),
                     "examples": int(len(values)), "drifted": bool(judged and psi > PSI_DRIFT + noise)}
            if not judged:
                entry["note"] = f"fewer than {MIN_EXAMPLES_FOR_PSI} values: reported, not judged"
            score = psi
        else:
            flat = _flatten(feature)
            if not flat:
                continue
            known = set(ref["values"])
            unseen = sum(value not in known for value in flat) / len(flat)
            entry = {"unseen_share": round(unseen, 4), "training_unseen_share": ref["unseen_share"],
                     "examples": len(flat), "drifted": bool(unseen - ref["unseen_share"] > UNSEEN_DRIFT)}
            score = unseen * 10
        report[name] = entry
        if entry["drifted"]:
            drifted.append((score, name))
    return {"drifted": [name for _, name in sorted(drifted, reverse=True)], "features": report}


def warning_line(report: dict, where: str) -> str:
    """One line naming the drifted features (at most five), or "" when nothing drifted."""
    names = report["drifted"]
    if not names:
        return ""
    figures = []
    for name in names[:5]:
        entry = report["features"][name]
        figures.append(f"{name} (PSI {entry['psi']:.2f})" if "psi" in entry else
                       f"{name} ({entry['unseen_share']:.0%} unseen values)")
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return (f"Drift: these inputs differ from the training data in {', '.join(figures)}{more}; predictions on them "
            f"are less reliable. Figures: {where}")


def merge(batches: list[dict[str, dict]]) -> dict[str, dict]:
    """Features of several batches as one."""
    merged: dict[str, dict] = {}
    for features in batches:
        for name, feature in features.items():
            into = merged.setdefault(name, {"kind": feature["kind"], "values": []})
            into["values"].extend(list(feature["values"]))
    return merged


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    return values[np.isfinite(values)]


def _shares(values: np.ndarray, edges: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
    """The share of values in each bin; smoothing adds that many pseudo-counts to every bin (Laplace), so a
    small batch's empty bins do not read as a collapse of the distribution."""
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1) + smoothing
    return counts / max(counts.sum(), 1e-12)


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected, actual = np.clip(expected, EPSILON, None), np.clip(actual, EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _flatten(feature: dict) -> list:
    if feature["kind"] == "tokens":
        return [token for tokens in feature["values"] for token in tokens]
    return [str(value) for value in feature["values"]]
