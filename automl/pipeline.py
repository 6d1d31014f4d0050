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
from automl.ingest import Dataset, load_dataset
from automl.profiler import Profile, profile_dataset
from automl.progress import NullProgress
from automl.report import ReportPaths, write_report
from automl.rundir import prepare_run_dir, record_run
from automl.search import SearchResult, search_models
from automl.selector import Plan, choose_family

# Share of the time budget kept for evaluation, export and the report after the search stops.
FINISH_RESERVE_FRACTION = 0.12


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


def run(config: RunConfig, progress=None, command: str = "") -> RunResult:
    """Ingest, profile, select, search, diagnose, export and report one dataset."""
    progress = progress or NullProgress()
    start = time.monotonic()
    deadline = start + config.time_budget * (1 - FINISH_RESERVE_FRACTION) if config.time_budget else None
    config = prepare_run_dir(config)
    progress.stage("ingest", config.data)
    dataset, profile, plan = plan_run(config)
    record_run(config, dataset.fingerprint)
    progress.stage("search", f"{plan.family} family, {plan.tuner} tuner")
    result = search_models(plan, dataset, profile, config, deadline, progress)
    progress.stage("diagnose")
    outputs = predict_splits(result.model, dataset, profile, config.batch_size)
    labels = {name: split.labels for name, split in dataset.splits().items()}
    diagnosis = diagnose(profile.task, profile.class_names, labels, outputs, profile.target_mean,
                         best_epoch_of(result.best_trial.history, result.objective))
    progress.stage("export")
    export = export_model(result.model, profile, sample_inputs(dataset, profile, 64), Path(config.run_dir))
    progress.stage("report")
    report = write_report(Path(config.run_dir), config, profile, plan, result, diagnosis, export, command)
    return RunResult(config, profile, plan, result, diagnosis, export, report, time.monotonic() - start)
