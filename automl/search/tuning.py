"""Search stage: Keras Tuner over the chosen family within trial and wall-clock budgets.

Tuner state lives in RUN_DIR/search so an interrupted run can resume (the interrupted trial from its
last finished epoch, backed up in search/trial_*/backup); the best trial's best epoch (early stopping
restores it) is the model that goes on to diagnosis and export.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from automl.modalities.anomaly import anomaly_threshold
from automl.modalities.batching import batched
from automl.modalities.tasks import balanced_accuracy
from automl.progress import NullProgress
from automl.search._compat import trial_count
from automl.search.callbacks import DeadlineStop, TrialWatcher, merge_trial_logs
from automl.search.crossval import CROSS_VALIDATION_SHARE, cross_validate, pooled
from automl.search.devices import distribution_strategy, setup_devices
from automl.search.distributed import search_with_workers
from automl.search.candidates import (choose_on_folds, choose_on_validation, fit_simple_models, simple_candidates,
                                      trial_candidates)
from automl.search.ensemble import ENSEMBLE_CANDIDATES
from automl.search.leaderboard import score
from automl.search.out_of_memory import halving_notes
from automl.search.ranking import rank_trials, rerank_by_balanced_accuracy
from automl.search.result import SearchResult
from automl.search.simple import label_check_of, simple_fitters
from automl.search.image_views import views_candidate, view_count
from automl.search.text_encoder import search_text_encoder
from automl.search.transfer import search_transfer
from automl.search.tuner import (INFERENCE_COST_PER_EPOCH, MIN_FIRST_TRIAL_EPOCHS, epoch_seconds, finish_seconds,
                                 make_tuner, model_inputs, predicted_examples, public_values, search_deadline_for,
                                 smallest_values, trial_records, training_callbacks)
from automl.select import wants_cross_validation


def search_models(plan, dataset, profile, config, deadline: float | None = None, progress=None) -> SearchResult:
    """Runs the tuner and returns the best model and every trial.

    Args:
        deadline: time.monotonic() value by which the whole run must end (None: no limit); the search
            stops early enough to leave time for diagnosis, export and the report.
        progress: Receives search events (see automl.progress.NullProgress).

    Raises:
        ConfigError: The time budget is shorter than one epoch of the default model.
    """
    progress = progress or NullProgress()
    if plan.batch_size:  # the selector's size for this family and data (select._image_batch_size)
        config = dataclasses.replace(config, batch_size=plan.batch_size)
    devices = setup_devices(config.precision)
    if devices.gpus:
        progress.note(f"Training on {devices.describe()}.")
    if plan.family == "transfer" and config.cache_features:
        if config.workers > 1:
            progress.note("The transfer family searches its head on features computed once, in this process: "
                          "--workers applies to the other families.")
        result = search_transfer(plan, dataset, profile, config, deadline, progress)
        return dataclasses.replace(result, devices=devices.describe())
    if plan.family == "text_encoder":
        if config.workers > 1:
            progress.note("The text encoder is fine-tuned in this process: --workers applies to the other families.")
        result = search_text_encoder(plan, dataset, profile, config, deadline, progress)
        return dataclasses.replace(result, devices=devices.describe())
    run_dir = Path(config.run_dir)
    start = time.monotonic()
    train = batched(dataset.train, profile, config.batch_size, run_dir / "cache" / "train", seed=config.seed)
    val = batched(dataset.val, profile, config.batch_size, run_dir / "cache" / "val")
    steps = -(-dataset.train.size // config.batch_size)
    epoch_estimate, setup = epoch_seconds(plan, profile, train, steps)
    total_size = predicted_examples(dataset, plan.task)
    evaluation = epoch_estimate * INFERENCE_COST_PER_EPOCH * total_size / dataset.train.size
    inputs = model_inputs(profile)
    search_deadline = search_deadline_for(deadline, time.monotonic(), epoch_estimate, evaluation, setup, inputs)
    cross_validating = wants_cross_validation(profile.split_sizes, plan.family, plan.task, config.cross_validation)
    # Validation that holds out whole speakers ranks what carries to new voices, but a model trained without them
    # heard fewer voices: the best trial is refit on train + validation (FSDD, 4 against 5 speakers: ~10 points).
    refit_on_all = not cross_validating and refits_on_all_speakers(profile)
    trials_deadline = search_deadline
    if (cross_validating or refit_on_all) and search_deadline is not None:  # folds and refit get a share
        trials_deadline = search_deadline - CROSS_VALIDATION_SHARE * (search_deadline - time.monotonic())
    # The strong simple models first, inside the search's window (a budget too short was refused above): they
    # are on the leaderboard before any trial, and the label check uses the best of them.
    fitters = (simple_fitters(dataset, profile, _speech_embedding(config, profile))
               if _window(trials_deadline) > MIN_SIMPLE_MODELS_WINDOW else {})
    simple_fits = fit_simple_models(fitters, dataset.train, progress)
    simple_rows = simple_candidates(simple_fits, dataset.val, profile)
    label_check = _label_check(simple_fits, simple_rows, dataset, plan)
    first_values, sizing = _first_trial_sized(plan, profile, train, steps, epoch_estimate, trials_deadline)
    tuner = make_tuner(plan, profile, run_dir, config, first_values=first_values, strategy=distribution_strategy(devices))
    objective = tuner.oracle.objective.name
    progress.search_started(plan.max_trials, trials_deadline, epoch_estimate)
    if sizing:
        progress.note(sizing)
    if config.workers > 1:
        outcome = search_with_workers(tuner, config, trials_deadline, setup, progress, len(devices.gpus))
        watcher = TrialWatcher(tuner, merge_trial_logs(run_dir), progress, plan.epochs)
        fired, cut, notes = outcome.fired, watcher.cut_trials(), outcome.notes
    else:
        watcher = TrialWatcher(tuner, run_dir / "trial_log.json", progress, plan.epochs)
        stopper = DeadlineStop(tuner, trials_deadline, setup)
        tuner.search(train, validation_data=val, epochs=plan.epochs, verbose=0,
                     class_weight=profile.class_weight,
                     callbacks=[*training_callbacks(config.patience, trials_deadline, steps), stopper, watcher])
        fired, cut, notes = stopper.fired, {stopper.cut_trial} - {None}, []
    trials = trial_records(tuner, watcher, cut)
    ranked = rank_trials(trials, objective)
    if not ranked:
        raise RuntimeError("The search finished no trial; see the tuner log in " + str(run_dir / "search"))
    trial_models = _TrialModels(tuner, val)
    if _ranks_by_balanced_accuracy(plan, profile, dataset) and not cross_validating:
        ranked, note = _rerank_balanced(trial_models, ranked, dataset.val.labels, profile.imbalance_ratio)
        notes = [*notes, note]
    # Before the best trial's refit, which then takes the time that is left.
    simple_refits, note = (_simple_models_refit_on_all(simple_fits, fitters, dataset, progress)
                           if refit_on_all and simple_fits else ({}, ""))
    notes = [*notes, note] if note else notes
    folded = _cross_validated(tuner, ranked, dataset, profile, config, search_deadline, setup, epoch_estimate,
                              refit_only=refit_on_all) if cross_validating or refit_on_all else None
    cross_validation = folded.record if folded is not None else None
    best = tuner.oracle.get_trial(cross_validation.chosen if folded is not None else ranked[0].trial_id)
    if plan.task == "anomaly":  # one autoencoder: its threshold is a quantile of that model's own errors
        board, model = None, trial_models.model(ranked[0].trial_id)
    elif folded is not None and folded.folds:
        board = choose_on_folds(folded, trials, fitters, profile, config, plan, progress)
        model = board.models[board.chosen]
    else:
        members = _affordable_members(deadline, evaluation, inputs)
        candidates = [*trial_candidates(trial_models, ranked, members), *simple_rows]
        if folded is not None:  # the best trial was refit on train + validation alone: that refit is what ships
            candidates = [dataclasses.replace(c, model=folded.model) if c.name == f"trial {best.trial_id}" else c
                          for c in candidates]
            # The other trials heard fewer voices than the refit: alone or averaged in, they would be judged on
            # validation outputs like the refit's (before it) and ship without the validation speakers (FSDD, lucas
            # held out: trial 01 as trained shipped, 80.8 %, against the refit of trial 00).
            if refit_on_all:
                candidates = [c for c in candidates if c.kind != "trial" or c.name == f"trial {best.trial_id}"]
        candidates = [dataclasses.replace(c, model=simple_refits[c.name]) if c.name in simple_refits else c
                      for c in candidates]
        candidates += _image_view_rows(plan, profile, dataset, trial_models, ranked, deadline, inputs)
        board = choose_on_validation(candidates, dataset.val.labels, profile, config, plan, members + len(simple_rows))
        model = board.models[board.chosen]
    threshold = (anomaly_threshold(model.predict(val, verbose=0), dataset.val.labels, config.anomaly_quantile)
                 if plan.task == "anomaly" else None)
    stopped = ("time_budget" if fired else
               "max_trials" if trial_count(tuner) >= plan.max_trials else "search_complete")
    return SearchResult(model=model, best_trial_id=best.trial_id, best_hyperparameters=public_values(best),
                        trials=trials, objective=objective, tuner=plan.tuner, stopped_because=stopped,
                        seconds=time.monotonic() - start, cross_validation=cross_validation, leaderboard=board,
                        first_trial_note=sizing, label_check=label_check, devices=devices.describe(),
                        search_notes=(*notes, *halving_notes(run_dir / "search")), anomaly_threshold=threshold)


def _speech_embedding(config, profile) -> Path | None:
    """The pretrained speech embedding's folder for audio (None elsewhere, or where none is installed)."""
    if profile.modality != "audio":
        return None
    from automl.families.speech_embedding import find_speech_embedding

    return find_speech_embedding(config.audio_encoder)


def _simple_models_refit_on_all(fits, fitters: dict, dataset, progress) -> tuple[dict, str]:
    """Where validation holds out speakers, each simple model is refit on train + validation (seconds), as the
    best trial is, so that what ships heard every training speaker: name → refit model, and the sentence saying
    so. Their leaderboard rows keep the validation outputs of the fits on train alone (like with like)."""
    pool = pooled(dataset)
    refit = {}
    for fit in fits:
        fitted = fitters[fit.name](pool)
        if fitted is not None:
            refit[fit.name] = fitted.model
    if not refit:
        return {}, ""
    names = ", ".join(refit)
    progress.note(f"Simple models refit on train + validation ({pool.size} examples), to hear every speaker: {names}.")
    return refit, (f"Validation holds out whole speakers, so the simple models ({names}) were refit on train + "
                   f"validation ({pool.size} examples) for what ships; their leaderboard rows score the fits on train "
                   "alone.")


def refits_on_all_speakers(profile) -> bool:
    """Whether validation held out whole speakers (audio with speakers in its file names or a --group-file)."""
    return bool(getattr(getattr(profile, "audio_inputs", None), "unheard_speakers", False))


def _cross_validated(tuner, ranked, dataset, profile, config, deadline, setup: float, epoch_estimate: float,
                     refit_only: bool = False):
    """crossval.cross_validate with its cost per fold fit: a build, and the best trial's epochs plus
    the patience on the larger fold data, at the trials' measured seconds an epoch where they are
    known (the first-epoch estimate includes tracing: 1 s against a measured 0.24 s for MiniRocket on
    GunPoint, which made every fold look unaffordable)."""
    pool_share = (dataset.train.size + dataset.val.size) / dataset.train.size
    measured = [t.seconds / t.epochs for t in ranked if t.epochs > 0 and t.seconds > 0]
    per_epoch = min(epoch_estimate, float(np.median(measured))) if measured else epoch_estimate
    fit_seconds = setup + (ranked[0].epochs + config.patience) * per_epoch * pool_share
    return cross_validate(tuner, ranked, dataset, profile, config, tuner.hypermodel.plan.task, deadline, fit_seconds,
                          refit_only, epoch_seconds=per_epoch)


# Simple models take seconds on tables and series of benchmark size; below this window they would take
# a noticeable share of it.
MIN_SIMPLE_MODELS_WINDOW = 20.0


def _label_check(fits, rows, dataset, plan):
    """Likely label errors by the simple model best on validation (classification only)."""
    if plan.task != "classification" or not fits:
        return None
    order = sorted(range(len(fits)), key=lambda i: -score("accuracy", plan.task, dataset.val.labels, rows[i].outputs))
    return label_check_of([fits[i] for i in order], dataset.train.labels)


def _window(deadline: float | None) -> float:
    return float("inf") if deadline is None else deadline - time.monotonic()


def _first_trial_sized(plan, profile, train, steps: int, epoch_estimate: float, trials_deadline: float | None):
    """The first trial's size: the family's defaults, or their smallest configuration when the default
    model would train fewer than MIN_FIRST_TRIAL_EPOCHS epochs before the deadline (a 3-epoch model
    is an unfinished one). Returns (values in place of the defaults, a sentence for the plan or "")."""
    if trials_deadline is None:
        return {}, ""
    window = trials_deadline - time.monotonic()
    if epoch_estimate * MIN_FIRST_TRIAL_EPOCHS <= window:
        return {}, ""
    small = smallest_values(plan, profile)
    if not small:
        return {}, ""
    small_epoch, _ = epoch_seconds(plan, profile, train, steps, small)
    if small_epoch > 0.8 * epoch_estimate:  # not cheaper enough to be worth a weaker model
        return {}, ""
    values = ", ".join(f"{name} {value}" for name, value in small.items())
    return small, (f"One epoch of the default {plan.family} takes about {epoch_estimate:.0f}s, so about "
                   f"{max(window, 0) / epoch_estimate:.0f} would fit the {max(window, 0):.0f}s left for trials: the first "
                   f"trial is its smallest configuration ({values}; about {small_epoch:.0f}s an epoch).")


# Re-ranking loads and runs the top trials on validation once more: skipped past this many validation
# examples, where it would cost minutes (the objective's ranking stands there, and the report says so).
RERANK_MAX_VALIDATION = 20_000


def _ranks_by_balanced_accuracy(plan, profile, dataset) -> bool:
    """Imbalanced classes (class weights were applied: automl.profile.IMBALANCE_RATIO_FOR_WEIGHTS): accuracy
    would reward a model that predicts the large classes, so the top trials are re-ranked by balanced accuracy."""
    return (plan.task == "classification" and bool(profile.class_weight)
            and 0 < dataset.val.size <= RERANK_MAX_VALIDATION)


def _rerank_balanced(trial_models: _TrialModels, ranked, val_labels, ratio: float):
    """The top finished trials re-ranked by validation balanced accuracy, and a sentence for the report.
    Balanced accuracy, not macro F1: it is the mean of per-class recalls, so it reads as accuracy with every
    class equally frequent, and always predicting one class scores exactly 1 / classes."""
    candidates = [t for t in ranked if t.status != "CUT_AT_DEADLINE"][:ENSEMBLE_CANDIDATES]
    if not candidates:
        return ranked, "Classes are imbalanced, but no trial finished, so none was re-ranked by balanced accuracy."
    balanced = {}
    for trial in candidates:
        balanced[trial.trial_id] = balanced_accuracy(val_labels, trial_models.outputs(trial.trial_id).argmax(axis=1))
    reranked = rerank_by_balanced_accuracy(ranked, balanced)
    first, was = reranked[0].trial_id, ranked[0].trial_id
    change = (f"trial {first} (balanced accuracy {balanced[first]:.1%}) comes first instead of trial {was} "
              f"({balanced.get(was, float('nan')):.1%})" if first != was else
              f"trial {first} stays first (balanced accuracy {balanced[first]:.1%})")
    return reranked, (f"Classes are imbalanced ({ratio:.1f}:1), so the top {len(balanced)} trials by validation "
                      f"accuracy were re-ranked by validation balanced accuracy: {change}.")


# Reloading a trial's model for the ensemble: one with 3,000 table columns took 9 s.
MEMBER_LOAD_SECONDS_PER_INPUT = 0.003


def _affordable_members(run_deadline: float | None, evaluation_seconds: float, inputs: int) -> int:
    """How many models the final evaluation can run in the time left (each costs one evaluation, and a
    load that grows with the model's inputs)."""
    if run_deadline is None:
        return ENSEMBLE_CANDIDATES
    left = run_deadline - time.monotonic() - finish_seconds(0.0, inputs)
    member = evaluation_seconds + MEMBER_LOAD_SECONDS_PER_INPUT * inputs
    return int(max(1, min(ENSEMBLE_CANDIDATES, left // max(member, 1e-3))))


def _image_view_rows(plan, profile, dataset, trial_models, ranked, deadline, inputs: int) -> list:
    """The best trial averaged over test-time views (search.image_views), for images the CNN classifies, when its
    views of validation now, and of every split in diagnosis if it ships, fit the time left (a view costs what
    the trial's own validation pass cost, per image)."""
    if profile.modality != "image" or plan.task != "classification" or plan.family != "cnn" or not ranked:
        return []
    best = ranked[0]
    trial_models.outputs(best.trial_id)
    mirror = bool(best.hyperparameters.get("flip"))
    per_image = trial_models.seconds[best.trial_id] / max(dataset.val.size, 1)
    total = sum(split.size for split in dataset.splits().values())
    cost = per_image * view_count(mirror) * (dataset.val.size + total)
    if deadline is not None and time.monotonic() + cost + finish_seconds(0.0, inputs) > deadline:
        return []
    trial = trial_candidates(trial_models, [best], 1)[0]
    return [views_candidate(trial, trial_models.val, mirror)]


class _TrialModels:
    """The trials' saved models and their validation outputs, each loaded and predicted once (the re-ranking by
    balanced accuracy and the ensemble choice look at the same top trials), and the seconds each prediction took."""

    def __init__(self, tuner, val):
        self.tuner, self.val, self._models, self._outputs, self.seconds = tuner, val, {}, {}, {}

    def model(self, trial_id: str):
        if trial_id not in self._models:
            self._models[trial_id] = self.tuner.load_model(self.tuner.oracle.get_trial(trial_id))
        return self._models[trial_id]

    def outputs(self, trial_id: str):
        if trial_id not in self._outputs:
            model, start = self.model(trial_id), time.perf_counter()
            self._outputs[trial_id] = model.predict(self.val, verbose=0)
            self.seconds[trial_id] = time.perf_counter() - start
        return self._outputs[trial_id]
