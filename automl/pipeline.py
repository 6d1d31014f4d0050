"""The stage list: ingest → profile → select → search → diagnose → export → report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import keras

from automl.config import RunConfig
from automl.diagnostics import Diagnostics, best_epoch_of, diagnose
from automl.evaluate import predict_splits, sample_inputs
from automl.export import ExportResult, export_model
from automl.forecast_diagnostics import diagnose_forecast
from automl.ingest import Dataset, load_dataset
from automl.measure import measure_run
from automl.profiler import Profile, profile_dataset
from automl.progress import NullProgress
from automl.report import ReportPaths, write_report
from automl.rundir import prepare_run_dir, record_run
from automl.search import SearchResult, search_models
from automl.selector import Plan, choose_family

@dataclass(frozen=True)
class RunResult:
    config: RunConfig
    profile: Profile
    plan: Plan
    search: SearchResult
    diagnostics: Diagnostics
    export: ExportResult
    report: ReportPaths
    seconds: float


def plan_run(config: RunConfig) -> tuple[Dataset, Profile, Plan]:
    """Ingest, profile and select only (what `automl plan` shows)."""
    keras.utils.set_random_seed(config.seed)  # the one place the global RNG is touched
    dataset = load_dataset(config)
    profile = profile_dataset(dataset)
    return dataset, profile, choose_family(profile, config)


def run(config: RunConfig, progress=None, command: str = "", started: float | None = None) -> RunResult:
    """Ingest, profile, select, search, diagnose, export and report one dataset.

    Args:
        started: time.monotonic() when the user's command began (the budget counts from there).
    """
    progress = progress or NullProgress()
    start = started or time.monotonic()
    deadline = start + config.time_budget if config.time_budget else None
    config = prepare_run_dir(config)
    progress.stage("ingest", config.data)
    dataset, profile, plan = plan_run(config)
    record_run(config, dataset.fingerprint)
    progress.stage("search", f"{plan.family} family, {plan.tuner} tuner")
    result = search_models(plan, dataset, profile, config, deadline, progress)
    progress.stage("diagnose")
    outputs = predict_splits(result.model, dataset, profile, config.batch_size)
    labels = {name: split.labels for name, split in dataset.splits().items()}
    best_epoch = best_epoch_of(result.best_trial.history, result.objective)
    diagnosis = (diagnose_forecast(dataset.forecast, outputs, best_epoch) if profile.task == "forecast" else
                 diagnose(profile.task, profile.class_names, labels, outputs, profile.target_mean, best_epoch))
    progress.stage("export")
    samples = sample_inputs(dataset, profile, 64)
    export = export_model(result.model, profile, samples, Path(config.run_dir))
    measurements = measure_run(result, dataset, profile, plan, config, outputs["test"], samples, export, deadline)
    progress.stage("report")
    report = write_report(Path(config.run_dir), config, profile, plan, result, diagnosis, export, command,
                          measurements)
    return RunResult(config, profile, plan, result, diagnosis, export, report, time.monotonic() - start)
