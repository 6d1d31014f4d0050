"""The training inputs' features that `automl predict` and `automl serve` hold new inputs against
(automl.modalities.drift), written beside the SavedModel as model/drift_reference.json."""

from __future__ import annotations

import json
from pathlib import Path

from automl.files import write_text_atomic
from automl.modalities import Modality, modality_of
from automl.modalities.batching import batched
from automl.modalities.drift import DRIFT_REFERENCE, training_reference

# A reference from this many training examples estimates deciles and shares well enough, and costs seconds
# even for images.
REFERENCE_EXAMPLES = 5000


def write_drift_reference(dataset, profile, model_dir: Path, meta: dict) -> Path | None:
    """Writes model/drift_reference.json from the training split; None for modalities without drift features."""
    modality = modality_of(profile)
    if type(modality).drift_features is Modality.drift_features:  # forecasts: no drift features
        return None
    data = batched(dataset.train, profile, 256, None).take(-(-REFERENCE_EXAMPLES // 256))
    reference = training_reference((modality.to_serving_input(x) for x, _ in data), modality, meta)
    path = Path(model_dir) / DRIFT_REFERENCE
    write_text_atomic(path, json.dumps(reference))
    return path
