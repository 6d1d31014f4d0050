"""Search stage, last step: greedy ensemble selection (Caruana et al., 2004) over the best trials.

On small validation sets many trials tie on accuracy and picking one of them is a coin toss;
averaging the ones that lower the validation loss together removes most of that variance.
The average is one plain Keras model, so export and reload are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from automl.modalities import task_named

# Candidates considered: the best few trials by the objective.
ENSEMBLE_CANDIDATES = 5
# A member is added only if it lowers the validation loss by at least this fraction.
MIN_RELATIVE_GAIN = 0.01


@dataclass(frozen=True)
class EnsembleChoice:
    """Which trials the final model averages, and the validation loss that justified it."""

    members: tuple[str, ...]
    single_loss: float
    ensemble_loss: float


def validation_loss(task: str, labels: np.ndarray, outputs: np.ndarray) -> float:
    """The task's ensemble loss: log loss for classification, mean squared error for regression and forecasts."""
    return task_named(task).validation_loss(labels, outputs)


def select_members(task: str, labels: np.ndarray, outputs: dict[str, np.ndarray],
                   max_members: int = ENSEMBLE_CANDIDATES) -> EnsembleChoice:
    """Greedy forward selection without replacement, starting from the first (best) candidate.

    Args:
        outputs: trial id → validation outputs, best trial first.
        max_members: Most trials to average (the time left bounds how many the final evaluation can afford).
    """
    order = list(outputs)
    members = [order[0]]
    best = single = validation_loss(task, labels, outputs[order[0]])
    while len(members) < max_members:
        trials = [t for t in order if t not in members]
        losses = {t: validation_loss(task, labels, np.mean([outputs[m] for m in members + [t]], axis=0))
                  for t in trials}
        if not losses:
            break
        candidate = min(losses, key=losses.get)
        if losses[candidate] > best * (1 - MIN_RELATIVE_GAIN):
            break
        members.append(candidate)
        best = losses[candidate]
    return EnsembleChoice(tuple(members), single, best)


def average_models(models: dict[str, keras.Model]) -> keras.Model:
    """One functional model that feeds the same raw inputs to every member and averages their outputs.
    models: member id (a trial id, or a model built beside the search) → model."""
    first = next(iter(models.values()))
    inputs = keras.tree.map_structure(
        lambda tensor: keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=tensor.name), first.input)
    outputs = [keras.Model(model.input, model.output, name=member_name(member))(inputs)
               for member, model in models.items()]
    return keras.Model(inputs, keras.layers.Average(name="average")(outputs), name="ensemble")


def member_name(member: str) -> str:
    """A layer name for a member: trial_ID for a Keras Tuner trial (their ids are digits), else its own id."""
    return f"trial_{member}" if member.isdigit() else member
