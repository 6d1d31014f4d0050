"""What differs by kind of data and by task, in one object each, and the shared plumbing that feeds a
split to a model. Stages ask `modality_of(profile)` and `task_named(profile.task)` instead of branching
on names: a new modality is one module here (plus its ingest and profile modules and its families).
"""

from automl.modalities.audio import AUDIO, log_mel
from automl.modalities.base import Modality
from automl.modalities.forecast import FORECAST
from automl.modalities.image import IMAGE
from automl.modalities.series import SERIES
from automl.modalities.table import TABLE
from automl.modalities.tasks import TASKS, Task, task_named
from automl.modalities.text import TEXT

MODALITIES = {modality.name: modality for modality in (IMAGE, TEXT, TABLE, SERIES, FORECAST, AUDIO)}


def modality_of(profile) -> Modality:
    """The modality object for a Profile, or for a run's metadata.json (a dict with the same keys).

    A forecast is its own modality (a series read as a table over time), though the Dataset's modality
    says "series", as old runs' metadata.json does too.
    """
    get = profile.get if isinstance(profile, dict) else lambda key: getattr(profile, key)
    return FORECAST if get("task") == "forecast" else MODALITIES[get("modality")]


__all__ = ["Modality", "MODALITIES", "modality_of", "Task", "TASKS", "task_named",
           "log_mel"]  # the audio front end the profile's statistics and the audio families share
