"""Search stage: Keras Tuner over the chosen family within trial and wall-clock budgets.

Tuner state lives in RUN_DIR/search so an interrupted run can resume (the interrupted trial from its
last finished epoch, backed up in search/trial_*/backup); the best trial's best epoch (early stopping
restores it) is the model that goes on to diagnosis and export.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import keras
import keras_tuner as kt
import tensorflow as tf

from automl.ensemble import ENSEMBLE_CANDIDATES, EnsembleChoice, average_models, select_members
from automl.errors import ConfigError
from automl.families import FAMILIES
from automl.progress import NullProgress
from automl.ranking import rank_trials
from automl.selector import HYPERBAND_FACTOR
from automl.search_callbacks import (AnnealToBudget, DeadlineStop, ReleaseTrialGraphs, TrialWatcher,
                                     fit_resumably)

TUNER_CLASSES = {"hyperband": kt.Hyperband, "random": kt.RandomSearch, "bayesian": kt.BayesianOptimization}
# Datasets under this size are cached decoded in memory; larger ones in a file in the run directory.
MEMORY_CACHE_BYTES = 2 * 1024**3
SHUFFLE_BUFFER = 10_000
# After the search: predicting every split costs about half an epoch per pass over the data
# (no backward pass), and loading, exporting, timing the SavedModel (automl.measure) and reporting
# take several seconds more (60 s budgets on digits and breast_cancer ended 5 s over with 8 s kept).
INFERENCE_COST_PER_EPOCH = 0.5
FINISH_FIXED_SECONDS = 12.0


@dataclass(frozen=True)
class TrialRecord:
    trial_id: str
    hyperparameters: dict
    score: float | None
    status: str
    epochs: int
    params: int
    seconds: float
    history: dict[str, list[float]]


@dataclass(frozen=True)
class Phase:
    """One phase of a multi-phase search (transfer: head on cached features, then fine-tuning).

    Attributes:
        kept: Whether this phase's model is the one that went on (a fine-tune that does not improve
            validation is discarded).
    """

    name: str
    trials: int
    seconds: float
    val_score: float | None
    kept: bool
    note: str


@dataclass(frozen=True)
class SearchResult:
    """The best model and every trial.

    Attributes:
        objective: The metric trials are ranked by ("val_accuracy" or "val_loss").
        stopped_because: "max_trials", "time_budget" or "search_complete".
    """

    model: keras.Model
    best_trial_id: str
    best_hyperparameters: dict
    trials: tuple[TrialRecord, ...]
    objective: str
    tuner: str
    stopped_because: str
    seconds: float
    ensemble: EnsembleChoice | None = None
    phases: tuple[Phase, ...] = ()

    @property
    def best_trial(self) -> TrialRecord:
        return next(t for t in self.trials if t.trial_id == self.best_trial_id)


def objective_for(task: str) -> kt.Objective:
    return kt.Objective("val_accuracy", "max") if task == "classification" else kt.Objective("val_loss", "min")


def _select_inputs(profile):
    keys = [column.key for column in profile.column_inputs]
    return (lambda x, y: ({k: x[k] for k in keys}, y)) if keys else None


def batched(split, profile, batch_size: int, cache_dir: Path | None, seed: int | None = None) -> tf.data.Dataset:
    """Batches a split for training (shuffled when seed is given) with the model's input columns."""
    data = split.data
    select = _select_inputs(profile)
    if select:
        data = data.map(select)
    if cache_dir is not None:
        shape = profile.image_inputs
        approx = split.size * (shape.height * shape.width * shape.channels if shape else 64)
        cache_dir.mkdir(parents=True, exist_ok=True)
        data = data.cache() if approx < MEMORY_CACHE_BYTES else data.cache(str(cache_dir / "cache"))
    if seed is not None:
        data = data.shuffle(min(split.size, SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


class FamilyHyperModel(kt.HyperModel):
    """Builds the plan's family, with the plan's fixed hyperparameters (e.g. the backbone) in place."""

    def __init__(self, plan, profile):
        super().__init__(name=plan.family)
        self.plan, self.profile = plan, profile

    def build(self, hp):
        for name, value in self.plan.fixed_hyperparameters.items():
            hp.Fixed(name, value)
        return FAMILIES[self.plan.family](hp, self.profile)

    def fit(self, hp, model, *args, **kwargs):
        """Trains a trial, continuing from its last finished epoch when a run was stopped mid-trial."""
        return fit_resumably(model, *args, **kwargs)


def _defaults_first(oracle) -> None:
    """Makes the first trial use the family's default hyperparameters (a known-good configuration);
    Keras Tuner otherwise starts from a random point."""
    sample = oracle._random_values

    def first_defaults():
        if not oracle.trials:
            return {hp.name: hp.default for hp in oracle.hyperparameters.space}
        return sample()
    oracle._random_values = first_defaults


def make_tuner(plan, profile, run_dir: Path, config, hypermodel: kt.HyperModel | None = None) -> kt.Tuner:
    common = dict(hypermodel=hypermodel or FamilyHyperModel(plan, profile), objective=objective_for(plan.task),
                  seed=config.seed, directory=str(run_dir), project_name="search",
                  overwrite=False, max_consecutive_failed_trials=3)
    if plan.tuner == "hyperband":
        tuner = kt.Hyperband(max_epochs=plan.epochs, factor=HYPERBAND_FACTOR, **common)
        tuner.oracle.max_trials = plan.max_trials  # Hyperband has no trial cap of its own
    else:
        tuner = TUNER_CLASSES[plan.tuner](max_trials=plan.max_trials, **common)
    _defaults_first(tuner.oracle)
    return tuner


def training_callbacks(patience: int, deadline: float | None, steps_per_epoch: int) -> list:
    """Early stopping on validation loss (on small validation sets accuracy moves in coarse steps and
    plateaus long before the model stops improving; Keras Tuner separately keeps each trial's best
    epoch by the objective), a learning rate annealed to the trial's epochs or the deadline, and the
    release of the fit's traced graphs when it ends (memory stays flat across trials)."""
    return [keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True),
            AnnealToBudget(deadline, steps_per_epoch), ReleaseTrialGraphs()]


def _epoch_seconds(plan, profile, train: tf.data.Dataset, steps: int) -> float:
    """Times a few training steps of the default model to estimate one epoch."""
    model = FamilyHyperModel(plan, profile).build(kt.HyperParameters())
    batches = list(train.take(3))
    model.train_on_batch(*batches[0])  # compiles; not timed
    start = time.perf_counter()
    for x, y in batches[1:] or batches:
        model.train_on_batch(x, y)
    per_step = (time.perf_counter() - start) / max(len(batches) - 1, 1)
    keras.backend.clear_session()
    return per_step * steps


def search_models(plan, dataset, profile, config, deadline: float | None = None, progress=None) -> SearchResult:
    """Runs the tuner and returns the best model and every trial.

    Args:
        deadline: time.monotonic() value by which the whole run must end (None: no limit); the search
            stops early enough to leave time for diagnosis, export and the report.
        progress: Receives search events (see automl.progress.NullProgress).

    Raises:
        ConfigError: The time budget is shorter than one epoch of the default model.
    """
    if plan.family == "transfer" and config.cache_features:
        from automl.transfer_search import search_transfer

        return search_transfer(plan, dataset, profile, config, deadline, progress)
    progress = progress or NullProgress()
    run_dir = Path(config.run_dir)
    start = time.monotonic()
    train = batched(dataset.train, profile, config.batch_size, run_dir / "cache" / "train", seed=config.seed)
    val = batched(dataset.val, profile, config.batch_size, run_dir / "cache" / "val")
    steps = -(-dataset.train.size // config.batch_size)
    epoch_estimate = _epoch_seconds(plan, profile, train, steps)
    total_size = sum(split.size for split in dataset.splits().values())
    evaluation = epoch_estimate * INFERENCE_COST_PER_EPOCH * total_size / dataset.train.size
    search_deadline = search_deadline_for(deadline, start, epoch_estimate, evaluation)
    tuner = make_tuner(plan, profile, run_dir, config)
    objective = tuner.oracle.objective.name
    watcher = TrialWatcher(tuner, run_dir / "trial_log.json", progress, plan.epochs)
    stopper = DeadlineStop(tuner, search_deadline)
    progress.search_started(plan.max_trials, search_deadline, epoch_estimate)
    tuner.search(train, validation_data=val, epochs=plan.epochs, verbose=0,
                 class_weight=profile.class_weight,
                 callbacks=[*training_callbacks(config.patience, search_deadline, steps), stopper, watcher])
    trials = trial_records(tuner, watcher, stopper.cut_trial)
    ranked = rank_trials(trials, objective)
    if not ranked:
        raise RuntimeError("The search finished no trial; see the tuner log in " + str(run_dir / "search"))
    best = tuner.oracle.get_trial(ranked[0].trial_id)
    model, ensemble = _final_model(tuner, ranked, val, dataset.val.labels, plan.task,
                                   _affordable_members(deadline, evaluation))
    stopped = ("time_budget" if stopper.fired else
               "max_trials" if len(tuner.oracle.trials) >= plan.max_trials else "search_complete")
    return SearchResult(model=model, best_trial_id=best.trial_id, best_hyperparameters=public_values(best),
                        trials=trials, objective=objective, tuner=plan.tuner, stopped_because=stopped,
                        seconds=time.monotonic() - start, ensemble=ensemble)


def search_deadline_for(deadline: float | None, start: float, epoch_seconds: float, evaluation: float):
    """The search's own deadline: the run's, less time for evaluation, export and the report.

    Raises:
        ConfigError: Not even one epoch of the default model fits.
    """
    if deadline is None:
        return None
    search_deadline = deadline - FINISH_FIXED_SECONDS - evaluation
    if start + epoch_seconds > search_deadline:
        raise ConfigError(
            f"The time budget leaves {max(search_deadline - start, 0):.0f}s for the search (after time kept for "
            f"evaluation and export), but one epoch of the default model takes about {epoch_seconds:.0f}s here. "
            f"Give a larger --time-budget (at least {epoch_seconds * 2 + evaluation + 30:.0f}s) or less data.")
    return search_deadline


def _affordable_members(run_deadline: float | None, evaluation_seconds: float) -> int:
    """How many models the final evaluation can run in the time left (each costs one evaluation)."""
    if run_deadline is None:
        return ENSEMBLE_CANDIDATES
    left = run_deadline - time.monotonic() - FINISH_FIXED_SECONDS
    return int(max(1, min(ENSEMBLE_CANDIDATES, left // max(evaluation_seconds, 1e-3))))


def _final_model(tuner, ranked, val, val_labels, task: str, max_members: int):
    """The best trial's model, or the average of the best trials when that lowers validation loss."""
    candidates = [t for t in ranked if t.status != "CUT_AT_DEADLINE"][:ENSEMBLE_CANDIDATES]
    best = tuner.load_model(tuner.oracle.get_trial(ranked[0].trial_id))
    if max_members < 2 or len(candidates) < 2 or candidates[0].trial_id != ranked[0].trial_id:
        return best, None
    models = {ranked[0].trial_id: best}
    models.update({t.trial_id: tuner.load_model(tuner.oracle.get_trial(t.trial_id)) for t in candidates[1:]})
    outputs = {trial_id: model.predict(val, verbose=0) for trial_id, model in models.items()}
    choice = select_members(task, val_labels, outputs, max_members)
    if len(choice.members) < 2:
        return best, choice
    return average_models({trial_id: models[trial_id] for trial_id in choice.members}), choice


def public_values(trial) -> dict:
    return {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}


def trial_records(tuner, watcher: TrialWatcher, cut_trial: str | None) -> tuple[TrialRecord, ...]:
    """One record per trial; the trial the deadline interrupted is marked, not passed off as finished."""
    records = []
    seconds, histories, params = watcher.seconds(), watcher.histories(), watcher.param_counts()
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        history = histories.get(trial_id, {})
        records.append(TrialRecord(
            trial_id=trial_id, hyperparameters=public_values(trial),
            score=None if trial.score is None else float(trial.score),
            status="CUT_AT_DEADLINE" if trial_id == cut_trial else str(trial.status),
            epochs=max((len(v) for v in history.values()), default=0), params=int(params.get(trial_id, 0)),
            seconds=round(seconds.get(trial_id, 0.0), 2), history=history))
    return tuple(records)
