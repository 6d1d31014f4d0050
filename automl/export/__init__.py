"""Export stage: a SavedModel that takes raw inputs, model.keras and metadata.json → ExportResult; then
the deployment facts (latency, trial sizes, extra formats with their parity checks) → Measurements.

`savedmodel` writes the model (the modality decides what `serve` takes, the task what it returns),
`simple` writes the simple model out when it is as good as the deep one, `drift` the training inputs'
features that predictions are checked against, `formats` converts to
TFLite/ONNX, `latency` times, and `measure` gathers the figures the report shows.
"""

from automl.export.drift import write_drift_reference
from automl.export.formats import PARITY_LIMITS, FormatExport
from automl.export.latency import Latency
from automl.export.measure import (FORMAT_GROUPS, SAMPLES_FILE, Measurements, ServingLoad, TrialCost, add_formats,
                                   load_samples, measure_run)
from automl.export.savedmodel import PARITY_SAMPLES, ExportResult, export_model
from automl.export.simple import SimpleExport

__all__ = ["export_model", "ExportResult", "measure_run", "Measurements", "TrialCost", "FormatExport", "Latency",
           "PARITY_LIMITS", "PARITY_SAMPLES", "SimpleExport", "FORMAT_GROUPS", "SAMPLES_FILE",
           "add_formats", "load_samples", "write_drift_reference", "ServingLoad"]
