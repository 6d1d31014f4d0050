"""Search stage, the Keras Tuner side: the hypermodel of a family, the tuner, the callbacks every trial
trains with, the search's own deadline, and the trial records read back from the oracle."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import keras_tuner as kt
import tensorflow as tf

from automl.errors import ConfigError
from automl.families import FAMILIES
from automl.modalities import task_named
from automl.search._compat import SharedAcrossTrials, all_trials, defaults_first, set_trial_cap, stop_new_trials
from automl.search.callbacks import AnnealToBudget, ReleaseTrialGraphs, TrialWatcher, fit_resumably
from automl.search.result import TrialRecord
from automl.select import HYPERBAND_FACTOR

TUNER_CLASSES = {"hyperband": kt.Hyperband, "random": kt.RandomSearch, "bayesian": kt.BayesianOptimization}
# After the search: predicting every split costs about half an epoch per pass over the data
# (no backward pass), and loading, exporting, timing the SavedModel (automl.export.measure) and reporting
# take several seconds more (60 s budgets on digits and breast_cancer ended 5 s over with 8 s kept).
INFERENCE_COST_PER_EPOCH = 0.5
FINISH_FIXED_SECONDS = 12.0
# A model's setup — building (and compiling) it and tracing its first training step — is a fixed cost no
# deadline check can interrupt, and it grows with the model's graph: a table's MLP has one input and one
# Normalization or StringLookup per column, so 300, 1,000 and 3,000 columns took 5.6 s, 22.5 s and about
# 100 s (60 rows, 2 shared CPU cores) while an epoch took well under a second. After the search it is paid
# again, about SETUPS_AFTER_SEARCH times: the final model is rebuilt from its checkpoint, its predict step
# traced, the SavedModel's serving function traced and saved, and the SavedModel loaded back for parity and
# for latency. Those steps took 3.4× (300 columns: export alone 19.6 s) and 4.2× (1,000 columns: export
# 76 s) the setup, plus FINISH_FIXED_SECONDS' share; for small models FINISH_FIXED_SECONDS covers them.
SETUPS_AFTER_SEARCH = 5.0
# Before the search's first epoch ends: the tuner builds the model once to read its search space, and the
# first trial builds it again and traces its training and its validation step.
SETUPS_BEFORE_FIRST_EPOCH = 1.5

def objective_for(task: str) -> kt.Objective:
    task = task_named(task)
    return kt.Objective(task.objective, task.direction)

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


def make_tuner(plan, profile, run_dir: Path, config, hypermodel: kt.HyperModel | None = None) -> kt.Tuner:
    """The plan's tuner, resuming from the run dir's search state; its first trial is the family's
    default hyperparameters (a known-good configuration; _compat.defaults_first)."""
    common = dict(hypermodel=hypermodel or FamilyHyperModel(plan, profile), objective=objective_for(plan.task),
                  seed=config.seed, directory=str(run_dir), project_name="search",
                  overwrite=False, max_consecutive_failed_trials=3)
    if plan.tuner == "hyperband":
        tuner = kt.Hyperband(max_epochs=plan.epochs, factor=HYPERBAND_FACTOR, **common)
        set_trial_cap(tuner, plan.max_trials)  # Hyperband has no trial cap of its own
    else:
        tuner = TUNER_CLASSES[plan.tuner](max_trials=plan.max_trials, **common)
    defaults_first(tuner)
    return tuner


def training_callbacks(patience: int, deadline: float | None, steps_per_epoch: int) -> list:
    """Early stopping on validation loss (on small validation sets accuracy moves in coarse steps and
    plateaus long before the model stops improving; Keras Tuner separately keeps each trial's best
    epoch by the objective), a learning rate annealed to the trial's epochs or the deadline, and the
    release of the fit's traced graphs when it ends (memory stays flat across trials)."""
    return [keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True),
            AnnealToBudget(deadline, steps_per_epoch), ReleaseTrialGraphs()]


@dataclass(frozen=True)
class TrainingCost:
    """What training the default model costs here, measured before the search.

    Attributes:
        build: Seconds to build and compile it.
        first_step: Seconds of its first training step (tracing the step, then running it).
        epoch: Seconds of one epoch at the speed of the steps after that.
    """

    build: float
    first_step: float
    epoch: float

    @property
    def setup(self) -> float:
        """The fixed cost of a model before its first batch trains: build and trace."""
        return self.build + self.first_step


def measure_training(plan, profile, train: tf.data.Dataset, steps: int, deadline: float | None = None,
                     budget: float | None = None) -> TrainingCost:
    """Builds the default model and times its build, its first training step and a few more steps.

    Args:
        deadline: time.monotonic() by which the run must end (None: no limit). When the build alone shows
            the run cannot fit, the (often costlier) first step is not traced at all: ConfigError at once.
        budget: The run's whole --time-budget in seconds, for the message.

    Raises:
        ConfigError: The build alone leaves no room for a search and what follows it.
    """
    batches = list(train.take(3))
    started = time.perf_counter()
    model = FamilyHyperModel(plan, profile).build(kt.HyperParameters())
    build = time.perf_counter() - started
    if deadline is not None:
        lower_bound = TrainingCost(build, 0.0, 0.0)  # every later build and trace costs at least this much
        first_epoch = SETUPS_BEFORE_FIRST_EPOCH * build
        if time.monotonic() + first_epoch + finish_reserve(build) > deadline:
            keras.backend.clear_session()
            raise budget_too_short(deadline, lower_bound, finish_reserve(build), budget, measured_steps=False)
    started = time.perf_counter()
    model.train_on_batch(*batches[0])  # traces the step: part of the setup
    first_step = time.perf_counter() - started
    started = time.perf_counter()
    for x, y in batches[1:] or batches:
        model.train_on_batch(x, y)
    per_step = (time.perf_counter() - started) / max(len(batches) - 1, 1)
    keras.backend.clear_session()
    return TrainingCost(build, first_step, per_step * steps)


def epoch_seconds(plan, profile, train: tf.data.Dataset, steps: int) -> float:
    """Times a few training steps of the default model to estimate one epoch (its build and first,
    tracing step not included: measure_training has them)."""
    return measure_training(plan, profile, train, steps).epoch


def finish_reserve(setup_seconds: float) -> float:
    """Seconds kept after the search for the final model's load, diagnosis, export, measurement and the
    report, besides the inference passes themselves: FINISH_FIXED_SECONDS, or SETUPS_AFTER_SEARCH model
    setups when a model's setup is that large."""
    return max(FINISH_FIXED_SECONDS, SETUPS_AFTER_SEARCH * setup_seconds)


def budget_too_short(deadline: float, cost: TrainingCost, reserve: float, budget: float | None,
                     measured_steps: bool = True) -> ConfigError:
    """The ConfigError for a budget that cannot hold one epoch of the default model and what follows it,
    with the budget that would (rounded up to 10 s).

    Args:
        measured_steps: False when only the build was timed (cost.build is then a lower bound of the rest).
    """
    now = time.monotonic()
    first_epoch = SETUPS_BEFORE_FIRST_EPOCH * cost.setup + cost.epoch
    # Used so far + the first epoch and one more + the reserve after the search.
    elapsed = budget - (deadline - now) if budget else 0.0
    needed = 10 * math.ceil((elapsed + first_epoch + cost.epoch + reserve + (0 if budget else 30)) / 10)
    setup = (f", a cost every trial pays again and the steps after the search about {SETUPS_AFTER_SEARCH:g} "
             "times")
    if not measured_steps:
        epoch = (f"one epoch of the default model takes about {cost.build:.0f}s or more here: building it "
                 f"alone took {cost.build:.1f}s{setup}")
    elif cost.setup > 0:
        epoch = (f"one epoch of the default model takes about {cost.epoch:.0f}s here, after {cost.setup:.0f}s to "
                 f"build it and trace its first step ({cost.build:.1f}s + {cost.first_step:.1f}s){setup}")
    else:
        epoch = f"one epoch of the default model takes about {cost.epoch:.0f}s here"
    return ConfigError(
        f"The time budget leaves {max(deadline - reserve - now, 0):.0f}s for the search after {reserve:.0f}s kept "
        f"for evaluation, export and the report, but {epoch}. Give a larger --time-budget (at least {needed}s"
        f"{'' if measured_steps else ', likely more'}) or less data (fewer columns or examples).")


def search_deadline_for(deadline: float | None, start: float, epoch_seconds: float, evaluation: float,
                        cost: TrainingCost | None = None, budget: float | None = None):
    """The search's own deadline: the run's, less time for evaluation, export and the report
    (finish_reserve of the model's setup, plus `evaluation`, the inference passes).

    Args:
        start: Now (time.monotonic()), when the search would start.
        epoch_seconds: One epoch of the default model.
        evaluation: Seconds of the inference passes after the search (every split, the ensemble's members).
        cost: The default model's measured build and first step (None: no setup counted).
        budget: The run's whole --time-budget in seconds, for the message.

    Raises:
        ConfigError: Not even one epoch of the default model (after its setup) fits.
    """
    if deadline is None:
        return None
    cost = TrainingCost(cost.build, cost.first_step, epoch_seconds) if cost else TrainingCost(0.0, 0.0, epoch_seconds)
    reserve = finish_reserve(cost.setup) + evaluation
    search_deadline = deadline - reserve
    if start + SETUPS_BEFORE_FIRST_EPOCH * cost.setup + cost.epoch > search_deadline:
        raise budget_too_short(deadline, cost, reserve, budget)
    return search_deadline


class LateTrialStop(SharedAcrossTrials):
    """Starts no new trial once the time left before the search deadline is shorter than a trial's setup and
    one epoch. DeadlineStop checks after every batch, but a trial's build and first-step tracing come
    before its first batch and cannot be cut short, and a trial that cannot finish an epoch adds nothing.
    """

    def __init__(self, tuner, deadline: float | None, cost: TrainingCost):
        super().__init__()
        self.tuner, self.deadline, self.fired = tuner, deadline, False
        self.trial_seconds = cost.setup + cost.epoch

    def on_train_end(self, logs=None):
        if self.deadline is not None and time.monotonic() + self.trial_seconds > self.deadline:
            self.fired = True
            stop_new_trials(self.tuner)


def public_values(trial) -> dict:
    return {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}


def trial_records(tuner, watcher: TrialWatcher, cut_trial: str | None) -> tuple[TrialRecord, ...]:
    """One record per trial; the trial the deadline interrupted is marked, not passed off as finished."""
    records = []
    seconds, histories, params = watcher.seconds(), watcher.histories(), watcher.param_counts()
    for trial_id, trial in sorted(all_trials(tuner).items()):
        history = histories.get(trial_id, {})
        records.append(TrialRecord(
            trial_id=trial_id, hyperparameters=public_values(trial),
            score=None if trial.score is None else float(trial.score),
            status="CUT_AT_DEADLINE" if trial_id == cut_trial else str(trial.status),
            epochs=max((len(v) for v in history.values()), default=0), params=int(params.get(trial_id, 0)),
            seconds=round(seconds.get(trial_id, 0.0), 2), history=history))
    return tuple(records)
