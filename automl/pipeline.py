"""The stage list: ingest → profile → select → search → diagnose → export → report."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import keras

from automl.config import RunConfig
from automl.diagnose import diagnose
from automl.errors import ConfigError, DataError
from automl.export import (PARITY_SAMPLES, SAMPLES_FILE, FormatExport, add_formats, export_model, load_samples,
                           measure_run, write_drift_reference)
from automl.files import write_text_atomic
from automl.ingest import Dataset, load_dataset
from automl.modalities.batching import sample_inputs
from automl.profile import Profile, profile_dataset
from automl.progress import NullProgress
from automl.report import RunResult, load_state, write_report
from automl.rundir import (discard_if_unused, holding_run_dir, prepare_run_dir, read_record, record_run,
                           recorded_config, release_run_dir)
from automl.search import connect_to_chief, reset_precision, search_as_worker, search_models, size_thread_pools
from automl.select import Plan, choose_family

__all__ = ["run", "plan_run", "export_more", "work_for_chief", "reproduce", "Reproduction", "RunResult"]


def plan_run(config: RunConfig) -> tuple[Dataset, Profile, Plan]:
    """Ingest, profile and select only (what `automl plan` shows)."""
    keras.utils.set_random_seed(config.seed)  # the one place the global RNG is touched
    dataset = load_dataset(config)
    if config.group_column is not None and dataset.groups is None:
        raise ConfigError(f"--group-column {config.group_column!r} is for tables and image folders (with "
                          f"--group-file); {config.data} was read as {dataset.modality} data. Leave it out.")
    profile = profile_dataset(dataset)
    return dataset, profile, choose_family(profile, config, dataset)


def run(config: RunConfig, progress=None, command: str = "", started: float | None = None) -> RunResult:
    """Ingest, profile, select, search, diagnose, export and report one dataset.

    Args:
        progress: Receives stage and search events (see automl.progress.NullProgress).
        command: The command line that started the run, for the report's reproduce block.
        started: time.monotonic() when the user's command began (the budget counts from there).
    """
    progress, start = progress or NullProgress(), started or time.monotonic()
    existed = bool(config.run_dir) and Path(config.run_dir).exists()
    config = prepare_run_dir(config)  # locks the run directory until the run ends
    try:
        result = _stages(config, progress, command, start + config.time_budget if config.time_budget else None)
    except Exception:
        if not existed:  # an interrupt keeps its folder: the resume command printed for it needs it
            discard_if_unused(Path(config.run_dir))
        raise
    finally:
        release_run_dir(config.run_dir)
        reset_precision()  # a GPU search may have set mixed precision: the caller's process gets float32 back
    return dataclasses.replace(result, seconds=time.monotonic() - start)


@dataclasses.dataclass(frozen=True)
class Reproduction:
    """A run done again: the new run, and the original's and the new test metrics side by side."""

    original: Path
    result: RunResult
    before: dict
    after: dict


def reproduce(run_dir: Path, output: Path | None = None, progress=None, command: str = "") -> Reproduction:
    """`automl reproduce RUN_DIR`: the same data, settings and seed as RUN_DIR's run (its run.json), in a new run
    directory, after checking that the data is the same (its fingerprint); the original is left untouched.

    Raises:
        DataError: RUN_DIR has no record of its settings, or the data changed since.
    """
    run_dir = Path(run_dir)
    original = recorded_config(run_dir)  # refuses a missing or unreadable record
    record = read_record(run_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = Path(output) if output else Path(f"{run_dir.as_posix().rstrip('/')}-reproduced-{stamp}")
    config = dataclasses.replace(original, run_dir=str(target), resume=False, overwrite=False)
    fingerprint = load_dataset(dataclasses.replace(config, run_dir=None)).fingerprint  # nothing written in target
    if fingerprint != record.get("fingerprint"):
        raise DataError(f"The data changed since the run in '{run_dir}' (fingerprint {record.get('fingerprint')} → "
                        f"{fingerprint}), so its results cannot be reproduced. Restore the data, or start a new run.")
    before = _test_metrics(run_dir)
    result = run(config, progress, command=command)
    after = result.diagnostics.metrics["test"]
    write_text_atomic(target / "reproduction.json", json.dumps(
        {"original": str(run_dir), "fingerprint": fingerprint, "before": before, "after": after}, indent=1))
    return Reproduction(run_dir, result, before, after)


def _test_metrics(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "summary.json").read_text())["metrics"]["test"]
    except (OSError, ValueError, KeyError):  # a run stopped before its report: nothing to compare with
        return {}


def work_for_chief(run_dir: Path, chief: str, worker_id: str | None = None) -> int:
    """`automl worker`: joins the search of an `automl run --workers N` (search.distributed) with the data and
    settings of its record (RUN_DIR/run.json); returns how many trials this process trained.

    Raises:
        ConfigError: No chief answers at chief ("host:port").
        DataError: RUN_DIR has no readable run record.
    """
    worker_id = connect_to_chief(chief, worker_id)
    size_thread_pools()
    config = recorded_config(Path(run_dir))
    dataset, profile, plan = plan_run(config)
    try:
        return search_as_worker(plan, dataset, profile, config, worker_id)
    finally:
        reset_precision()


def _stages(config: RunConfig, progress, command: str, deadline: float | None) -> RunResult:
    progress.stage("ingest", config.data)
    dataset, profile, plan = plan_run(config)
    _announce_fixes(dataset, progress)
    record_run(config, dataset.fingerprint)
    progress.stage("search", f"{plan.family} family, {plan.tuner} tuner")
    search = search_models(plan, dataset, profile, config, deadline, progress)
    progress.stage("diagnose")
    diagnosis = diagnose(search, dataset, profile, config.batch_size)
    if diagnosis.thresholds:  # multi-label: the thresholds tuned on validation go into the SavedModel
        profile = dataclasses.replace(profile, label_thresholds=diagnosis.thresholds)
    if search.anomaly_threshold is not None:  # anomaly detection: the threshold goes into the SavedModel
        profile = dataclasses.replace(profile, anomaly_threshold=search.anomaly_threshold.value)
    progress.stage("export")
    samples = sample_inputs(dataset, profile, PARITY_SAMPLES)
    chosen = search.leaderboard.chosen if search.leaderboard is not None else ""
    export = export_model(search.model, profile, samples, Path(config.run_dir), chosen)
    write_drift_reference(dataset, profile, export.model_dir, json.loads(export.metadata_path.read_text()))
    measurements = measure_run(search, profile, plan, config, samples, export, deadline)
    result = RunResult(config, profile, plan, search, diagnosis, export, measurements, command)
    progress.stage("report")
    return dataclasses.replace(result, report=write_report(result))


def _announce_fixes(dataset: Dataset, progress) -> None:
    """What ingest fixed or skipped is said as it happens, not only in the report."""
    for note in dataset.notes:
        progress.note(note)
    if dataset.skipped:
        reasons = sorted({s.reason.split(":")[0].split("(")[0].strip() for s in dataset.skipped})
        progress.note(f"Skipped {len(dataset.skipped)} file(s) ({'; '.join(reasons[:3])}"
                      f"{'; …' if len(reasons) > 3 else ''}): each is listed in the report.")


def export_more(run_dir: Path, group: str) -> tuple[FormatExport, ...]:
    """`automl export`: converts a finished run's model.keras to more formats (export.FORMAT_GROUPS), checks
    each on the kept held-out samples, and writes the report again with them. Holds the run directory's lock.

    Raises:
        DataError: RUN_DIR is not a finished run (no model.keras, kept samples or report state), or one of
            them is damaged, or model.keras holds code Keras's safe mode refuses to load.
        ConfigError: Another process (a run) is writing to RUN_DIR.
    """
    run_dir = Path(run_dir)
    missing = [name for name in ("model.keras", SAMPLES_FILE) if not (run_dir / name).is_file()]
    if missing:
        raise DataError(f"'{run_dir}' has no {' or '.join(missing)}. Expected the directory of a run finished "
                        "by `automl run`.")
    with holding_run_dir(run_dir, "export"):
        result = load_state(run_dir)
        model = _load_keras_model(run_dir / "model.keras")
        try:
            samples = load_samples(run_dir)
        except Exception as error:  # numpy's many kinds: a cut zip, a missing member, a pickled array
            raise DataError(f"'{run_dir / SAMPLES_FILE}' is damaged ({type(error).__name__}: {error}), so the "
                            "converted formats cannot be checked. Run `automl run` again to rebuild it.") from None
        measurements, added = add_formats(model, samples, result.measurements, run_dir, group)
        write_report(dataclasses.replace(result, measurements=measurements), run_dir)
    return added


def _load_keras_model(path: Path) -> keras.Model:
    """model.keras in safe mode (never runs code stored in the file), every failure one DataError."""
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:  # Keras raises ValueError, TypeError, zipfile's and h5py's errors alike
        reason = str(error).strip().splitlines()[0].rstrip(".") if str(error).strip() else type(error).__name__
        if "safe_mode" in str(error) or "Lambda" in str(error):
            raise DataError(f"'{path}' holds code (a Lambda layer or a function) that Keras's safe mode refuses to "
                            "load, and automl never runs code from a model file. automl's own runs never write "
                            "such a layer: run `automl run` again to rebuild this run.") from None
        raise DataError(f"'{path}' is damaged and cannot be loaded ({reason[:300]}). Run `automl run` again to "
                        "rebuild it (the SavedModel in model/ is separate and may still work with `automl predict`)."
                        ) from None
