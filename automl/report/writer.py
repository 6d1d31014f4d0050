"""Report stage: RUN_DIR/report.html (one self-contained page, no scripts, no external URLs) and
RUN_DIR/summary.json (the same facts for machines)."""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import time
from importlib import metadata
from pathlib import Path

import jinja2
import pandas as pd

from automl.files import write_text_atomic
from automl.modalities import task_named
from automl.report import anomaly_section, deploy_sections, forecast_section, multilabel_section, plots, sections
from automl.report.run_result import ReportPaths, RunResult
from automl.report.state import load_state, save_state
from automl.search.leaderboard import public

TEMPLATE = "template.html.j2"
# Distribution names to report, with the alternatives a platform may install them under.
VERSIONED_PACKAGES = {"tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos"), "keras": ("keras",),
                      "keras_tuner": ("keras-tuner",), "numpy": ("numpy",), "pandas": ("pandas",)}


def package_versions() -> dict[str, str]:
    """Installed versions of the libraries a run depends on, plus Python's."""
    versions = {}
    for name, distributions in VERSIONED_PACKAGES.items():
        versions[name] = "not installed"
        for distribution in distributions:
            try:
                versions[name] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    versions["python"] = platform.python_version()
    return versions


def read_fingerprint(run_dir: Path) -> str | None:
    """The data fingerprint recorded in RUN_DIR/run.json when the run started, if there is one."""
    try:
        return json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return None


def _plain(value):
    """Converts to JSON types: numpy scalars/arrays, Paths, tuples; NaN and infinities become null."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # live objects (fitted models) left out
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.metadata.get("live")}
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(item) for item in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy scalars and arrays
        return _plain(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def _trial_dict(trial) -> dict:
    return {"trial_id": trial.trial_id, "hyperparameters": sections.public_hyperparameters(trial.hyperparameters),
            "score": trial.score, "status": trial.status, "epochs": trial.epochs, "params": trial.params,
            "seconds": trial.seconds, "history": trial.history}


def _leaderboard(result, diagnosis) -> dict | None:
    board = getattr(diagnosis, "leaderboard", None) or getattr(result, "leaderboard", None)
    return None if board is None else public(board)


def build_summary(run: RunResult, run_dir: Path) -> dict:
    """Everything report.html states, as a JSON-serialisable dict (summary.json)."""
    config, profile, plan, result, diagnosis, export = (run.config, run.profile, run.plan, run.search,
                                                         run.diagnostics, run.export)
    command, measurements = run.command, run.measurements
    summary = {
        "task": diagnosis.task, "family": plan.family, "reason": plan.reason, "dataset": profile.name,
        "metrics": diagnosis.metrics, "baseline": diagnosis.baseline, "best_epoch": diagnosis.best_epoch,
        "gap": diagnosis.gap, "verdict": diagnosis.verdict, "verdict_reason": diagnosis.verdict_reason,
        "baseline_note": diagnosis.baseline_note, "groups": diagnosis.groups,
        "simple_models": diagnosis.simple_models, "simple_verdict": diagnosis.simple_verdict,
        "leaderboard": _leaderboard(result, diagnosis),
        "shipped": sections.shipped_text(run),
        "fixes": diagnosis.fixes, "best_trial_id": result.best_trial_id,
        "best_hyperparameters": sections.public_hyperparameters(result.best_hyperparameters),
        "objective": result.objective, "tuner": result.tuner,
        "trials": [_trial_dict(t) for t in result.trials],
        "stopped_because": result.stopped_because, "search_seconds": result.seconds,
        "ensemble": result.ensemble, "cross_validation": result.cross_validation,
        "first_trial": result.first_trial_note, "devices": result.devices, "search_notes": list(result.search_notes),
        "workers": config.workers,
        "final_model": sections.ensemble_sentence(result),
        "guardrails": [{"name": g.name, "status": g.status, "message": g.message} for g in profile.guardrails],
        "skipped": [{"path": s.path, "reason": s.reason} for s in profile.skipped],
        "class_names": profile.class_names, "split_sizes": profile.split_sizes,
        "export": {"model_dir": str(export.model_dir), "keras_path": str(export.keras_path),
                   "metadata_path": str(export.metadata_path), "parity_max_abs_diff": export.parity_max_abs_diff,
                   "parity_samples": export.parity_samples, "size_bytes": export.size_bytes,
                   "simple_model": export.simple},
        "config": dataclasses.asdict(config), "command": command,
        "fingerprint": read_fingerprint(run_dir), "versions": package_versions(),
        # O(classes), never O(classes²): the full matrix only up to FULL_CONFUSION_MAX_CLASSES classes.
        "per_class": diagnosis.per_class, **sections.confusion_summary(diagnosis, profile.class_names),
        **deploy_sections.summary_extras(result, diagnosis, measurements),
        **forecast_section.forecast_summary(diagnosis), **anomaly_section.anomaly_summary(diagnosis),
        **multilabel_section.multilabel_summary(diagnosis),
    }
    return _plain(summary)


def _export_context(profile, export, run_dir: Path) -> dict:
    model_dir = sections.relative(export.model_dir, run_dir)
    return {"model_dir": model_dir, "keras_path": sections.relative(export.keras_path, run_dir),
            "metadata_path": sections.relative(export.metadata_path, run_dir),
            "parity": f"{export.parity_max_abs_diff:.2e}", "parity_samples": export.parity_samples,
            "size_mb": f"{export.size_bytes / 1e6:.2f} MB",
            "example": sections.load_example(profile, model_dir, _tokenizer_ops(export.metadata_path))}


def _tokenizer_ops(metadata_path) -> str | None:
    """The package whose ops the SavedModel needs registered (metadata.json's tokenizer_ops), if any."""
    try:
        return json.loads(Path(metadata_path).read_text()).get("tokenizer_ops")
    except (OSError, ValueError, AttributeError):
        return None


def _data_context(profile) -> dict:
    skipped, skipped_more = sections.capped(profile.skipped, sections.MAX_SKIPPED_ROWS)
    return {"facts": profile.facts, "guardrails": sections.guardrail_rows(profile), "skipped": skipped,
            "skipped_more": skipped_more, "columns": sections.column_rows(profile),
            "class_counts": sections.class_count_table(profile), "split_sizes": profile.split_sizes}


def _results_context(profile, plan, result, diagnosis) -> dict:
    best = next((t for t in result.trials if t.trial_id == result.best_trial_id), None)
    per_class, per_class_more = sections.per_class_rows(diagnosis)
    # Past FULL_CONFUSION_MAX_CLASSES classes there is no heatmap: the most frequent confusions are a table.
    heatmap = plots.confusion_heatmap(diagnosis.confusion, profile.class_names)
    return {"leaderboard": sections.leaderboard_rows(result), "objective": result.objective,
            "candidates": sections.candidate_table(result, diagnosis),
            "stopped": sections.stopped_sentence(result, plan), "final_model": sections.ensemble_sentence(result),
            "first_trial": getattr(result, "first_trial_note", ""), "groups": sections.group_rows(diagnosis),
            "search_notes": getattr(result, "search_notes", ()), "devices": getattr(result, "devices", ""),
            "search_time": sections.fmt_seconds(result.seconds),
            "curves": plots.learning_curves(best.history, diagnosis.best_epoch) if best else None,
            "metrics": sections.metrics_table(diagnosis), "confusion": heatmap,
            "confusion_table": None if heatmap else sections.confusion_table(diagnosis, profile.class_names),
            "per_class": per_class, "per_class_more": per_class_more, "gap": sections.gap_text(diagnosis)}


def build_context(run: RunResult, run_dir: Path) -> dict:
    """The template's variables: formatted rows, plots as data URIs, and the reproduce block."""
    with plots.literal_text():  # every figure, the forecast's included, draws user strings as written
        return _context(run, run_dir)


def _context(run: RunResult, run_dir: Path) -> dict:
    config, profile, plan, result, diagnosis, export = (run.config, run.profile, run.plan, run.search,
                                                         run.diagnostics, run.export)
    command, measurements = run.command, run.measurements
    return {
        "dataset": profile.name, "task": diagnosis.task, "family": plan.family, "plan": plan,
        "budget": sections.fmt_budget(plan.time_budget), "headline": sections.headline(diagnosis),
        "diagnosis": diagnosis, "verdict_css": sections.VERDICT_CSS.get(diagnosis.verdict, "unknown"),
        "generated": time.strftime("%Y-%m-%d %H:%M:%S"), "command": command, "seed": config.seed,
        "fingerprint": read_fingerprint(run_dir), "versions": package_versions(),
        "export": _export_context(profile, export, run_dir),
        "simple_export": export.simple.sentence() if getattr(export, "simple", None) else "",
        "is_classification": task_named(diagnosis.task).has_classes,
        **_data_context(profile), **_results_context(profile, plan, result, diagnosis),
        **deploy_sections.deployment_context(result, diagnosis, measurements, run_dir, sections.relative),
        **forecast_section.forecast_context(diagnosis), **anomaly_section.anomaly_context(diagnosis),
        **multilabel_section.multilabel_context(diagnosis),
    }


def render_html(context: dict) -> str:
    """Renders the report template with autoescaping on, so every data string is HTML-escaped."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return environment.get_template(TEMPLATE).render(context)


def write_report(run: RunResult, run_dir: Path | None = None) -> ReportPaths:
    """Writes report.html and summary.json for one finished run, and keeps the run in report_state.json.

    Args:
        run: What the stages returned.
        run_dir: Where to write (default: the run's own directory); paths in the report are shown relative
            to it.

    Returns:
        The paths of the two files written.
    """
    run_dir = Path(run_dir or run.config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(html=run_dir / "report.html", summary=run_dir / "summary.json")
    # Kept first, so `automl report RUN_DIR` can redo this call even if rendering fails.
    save_state(run_dir, run)
    summary = build_summary(run, run_dir)
    write_text_atomic(paths.summary, json.dumps(summary, indent=1, ensure_ascii=False, allow_nan=False))
    write_text_atomic(paths.html, render_html(build_context(run, run_dir)))
    _write_label_issues(run, run_dir)
    return paths


def _write_label_issues(run: RunResult, run_dir: Path) -> None:
    """RUN_DIR/label_issues.csv: every likely label error the check found (none: no file)."""
    rows = deploy_sections.label_issue_rows(run.diagnostics, run.profile.class_names)
    if rows:
        write_text_atomic(run_dir / deploy_sections.LABEL_ISSUES_CSV, pd.DataFrame(rows).to_csv(index=False))


def rewrite_report(run_dir: Path) -> ReportPaths:
    """Writes report.html and summary.json again from RUN_DIR/report_state.json, without retraining.

    Raises:
        DataError: The directory holds no readable report state.
    """
    return write_report(load_state(Path(run_dir)), Path(run_dir))
