"""Export stage: RUN_DIR/model/ — a SavedModel whose `serve` endpoint takes raw inputs and returns
probabilities and class names (or predictions, or forecasts) — plus model.keras and metadata.json, with
an in-process parity check. What the endpoint takes is the modality's; what it returns, the task's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from automl.export.simple import SimpleExport
from automl.files import atomic_path, write_text_atomic
from automl.modalities import modality_of, task_named
from automl.modalities.text import TOKENIZER_OPS_PACKAGE, register_tokenizer_ops

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
    simple: SimpleExport | None = None  # the simple model, when it is as good or better (export.simple)


def _serve_function(model, profile):
    modality, task = modality_of(profile), task_named(profile.task)

    def outputs(raw):
        return task.serve_outputs(model(modality.to_model_input(raw), training=False), profile.class_names,
                                  **task.serve_settings(profile))
    return tf.function(outputs, input_signature=modality.serving_signature(profile))


def needs_tokenizer_ops(model) -> bool:
    """Whether the model tokenizes inside with TensorFlow Text's ops (the text encoder's WordPiece layer)."""
    return any(type(layer).__name__ == "WordPieceInputs" for layer in model.layers)


def metadata(profile, chosen: str = "", tokenizer_ops: bool = False) -> dict:
    """metadata.json: what the endpoint takes and returns, and which leaderboard row it is. Every key is always
    present (None or empty where another modality's), so readers of older and newer runs find the same keys."""
    return {
        "model": chosen or None, "task": profile.task, "modality": profile.modality, "class_names": list(profile.class_names),
        "image_inputs": None, "columns": [], "text_column": None, "series_inputs": None,
        "endpoint": "serve", "outputs": list(task_named(profile.task).outputs),
        "label_thresholds": list(getattr(profile, "label_thresholds", ())),  # multi-label: per label, in order
        "anomaly_threshold": getattr(profile, "anomaly_threshold", None),  # also inside the SavedModel's is_anomaly
        # The package whose ops must be registered before the SavedModel loads (`import tensorflow_text`).
        "tokenizer_ops": TOKENIZER_OPS_PACKAGE if tokenizer_ops else None,
        **modality_of(profile).metadata(profile),
    }


def _parity(model_dir: Path, model, samples, profile) -> float:
    reloaded = tf.saved_model.load(str(model_dir))
    expected = model.predict(samples, verbose=0)
    got = reloaded.serve(modality_of(profile).to_serving_input(samples))
    key = next(k for k in ("forecast", "prediction", "probabilities", "anomaly_score") if k in got)
    got = got[key].numpy().reshape(expected.shape)
    return float(np.max(np.abs(got - expected)))


def export_model(model: keras.Model, profile, samples, run_dir: Path, chosen: str = "") -> ExportResult:
    """Writes the SavedModel, model.keras and metadata.json, then checks the reload predicts the same.

    Args:
        samples: A batch of raw test inputs, as the Keras model takes them (modalities.batching.sample_inputs).
        chosen: The leaderboard row the model is (search.leaderboard), named in metadata.json.

    Raises:
        RuntimeError: The reloaded SavedModel disagrees with the trained model (a bug of ours).
    """
    run_dir = Path(run_dir)
    model_dir = run_dir / "model"
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", _serve_function(model, profile))
    archive.write_out(str(model_dir), verbose=False)
    keras_path = run_dir / "model.keras"
    with atomic_path(keras_path) as temporary:  # ends in .keras, as Keras requires
        model.save(temporary)
    metadata_path = model_dir / "metadata.json"
    tokenizer_ops = needs_tokenizer_ops(model)
    write_text_atomic(metadata_path, json.dumps(metadata(profile, chosen, tokenizer_ops), indent=1))
    if tokenizer_ops:
        register_tokenizer_ops()
    write_text_atomic(model_dir / "class_names.json", json.dumps(list(profile.class_names)))
    diff = _parity(model_dir, model, samples, profile)
    if diff > PARITY_TOLERANCE:
        raise RuntimeError(f"The exported SavedModel differs from the trained model by {diff:.2e} "
                           f"(tolerance {PARITY_TOLERANCE}); this is a bug in automl's export.")
    size = sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file())
    count = len(next(iter(samples.values())) if isinstance(samples, dict) else samples)
    return ExportResult(model_dir, keras_path, metadata_path, diff, count, size)
