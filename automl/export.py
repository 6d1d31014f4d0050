"""Export stage: RUN_DIR/model/ — a SavedModel whose `serve` endpoint takes raw inputs and returns
probabilities and class names — plus model.keras and metadata.json, with an in-process parity check."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

# Exported and in-memory probabilities (both in graph mode) may differ by float rounding only.
# Eager calls are not the reference: Resizing alone differs by ~2e-3 between eager and graph.
PARITY_TOLERANCE = 1e-4
PARITY_SAMPLES = 64


@dataclass(frozen=True)
class ExportResult:
    model_dir: Path
    keras_path: Path
    metadata_path: Path
    parity_max_abs_diff: float
    parity_samples: int
    size_bytes: int


def serving_signature(profile):
    """The serve endpoint's inputs: uint8 images of any size, 1-D strings, float32 series [n, length,
    channels] (NaN for padding or missing values), or one 1-D tensor per raw column."""
    if profile.modality == "image":
        return [tf.TensorSpec([None, None, None, profile.image_inputs.channels], tf.uint8, name="image")]
    if profile.modality == "text":
        return [tf.TensorSpec([None], tf.string, name="text")]
    if profile.modality == "series":
        spec = profile.series_inputs
        return [tf.TensorSpec([None, spec.length, spec.channels], tf.float32, name="series")]
    return [{c.key: tf.TensorSpec([None], tf.float32 if c.kind == "numeric" else tf.string, name=c.key)
             for c in profile.column_inputs}]


def _serve_function(model, profile):
    names = tf.constant(list(profile.class_names)) if profile.task == "classification" else None

    def outputs(raw):
        if profile.modality == "table":
            raw = {key: tf.expand_dims(value, -1) for key, value in raw.items()}
        result = model(raw, training=False)
        if profile.task == "forecast":  # [batch, horizon, targets] in the targets' units
            return {"forecast": result}
        if names is None:
            return {"prediction": tf.reshape(result, [-1])}
        return {"probabilities": result, "predicted_class": tf.gather(names, tf.argmax(result, axis=-1))}
    return tf.function(outputs, input_signature=serving_signature(profile))


def metadata(profile) -> dict:
    return {
        "task": profile.task, "modality": profile.modality, "class_names": list(profile.class_names),
        "image_inputs": profile.image_inputs.__dict__ if profile.image_inputs else None,
        "columns": [{"name": c.name, "key": c.key, "kind": c.kind} for c in profile.column_inputs],
        "text_column": profile.text_inputs.column if profile.text_inputs else None,
        "series_inputs": ({"length": profile.series_inputs.length, "channels": profile.series_inputs.channels,
                           "columns": list(profile.series_inputs.columns or [])}
                          if getattr(profile, "series_inputs", None) else None),
        "endpoint": "serve",
        "outputs": (["forecast"] if profile.task == "forecast" else ["prediction"] if profile.task == "regression"
                    else ["probabilities", "predicted_class"]),
        **forecast_metadata(profile),
    }


def forecast_metadata(profile) -> dict:
    """For forecasts: the window the endpoint takes and what it returns, in time steps and columns."""
    spec = getattr(profile, "forecast_inputs", None)
    if spec is None:
        return {}
    return {"forecast": {"lookback": spec.lookback, "horizon": spec.horizon, "time_column": spec.time_column,
                         "value_columns": list(spec.value_columns), "target_columns": list(spec.target_columns),
                         "frequency": spec.frequency, "season": spec.season,
                         "input": "float32 [batch, lookback, value_columns]: the last lookback steps, oldest first",
                         "output": "forecast: float32 [batch, horizon, target_columns], in the targets' units"}}


def _parity(model_dir: Path, model, samples, profile) -> float:
    reloaded = tf.saved_model.load(str(model_dir))
    expected = model.predict(samples, verbose=0)
    if profile.modality == "table":
        samples = {key: tf.squeeze(value, -1) for key, value in samples.items()}
    got = reloaded.serve(samples)
    key = next(k for k in ("forecast", "prediction", "probabilities") if k in got)
    got = got[key].numpy().reshape(expected.shape)
    return float(np.max(np.abs(got - expected)))


def export_model(model: keras.Model, profile, samples, run_dir: Path) -> ExportResult:
    """Writes the SavedModel, model.keras and metadata.json, then checks the reload predicts the same.

    Args:
        samples: A batch of raw test inputs (as the model takes them) for the parity check.
    """
    model_dir = run_dir / "model"
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", _serve_function(model, profile))
    archive.write_out(str(model_dir), verbose=False)
    keras_path = run_dir / "model.keras"
    model.save(keras_path)
    metadata_path = model_dir / "metadata.json"
    metadata_path.write_text(json.dumps(metadata(profile), indent=1))
    (model_dir / "class_names.json").write_text(json.dumps(list(profile.class_names)))
    diff = _parity(model_dir, model, samples, profile)
    if diff > PARITY_TOLERANCE:
        raise RuntimeError(f"The exported SavedModel differs from the trained model by {diff:.2e} "
                           f"(tolerance {PARITY_TOLERANCE}); this is a bug in automl's export.")
    size = sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file())
    count = len(next(iter(samples.values())) if isinstance(samples, dict) else samples)
    return ExportResult(model_dir, keras_path, metadata_path, diff, count, size)
