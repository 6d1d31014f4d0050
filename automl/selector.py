"""Select stage: choose an architecture family from the Profile by a readable rule table, and say why."""

from __future__ import annotations

import math
from dataclasses import dataclass

from automl.errors import ConfigError
from automl.families import FAMILIES, MODALITIES


@dataclass(frozen=True)
class Plan:
    """What the search will do and why.

    Attributes:
        family: Key into FAMILIES.
        reason: One or two sentences for the plan output and the report.
        task: "classification" or "regression", and why (in task_reason).
    """

    family: str
    reason: str
    task: str
    task_reason: str
    tuner: str
    max_trials: int
    time_budget: float | None
    epochs: int


def _image_reason(profile) -> str:
    shape = profile.image_inputs
    n = profile.split_sizes["train"]
    return (f"Images ({n} training images, model input {shape.height}×{shape.width}×{shape.channels}, "
            f"{profile.num_classes} classes) → a CNN trained from scratch: convolutions share weights across "
            "positions, which suits pixels; no pretrained backbone is used in this version.")


def _table_reason(profile) -> str:
    kept = len(profile.column_inputs)
    return (f"A table ({profile.split_sizes['train']} training rows, {kept} feature columns) → an MLP: "
            "columns have no spatial or sequential order to exploit, and normalisation and category "
            "lookups live inside the model so it takes raw columns.")


# The rule table, read top to bottom: (modality, family, reason).
RULES = (
    ("image", "cnn", _image_reason),
    ("table", "mlp", _table_reason),
)


HYPERBAND_FACTOR = 3


def hyperband_trials(max_epochs: int, factor: int = HYPERBAND_FACTOR) -> int:
    """Trials in one full Hyperband iteration (Keras Tuner's bracket sizes). A smaller trial cap ends
    the search inside the first bracket, where every trial trains only the shortest epoch count."""
    brackets, epochs = 0, max_epochs
    while epochs >= 1:  # Keras Tuner's min_epochs
        epochs /= factor
        brackets += 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    return sum(math.ceil(end_size / (bracket + 1) * factor ** (bracket - round_))
               for bracket in range(brackets) for round_ in range(bracket + 1))


def _task_reason(profile) -> str:
    if profile.task == "regression":
        return "Regression: the target is numeric with many distinct values."
    return f"Classification: the target has {profile.num_classes} distinct classes."


def choose_family(profile, config) -> Plan:
    """Picks the family for this data (or checks a forced one).

    Raises:
        ConfigError: A forced family cannot take this kind of data.
    """
    if config.family != "auto":
        if MODALITIES[config.family] != profile.modality:
            valid = [name for name, modality in MODALITIES.items() if modality == profile.modality]
            raise ConfigError(f"--family {config.family} takes {MODALITIES[config.family]} data, but this data is "
                              f"{profile.modality}. Use --family {' or '.join(valid)} or --family auto.")
        family, reason = config.family, f"Family {config.family!r} was chosen with --family."
    else:
        family, reason = next((family, explain(profile)) for modality, family, explain in RULES
                              if modality == profile.modality)
    assert family in FAMILIES
    max_trials = config.max_trials
    if config.tuner == "hyperband" and max_trials < hyperband_trials(config.epochs):
        max_trials = hyperband_trials(config.epochs)
        reason += (f" Hyperband needs {max_trials} trials for one full iteration at {config.epochs} epochs, "
                   f"so the trial cap is {max_trials} instead of {config.max_trials} (the time budget still applies).")
    return Plan(family=family, reason=reason, task=profile.task, task_reason=_task_reason(profile),
                tuner=config.tuner, max_trials=max_trials, time_budget=config.time_budget,
                epochs=config.epochs)
