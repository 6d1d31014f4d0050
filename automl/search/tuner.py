"""Search stage, the Keras Tuner side: the hypermodel of a family, the tuner, the callbacks every trial
trains with, the search's own deadline, and the trial records read back from the oracle."""

from __future__ import annotations

import contextlib
import functools
import io
import time
from pathlib import Path

import keras
import keras_tuner as kt
import tensorflow as tf

from automl.errors import ConfigError
from automl.families import FAMILIES
from automl.modalities import task_named
from automl.modalities.base import DIAGNOSIS_TRAIN_SAMPLE
from automl.search._compat import all_trials, defaults_first, set_trial_cap
from automl.search.callbacks import AnnealToBudget, ReleaseTrialGraphs, TrialWatcher, fit_resumably
from automl.search.result import TrialRecord
from automl.search.out_of_memory import fit_halving_batch, halving_recorder
from automl.search.warm_start import start_head
from automl.select import HYPERBAND_FACTOR

TUNER_CLASSES = {"hyperband": kt.Hyperband, "random": kt.RandomSearch, "bayesian": kt.BayesianOptimization}
# After the search: predicting every split costs about half an epoch per pass over the data
# (no backward pass), and loading, exporting, timing the SavedModel (automl.export.measure) and reporting
# take several seconds more (60 s budgets on digits and breast_cancer ended 5 s over with 8 s kept).
INFERENCE_COST_PER_EPOCH = 0.5
FINISH_FIXED_SECONDS = 12.0
# Building, tracing and saving a model grows with its inputs (one per table column): with 3,000
# columns, the ensemble's reload, diagnosis, the SavedModel's trace, write and reload check, and its
# timing took 70-75 s after the search, about 60 s more than a small table's
# (benchmarks/wide_table_budget.sh repeats it).
FINISH_SECONDS_PER_INPUT = 0.025
# Hyperparameters that set a model's size (and cost) in the families; the first trial takes their
# smallest values when the default model would not train MIN_FIRST_TRIAL_EPOCHS epochs in the budget.
SIZE_HYPERPARAMETERS = {"filters", "blocks", "dense_units", "units", "embedding_dim", "width"}
MIN_FIRST_TRIAL_EPOCHS = 6
# Early stopping counts an epoch as progress only if it lowers the validation loss by this much. A
# model that separates a small validation set (GunPoint's 8 series) keeps shaving its loss towards 0
# by 1e-6 an epoch: without a floor it trains all 300 epochs of the series preset for nothing.
MIN_LOSS_GAIN = 1e-4

def objective_for(task: str) -> kt.Objective:
    task = task_named(task)
    return kt.Objective(task.objective, task.direction)

class FamilyHyperModel(kt.HyperModel):
    """Builds the plan's family, with the plan's fixed hyperparameters (e.g. the backbone) in place."""

    def __init__(self, plan, profile, batch_size: int | None = None, search_dir: Path | None = None):
        super().__init__(name=plan.family)
        self.plan, self.profile = plan, profile
        self.batch_size, self.search_dir = batch_size, search_dir
        self.trial_id = "?"  # the trial being trained (set by make_tuner's on_trial_begin hook)

    def build(self, hp):
        for name, value in self.plan.fixed_hyperparameters.items():
            hp.Fixed(name, value)
        return FAMILIES[self.plan.family](hp, self.profile)

    def fit(self, hp, model, *args, **kwargs):
        """Trains a trial, continuing from its last finished epoch when a run was stopped mid-trial; the family
        sets up weights from the data first (the CNN's whitening); a linear head on fixed features starts at its fitted optimum (search.warm_start); a trial that runs
        out of accelerator memory is retried at half the batch size (search.out_of_memory)."""
        if args and kwargs.get("initial_epoch", 0) == 0:
            FAMILIES[self.plan.family].prepare_training(model, args[0])
            start_head(model, args[0], kwargs.get("class_weight"), FAMILIES[self.plan.family].closed_form_head)
        if self.batch_size is None or self.search_dir is None:
            return fit_resumably(model, *args, **kwargs)
        record = halving_recorder(self.search_dir, self.trial_id)
        return fit_halving_batch(functools.partial(fit_resumably, model), self.batch_size, args, kwargs, record)


def make_tuner(plan, profile, run_dir: Path, config, hypermodel: kt.HyperModel | None = None,
               first_values: dict | None = None, strategy=None, worker: bool = False) -> kt.Tuner:
    """The plan's tuner, resuming from the run dir's search state; its first trial is the family's
    default hyperparameters (a known-good configuration; _compat.defaults_first), with first_values
    in their place (a first trial sized to the budget).

    Args:
        strategy: A tf.distribute strategy each trial trains under (several GPUs), or None.
        worker: The tuner of a worker process: its oracle is the chief's (Keras Tuner's OracleClient,
            from the KERASTUNER_* environment), which owns the trial cap and the first trial's values.
    """
    hypermodel = hypermodel or FamilyHyperModel(plan, profile, config.batch_size, run_dir / "search")
    common = dict(hypermodel=hypermodel, objective=objective_for(plan.task),
                  seed=config.seed, directory=str(run_dir), project_name="search",
                  overwrite=False, max_consecutive_failed_trials=3, distribution_strategy=strategy)
    with contextlib.redirect_stdout(io.StringIO()):  # Keras Tuner prints "Reloading Tuner from …" on resume
        if plan.tuner == "hyperband":
            tuner = kt.Hyperband(max_epochs=plan.epochs, factor=HYPERBAND_FACTOR, **common)
        else:
            tuner = TUNER_CLASSES[plan.tuner](max_trials=plan.max_trials, **common)
    _remember_current_trial(tuner)
    if worker:
        return tuner
    if plan.tuner == "hyperband":
        set_trial_cap(tuner, plan.max_trials)  # Hyperband has no trial cap of its own
    defaults_first(tuner, first_values)
    return tuner


def _remember_current_trial(tuner: kt.Tuner) -> None:
    """Keeps the trial being trained on the tuner (`current_trial`, None between trials) and its id on the
    hypermodel, through the public on_trial_begin/on_trial_end hooks: a worker's oracle is remote, so the
    callbacks cannot ask it."""
    begin, end = tuner.on_trial_begin, tuner.on_trial_end

    def on_trial_begin(trial):
        tuner.current_trial = trial
        if isinstance(tuner.hypermodel, FamilyHyperModel):
            tuner.hypermodel.trial_id = trial.trial_id
        return begin(trial)

    def on_trial_end(trial):
        try:
            return end(trial)
        finally:
            tuner.current_trial = None

    tuner.current_trial = None
    tuner.on_trial_begin, tuner.on_trial_end = on_trial_begin, on_trial_end


def training_callbacks(patience: int, deadline: float | None, steps_per_epoch: int) -> list:
    """Early stopping on validation loss (on small validation sets accuracy moves in coarse steps and
    plateaus long before the model stops improving; Keras Tuner separately keeps each trial's best
    epoch by the objective), a learning rate annealed to the trial's epochs or the deadline, and the
    release of the fit's traced graphs when it ends (memory stays flat across trials)."""
    return [keras.callbacks.EarlyStopping("val_loss", patience=patience, min_delta=MIN_LOSS_GAIN,
                                          restore_best_weights=True),
            AnnealToBudget(deadline, steps_per_epoch), ReleaseTrialGraphs()]


def epoch_seconds(plan, profile, train: tf.data.Dataset, steps: int, values: dict | None = None
                  ) -> tuple[float, float]:
    """Times the default model (or the defaults with `values` in their place): its build and first
    (tracing) step, then a few more training steps.

    Returns:
        (seconds for one epoch, seconds to build the model and trace its first step)
    """
    batches = list(train.take(3))
    start = time.perf_counter()
    hp = kt.HyperParameters()
    hp.values.update(values or {})  # Keras Tuner keeps a value that is already there
    model = FamilyHyperModel(plan, profile).build(hp)
    model.train_on_batch(*batches[0])
    setup = time.perf_counter() - start
    start = time.perf_counter()
    for x, y in batches[1:] or batches:
        model.train_on_batch(x, y)
    per_step = (time.perf_counter() - start) / max(len(batches) - 1, 1)
    keras.backend.clear_session()
    return per_step * steps, setup


def smallest_values(plan, profile) -> dict:
    """The smallest value of each of the family's size hyperparameters (filters, units, blocks...)."""
    hp = kt.HyperParameters()
    FamilyHyperModel(plan, profile).build(hp)
    keras.backend.clear_session()
    smallest = {}
    for parameter in hp.space:
        if parameter.name not in SIZE_HYPERPARAMETERS:
            continue
        if isinstance(parameter, kt.engine.hyperparameters.Choice):
            smallest[parameter.name] = min(parameter.values)
        elif isinstance(parameter, kt.engine.hyperparameters.Int):
            smallest[parameter.name] = parameter.min_value
    return smallest


def model_inputs(profile) -> int:
    """How many inputs the model's graph has: one per table column, else one."""
    return max(len(getattr(profile, "column_inputs", None) or ()), 1)


def finish_seconds(evaluation: float, inputs: int = 1) -> float:
    """Time kept after the search: evaluating every split, and the steps that rebuild, trace and save
    the model, which grow with its inputs."""
    return FINISH_FIXED_SECONDS + evaluation + FINISH_SECONDS_PER_INPUT * inputs

def search_deadline_for(deadline: float | None, start: float, epoch_seconds: float, evaluation: float,
                        setup: float = 0.0, inputs: int = 1):
    """The search's own deadline: the run's, less time for evaluation, export and the report.

    Raises:
        ConfigError: Not even one trial of the default model (its setup and one epoch) fits.
    """
    if deadline is None:
        return None
    finish = finish_seconds(evaluation, inputs)
    search_deadline = deadline - finish
    trial = setup + epoch_seconds
    if start + trial > search_deadline:
        more = start + 2 * trial - search_deadline  # room for two epochs: one leaves nothing to compare
        raise ConfigError(
            f"The time budget leaves {max(search_deadline - start, 0):.0f}s for the search (after {finish:.0f}s kept "
            f"for evaluation, export and the report), but one epoch of the default model takes about {trial:.0f}s "
            f"here, building it included. Give a --time-budget at least {more:.0f}s larger, or less data.")
    return search_deadline

def public_values(trial) -> dict:
    return {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}


def trial_records(tuner, watcher: TrialWatcher, cut_trials: set[str]) -> tuple[TrialRecord, ...]:
    """One record per trial; the trials the deadline interrupted are marked, not passed off as finished."""
    records = []
    seconds, histories, params = watcher.seconds(), watcher.histories(), watcher.param_counts()
    for trial_id, trial in sorted(all_trials(tuner).items()):
        history = histories.get(trial_id, {})
        records.append(TrialRecord(
            trial_id=trial_id, hyperparameters=public_values(trial),
            score=None if trial.score is None else float(trial.score),
            status="CUT_AT_DEADLINE" if trial_id in cut_trials else str(trial.status),
            epochs=max((len(v) for v in history.values()), default=0), params=int(params.get(trial_id, 0)),
            seconds=round(seconds.get(trial_id, 0.0), 2), history=history))
    return tuple(records)


def predicted_examples(dataset, task: str) -> int:
    """How many examples the diagnosis predicts: every split, the training split cut to its sample."""
    sizes = {name: split.size for name, split in dataset.splits().items()}
    if task in ("classification", "regression", "multilabel"):  # diagnose.predictions.sampled_train
        sizes["train"] = min(sizes["train"], DIAGNOSIS_TRAIN_SAMPLE)
    return sum(sizes.values())
