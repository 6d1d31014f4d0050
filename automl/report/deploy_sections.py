"""Report stage, the newer sections' rows: trial costs and sparklines for the leaderboard, calibration,
the gallery, extra export formats, latency and search phases. Plain strings and numbers; the template
escapes them."""

from __future__ import annotations

import math

from automl.export import PARITY_LIMITS
from automl.report.plots import main_metric as main_metric_of
from automl.report.sections import fmt_metric, fmt_seconds
from automl.search import choice_note, rank_trials, trial_overfits

SPARK_WIDTH, SPARK_HEIGHT = 120, 36


def fmt_bytes(size) -> str:
    if not size:
        return "—"
    return f"{size / 1e6:.2f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def fmt_ms(value) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.2f} ms"


def _points(values, low: float, high: float) -> str:
    """SVG polyline points for a series, scaled into the sparkline box (numbers only: nothing to escape)."""
    span = (high - low) or 1.0
    step = SPARK_WIDTH / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{SPARK_HEIGHT - 2 - (v - low) / span * (SPARK_HEIGHT - 4):.1f}"
                    for i, v in enumerate(values))


def sparkline(history: dict) -> dict | None:
    """Train and validation curves of the main metric as two SVG polylines on a shared scale."""
    name = main_metric_of(history)
    series = [[float(v) for v in history.get(key) or [] if v is not None and math.isfinite(float(v))]
              for key in (name, f"val_{name}")] if name else []
    values = [v for s in series for v in s]
    if not values:
        return None
    low, high = min(values), max(values)
    return {"metric": name, "train": _points(series[0], low, high) if len(series[0]) > 1 else "",
            "val": _points(series[1], low, high) if len(series[1]) > 1 else "",
            "last": fmt_metric(name, series[1][-1] if series[1] else series[0][-1])}


def trial_extras(result, measurements) -> dict[str, dict]:
    """Per trial: overfitting flag, weights on disk, CPU latency and a sparkline."""
    costs = {c.trial_id: c for c in (measurements.trial_costs if measurements else ())}
    extras = {}
    for trial in result.trials:
        cost = costs.get(trial.trial_id)
        extras[trial.trial_id] = {
            "overfits": "yes" if trial_overfits(trial, result.objective) else "no",
            "size": fmt_bytes(cost.size_bytes if cost else 0),
            "latency": fmt_ms(cost.latency_ms if cost else None), "spark": sparkline(trial.history)}
    return extras


def timed_trials(measurements) -> list[str]:
    return [c.trial_id for c in (measurements.trial_costs if measurements else ()) if c.latency_ms is not None]


def choice_sentence(result) -> str:
    return choice_note(result.trials, result.objective)


def calibration_rows(calibration) -> list[dict]:
    return [{"range": f"{b.lower:.1f}–{b.upper:.1f}", "confidence": f"{b.confidence:.3f}",
             "accuracy": f"{b.accuracy:.3f}", "count": b.count} for b in (calibration.bins if calibration else ())]


def format_rows(measurements, run_dir, relative) -> list[dict]:
    rows = []
    for f in measurements.formats if measurements else ():
        rows.append({"format": f.format, "path": relative(f.path, run_dir) if f.path else "—",
                     "size": fmt_bytes(f.size_bytes),
                     "diff": "—" if f.max_abs_diff is None else f"{f.max_abs_diff:.2e}",
                     "limit": f"{PARITY_LIMITS[f.format]:.0e}",
                     "agreement": "—" if f.top1_agreement is None else f"{100 * f.top1_agreement:.1f} %",
                     "samples": f.samples, "latency": fmt_ms(f.latency.p50_ms if f.latency else None),
                     "seconds": fmt_seconds(f.seconds), "ok": f.within_limit, "error": f.error or ""})
    return rows


def latency_rows(latency) -> dict | None:
    if latency is None:
        return None
    return {"p50": fmt_ms(latency.p50_ms), "p95": fmt_ms(latency.p95_ms), "p99": fmt_ms(latency.p99_ms),
            "calls": latency.calls, "batch": latency.batch_size, "throughput": f"{latency.throughput:,.0f}"}


def phase_rows(result) -> list[dict]:
    metric = result.objective.removeprefix("val_")
    return [{"name": p.name, "trials": p.trials, "seconds": fmt_seconds(p.seconds),
             "score": fmt_metric(metric, p.val_score), "kept": "yes" if p.kept else "no", "note": p.note}
            for p in getattr(result, "phases", ())]


def gallery_rows(diagnosis) -> list:
    return list(getattr(diagnosis, "gallery", ()))


LABEL_ISSUES_CSV = "label_issues.csv"


def _label_check(diagnosis):
    """The label check (runs before the leaderboard kept it with their simple models)."""
    return getattr(diagnosis, "label_check", None) or getattr(getattr(diagnosis, "simple_models", None),
                                                             "label_check", None)


def label_check_sentence(diagnosis) -> str:
    """What the label check found, how, and where the full list is; or why there was none."""
    check = _label_check(diagnosis)
    if check is None:
        if diagnosis.task != "classification":
            return ""
        return ("Training labels were not checked: the check needs a simple model with class probabilities that "
                "refits quickly (tables, text, series), and this run had none.")
    if not check.issues:
        return f"No training label looks wrong: {check.method} found no issue among {check.examples} examples."
    shown = len(getattr(diagnosis, "label_issues", ()))
    return (f"{len(check.issues)} of {check.examples} training examples are likely mislabelled, by {check.method}: "
            f"the {shown} least likely labels are shown; {LABEL_ISSUES_CSV} lists them all. Check them before "
            "trusting the model's errors on similar examples.")


def label_issue_rows(diagnosis, class_names) -> list[dict]:
    """Every likely label error, for label_issues.csv: the training position, given and suggested labels."""
    check = _label_check(diagnosis)
    return [{"train_index": i.index, "given_label": class_names[i.given], "suggested_label": class_names[i.suggested],
             "given_label_probability": round(i.given_probability, 4)} for i in (check.issues if check else ())]


def ranked_ids(result) -> list[str]:
    return [t.trial_id for t in rank_trials(result.trials, result.objective)]


def deployment_context(result, diagnosis, measurements, run_dir, relative) -> dict:
    """The template variables for the newer sections."""
    from automl.report import plots

    costs = {c.trial_id: c for c in (measurements.trial_costs if measurements else ())}
    return {"trial_extras": trial_extras(result, measurements), "timed_trials": timed_trials(measurements),
            "pareto": plots.pareto_plot(result.trials, costs, result.objective),
            "choice": choice_sentence(result), "phases": phase_rows(result),
            "calibration": diagnosis.calibration, "calibration_rows": calibration_rows(diagnosis.calibration),
            "reliability": plots.reliability_diagram(diagnosis.calibration),
            "gallery": gallery_rows(diagnosis), "formats": format_rows(measurements, run_dir, relative),
            "label_issues": list(getattr(diagnosis, "label_issues", ())),
            "label_check": label_check_sentence(diagnosis),
            "latency": latency_rows(measurements.latency if measurements else None),
            "measured": measurements is not None,
            "serving": list(getattr(measurements, "serving", ()) if measurements else ())}


def summary_extras(result, diagnosis, measurements) -> dict:
    """The newer sections' figures for summary.json (gallery thumbnails left out: they are in the HTML)."""
    gallery = [{k: v for k, v in vars(item).items() if k != "image"} for item in gallery_rows(diagnosis)]
    return {"calibration": diagnosis.calibration, "ranking": choice_sentence(result),
            "ranked_trial_ids": ranked_ids(result), "phases": getattr(result, "phases", ()),
            "latency": measurements.latency if measurements else None,
            "trial_costs": measurements.trial_costs if measurements else (),
            "formats": measurements.formats if measurements else (), "gallery": gallery,
            "label_check": label_check_sentence(diagnosis),
            "measure_seconds": measurements.seconds if measurements else None,
            "serving": getattr(measurements, "serving", ()) if measurements else ()}
