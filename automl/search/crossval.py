"""Search stage, small data: when the validation split is too small to rank trials (most trials score
100 % on 8 series), the top trials are re-ranked by k-fold cross-validation on train + validation,
and the winner is refit on all of it for its cross-validated epoch count (scikit-learn's KFold and
StratifiedKFold draw the folds; each fold fit is an ordinary Keras fit)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from sklearn.model_selection import KFold, StratifiedKFold

from automl.families import FAMILIES
from automl.ingest.dataset import Split
from automl.modalities.batching import batched
from automl.search.callbacks import DeadlineStop
from automl.search.tuner import training_callbacks
from automl.search.warm_start import start_head
from automl.select import CROSS_VALIDATION_CANDIDATES

MAX_FOLDS = 5
# Share of the search window kept for cross-validation and the refit.
CROSS_VALIDATION_SHARE = 0.4


@dataclass(frozen=True)
class FoldScores:
    trial_id: str
    scores: tuple[float, ...]
    epochs: tuple[int, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def spread(self) -> float:
        return float(np.std(self.scores))


@dataclass(frozen=True)
class CrossValidation:
    """k-fold scores of the top trials on train + validation, the chosen one, and its refit.

    With no candidates (folds = 0), no fold fitted the time left and the best trial on validation was
    refit alone: on a few dozen examples the fifth or sixth of them held out for validation is worth
    more as training data (MiniRocket's head on GunPoint: 96.0 % from 42 series, 99.3 % from all 50).

    Attributes:
        objective: The metric each fold was scored by (the search's objective).
        refit_epochs: Epochs the chosen configuration was refit for on all of train + validation.
    """

    folds: int
    objective: str
    candidates: tuple[FoldScores, ...]
    chosen: str
    refit_epochs: int
    refit_examples: int
    seconds: float
    held_out_speakers: bool = False  # validation held out whole speakers: the refit adds their voices

    def sentence(self) -> str:
        if self.held_out_speakers:
            return (f"Validation held out whole speakers, to rank trials by what carries to voices training never "
                    f"heard; then trial {self.chosen} (best on validation) was refit on all {self.refit_examples} "
                    f"examples of train + validation for {_epochs(self.refit_epochs)} (its lowest-validation-loss "
                    "epoch), so that it hears every training speaker.")
        if not self.candidates:  # folds did not fit the budget: the refit alone
            return ("Validation was too small to rank trials, and k-fold cross-validation did not fit "
                    f"the time left, so trial {self.chosen} (best on validation) was refit on all "
                    f"{self.refit_examples} examples of train + validation for {_epochs(self.refit_epochs)} "
                    "(its lowest-validation-loss epoch).")
        best = next(c for c in self.candidates if c.trial_id == self.chosen)
        top = "top trial was" if len(self.candidates) == 1 else f"top {len(self.candidates)} trials were"
        return (f"Validation was too small to rank trials, so the {top} re-ranked by "
                f"{self.folds}-fold cross-validation on train + validation: trial {self.chosen} scored "
                f"{self.objective} {best.mean:.4f} ± {best.spread:.4f} over the folds, and was refit on all "
                f"{self.refit_examples} examples for {_epochs(self.refit_epochs)}.")


def fold_count(labels: np.ndarray, task: str) -> int:
    """Up to MAX_FOLDS, fewer when the smallest class cannot be in every fold (below 2: no cross-validation)."""
    if task != "classification":
        return min(MAX_FOLDS, len(labels) // 4)
    return min(MAX_FOLDS, int(np.bincount(labels).min()))


@dataclass
class Folded:
    """What cross-validation leaves for the leaderboard (live, not stored): the refit model and its record, each
    scored trial's out-of-fold outputs (trial id → outputs in pool order), and the folds and pool they came from
    (no folds when the best trial was refit alone)."""

    model: keras.Model
    record: CrossValidation
    outputs: dict
    folds: list
    pool_x: object
    pool_y: np.ndarray


def cross_validate(tuner, ranked, dataset, profile, config, task: str, deadline: float | None,
                   fit_seconds: float, refit_only: bool = False, epoch_seconds: float | None = None) -> Folded | None:
    """Scores the top finished trials on k folds of train + validation and refits the best on all of it.

    Args:
        fit_seconds: Estimated seconds for one fit of the default model on a fold (setup included).
        refit_only: No folds: the best trial is refit on train + validation (validation held out whole
            speakers, so folds of both would mix voices; the ranking on validation stands).
        epoch_seconds: Estimated seconds for one epoch of the default model on train: with refit_only, the refit
            trains for as many epochs as the time left allows (see _refit_alone).

    Returns:
        The refit model, the record and the out-of-fold outputs; the best trial refit alone when no candidate's
        folds fit the time left; None when not even that fits (the search's own choice then stands).
    """
    start = time.monotonic()
    pool_x, pool_y = _pool(dataset)
    k = fold_count(pool_y, task)
    if k < 2 or refit_only:
        return _refit_alone(tuner, ranked, pool_x, pool_y, profile, config, deadline, fit_seconds, start, refit_only,
                            epoch_seconds, len(pool_y) / dataset.train.size)
    splitter = StratifiedKFold(k, shuffle=True, random_state=config.seed) if task == "classification" \
        else KFold(k, shuffle=True, random_state=config.seed)
    folds = list(splitter.split(np.zeros(len(pool_y)), pool_y))
    objective = tuner.oracle.objective
    candidates = [t for t in ranked if t.status != "CUT_AT_DEADLINE"][:CROSS_VALIDATION_CANDIDATES]
    scored, outputs = [], {}
    for trial in candidates:
        # Each candidate needs k fold fits and the winner one refit: stop before one would not fit.
        if deadline is not None and time.monotonic() + (k + 1) * fit_seconds > deadline:
            break
        hp = tuner.oracle.get_trial(trial.trial_id).hyperparameters
        results = [_fit_fold(tuner, hp, pool_x, pool_y, train, val, profile, config, objective, deadline)
                   for train, val in folds]
        scored.append(FoldScores(trial.trial_id, tuple(r[0] for r in results), tuple(r[1] for r in results)))
        # Each fold's held-out outputs at the epoch count the refit would train for (the folds' mean best epoch),
        # not at each fold's own best: that epoch was picked on the held-out labels, which would flatter the
        # trials against the simple models scored on the same folds.
        epoch = max(1, round(float(np.mean([r[1] for r in results]))))
        outputs[trial.trial_id] = out_of_fold([r[2][min(epoch, len(r[2])) - 1] for r in results], folds)
    if not scored:
        return _refit_alone(tuner, ranked, pool_x, pool_y, profile, config, deadline, fit_seconds, start)
    sign = 1 if objective.direction == "max" else -1
    # The refit is the candidate the leaderboard will see: classes are judged by out-of-fold accuracy at the refit's
    # epoch count (as the leaderboard scores it), then by the folds' mean objective.
    judged = (lambda c: (float(np.mean(outputs[c.trial_id].argmax(-1) == pool_y)), sign * c.mean)) \
        if task == "classification" else (lambda c: sign * c.mean)
    chosen = max(scored, key=judged)
    epochs = max(1, round(float(np.mean(chosen.epochs))))
    hp = tuner.oracle.get_trial(chosen.trial_id).hyperparameters
    model = _refit(tuner, hp, pool_x, pool_y, profile, config, epochs)
    record = CrossValidation(k, objective.name, tuple(scored), chosen.trial_id, epochs, len(pool_y),
                             time.monotonic() - start)
    return Folded(model, record, outputs, folds, pool_x, pool_y)


def out_of_fold(fold_outputs: list, folds: list) -> np.ndarray:
    """Each fold's outputs on its held-out examples, put back in pool order."""
    first = np.asarray(fold_outputs[0])
    result = np.zeros((sum(len(val) for _, val in folds), *first.shape[1:]), dtype=first.dtype)
    for outputs, (_, val) in zip(fold_outputs, folds):
        result[val] = outputs
    return result


def subset(pool_x, pool_y, indices) -> Split:
    """The pool's examples at indices, as a split (the simple models fit and score folds through it)."""
    return _subset(pool_x, pool_y, indices)


def _refit_alone(tuner, ranked, pool_x, pool_y, profile, config, deadline, fit_seconds: float, start: float,
                 held_out_speakers: bool = False, epoch_seconds: float | None = None, pool_share: float = 1.0):
    """The best finished trial refit on train + validation for its lowest-validation-loss epoch count, or
    None when that does not fit the time left.

    Where validation held out speakers, its loss is a noisy guide to the epoch count (a new voice's few hundred
    clips: the trials early-stopped at ~17 epochs with the rate still high, FSDD round 17): the refit trains instead
    for as many epochs as the time left allows, up to the plan's, with the rate annealed over exactly those (at the
    chosen trial's own cost an epoch), or not at all when that is fewer than the trial's best epoch count."""
    best = next((t for t in ranked if t.status != "CUT_AT_DEADLINE" and t.history.get("val_loss")), None)
    if best is None or (deadline is not None and time.monotonic() + fit_seconds > deadline):
        return None
    epochs = int(np.argmin(best.history["val_loss"])) + 1
    anneal_over = None
    if held_out_speakers and epoch_seconds:
        # The refit's epoch costs what the chosen trial's did, on the larger pool: a trial with 4 times the default's
        # filters took 8 s an epoch against its 1 s (FSDD, george), and its refit ran 200 s over the budget.
        if best.epochs > 0 and best.seconds > 0:
            epoch_seconds = max(epoch_seconds, best.seconds / best.epochs)
        # one epoch spare for the build and the first step's tracing
        affordable = (int((deadline - time.monotonic()) / (epoch_seconds * pool_share)) - 1 if deadline is not None
                      else tuner.hypermodel.plan.epochs)
        if affordable < epochs:  # not even the trial's own best epoch count: the trial as trained ships
            return None
        epochs = anneal_over = min(tuner.hypermodel.plan.epochs, affordable)
    model = _refit(tuner, tuner.oracle.get_trial(best.trial_id).hyperparameters, pool_x, pool_y, profile, config,
                   epochs, anneal_over)
    record = CrossValidation(0, tuner.oracle.objective.name, (), best.trial_id, epochs, len(pool_y),
                             time.monotonic() - start, held_out_speakers)
    return Folded(model, record, {}, [], pool_x, pool_y)


def _pool(dataset):
    """Train + validation in memory, as stacked arrays of the stream's structure."""
    elements = list(dataset.train.data.concatenate(dataset.val.data).as_numpy_iterator())
    x = tf.nest.map_structure(lambda *values: np.stack(values), *[e[0] for e in elements])
    return x, np.concatenate([dataset.train.labels, dataset.val.labels])


def pooled(dataset) -> Split:
    """Train + validation as one split."""
    pool_x, pool_y = _pool(dataset)
    return _subset(pool_x, pool_y, np.arange(len(pool_y)))


def _subset(pool_x, pool_y, indices) -> Split:
    x = tf.nest.map_structure(lambda values: values[indices], pool_x)
    data = tf.data.Dataset.from_tensor_slices((x, pool_y[indices]))
    return Split(data, pool_y[indices], ())


def _epochs(count: int) -> str:
    return f"{count} epoch{'' if count == 1 else 's'}"


def _closed_form(tuner) -> bool:
    return _family(tuner).closed_form_head


def _family(tuner):
    return FAMILIES[tuner.hypermodel.plan.family]


def _fit_fold(tuner, hp, pool_x, pool_y, train, val, profile, config, objective, deadline):
    """(the fold's objective at its lowest-validation-loss epoch, that epoch, the held-out outputs after each epoch)."""
    model = tuner.hypermodel.build(hp)
    train_data = batched(_subset(pool_x, pool_y, train), profile, config.batch_size, None, seed=config.seed)
    val_data = batched(_subset(pool_x, pool_y, val), profile, config.batch_size, None)
    steps = math.ceil(len(train) / config.batch_size)
    _family(tuner).prepare_training(model, train_data)  # as the trial it re-scores did
    start_head(model, train_data, profile.class_weight, _closed_form(tuner))
    held_out = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: held_out.append(model.predict(val_data, verbose=0)))
    history = model.fit(train_data, validation_data=val_data, epochs=tuner.hypermodel.plan.epochs, verbose=0,
                        class_weight=profile.class_weight,
                        callbacks=[record, *training_callbacks(config.patience, None, steps),
                                   DeadlineStop(None, deadline)])
    # The epoch early stopping keeps (lowest validation loss) is the one scored and the one the refit
    # trains to: on a few dozen examples accuracy peaks at its first lucky epoch (2-5 of 20 on
    # breast_cancer), which left the refit undertrained.
    best = int(np.argmin(history.history["val_loss"]))
    score = float(history.history[objective.name][best])
    keras.backend.clear_session()
    return score, best + 1, held_out


def _refit(tuner, hp, pool_x, pool_y, profile, config, epochs: int, anneal_over: int | None = None) -> keras.Model:
    """The chosen configuration on all of train + validation, for the cross-validated epoch count, on the
    folds' learning-rate schedule (annealed over the plan's epochs, stopped at `epochs`, unless `anneal_over`
    names another count; no early stopping: there is nothing held out to stop on)."""
    model = tuner.hypermodel.build(hp)
    data = batched(_subset(pool_x, pool_y, np.arange(len(pool_y))), profile, config.batch_size, None,
                   seed=config.seed)
    steps = math.ceil(len(pool_y) / config.batch_size)
    annealing = [c for c in training_callbacks(config.patience, None, steps)
                 if not isinstance(c, keras.callbacks.EarlyStopping)]
    stop = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", epoch + 1 >= epochs))
    _family(tuner).prepare_training(model, data)
    start_head(model, data, profile.class_weight, _closed_form(tuner))
    model.fit(data, epochs=anneal_over or tuner.hypermodel.plan.epochs, verbose=0, class_weight=profile.class_weight,
              callbacks=[*annealing, stop])
    return model
