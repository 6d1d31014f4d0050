"""`automl predict`: a finished run's SavedModel applied to new raw files or table rows → a CSV.

New files are read by the run's modality object (images, texts, table rows, series; a forecast reads a
whole table), so they go through the same readers as the training data did.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from automl.errors import ConfigError, DataError
from automl.files import atomic_path, write_text_atomic
from automl.modalities import modality_of
from automl.modalities.text import register_tokenizer_ops
from automl.modalities.drift import DRIFT_REFERENCE, compare, merge, warning_line

# Keys every metadata.json has (older runs' included); without them the model cannot be fed.
REQUIRED_METADATA = ("task", "modality", "outputs", "class_names")
# Notes a modality's predict_inputs leaves on the frame it returns (values it could not read, …).
NOTES = "notes"


def _damaged(run_dir: Path, what: str, reason: str) -> DataError:
    return DataError(f"The run directory '{run_dir}' is damaged: {what} ({reason}). Run `automl run` again to "
                     "rebuild it (or restore the folder from a backup); `automl report` and `automl export` do "
                     "not rebuild model/.")


def load_run_metadata(run_dir: Path) -> dict:
    """A finished run's model/metadata.json, with its drift reference under "drift_reference" (None for runs
    exported before drift references existed).

    Raises:
        DataError: run_dir has no exported model, or its metadata is damaged.
    """
    meta_path = run_dir / "model" / "metadata.json"
    if not meta_path.exists():
        raise DataError(f"'{run_dir}' has no exported model (model/metadata.json). "
                        "Give the run directory of a finished `automl run`.")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise _damaged(run_dir, "model/metadata.json is not valid JSON", str(error)) from None
    missing = [key for key in REQUIRED_METADATA if not isinstance(meta, dict) or key not in meta]
    if missing:
        raise _damaged(run_dir, "model/metadata.json lacks " + ", ".join(missing), "it was cut short or edited")
    try:  # the training inputs' features, for the drift check
        meta["drift_reference"] = json.loads((run_dir / "model" / DRIFT_REFERENCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta["drift_reference"] = None
    return meta


def load_run_model(run_dir: Path):
    """A finished run's SavedModel and its metadata (what `automl predict` and `automl serve` use).

    Raises:
        DataError: run_dir has no exported model, or it is damaged.
    """
    meta = load_run_metadata(run_dir)
    if meta.get("tokenizer_ops") and not register_tokenizer_ops():
        raise DataError(f"The model in {run_dir} tokenizes text with {meta['tokenizer_ops']}'s ops, which are not "
                        "installed here: pip install tensorflow-text (the version matching your TensorFlow).")
    try:
        model = tf.saved_model.load(str(run_dir / "model"))
    except Exception as error:  # a truncated saved_model.pb, missing variables, …: TensorFlow's many kinds
        reason = str(error).strip().splitlines()[0].rstrip(".") if str(error).strip() else type(error).__name__
        raise _damaged(run_dir, "the SavedModel in model/ cannot be loaded", reason) from None
    if not hasattr(model, "serve"):
        raise _damaged(run_dir, "the SavedModel in model/ has no `serve` endpoint", "not one automl wrote")
    return model, meta


def _check_output(output: Path, source: Path, run_dir: Path) -> None:
    """-o must name a CSV file to write, in an existing folder, that is neither the input nor a run file."""
    if output.is_dir():
        raise ConfigError(f"-o '{output}' is a folder. Give the CSV file to write, "
                          f"e.g. -o {output / 'predictions.csv'}.")
    if not output.parent.is_dir():
        raise ConfigError(f"-o '{output}': the folder '{output.parent}' does not exist. Create it first, or "
                          "choose another -o.")
    resolved = output.resolve()
    if source.exists() and (resolved == source.resolve() or (output.exists() and source.resolve() in resolved.parents)):
        raise ConfigError(f"-o '{output}' would overwrite the input being predicted ('{source}'). Choose another -o.")
    inside_run = run_dir.resolve() in resolved.parents
    if inside_run and output.exists() and output.suffix.lower() != ".csv":
        raise ConfigError(f"-o '{output}' would overwrite a file of the run directory '{run_dir}'. Choose another "
                          "-o (a .csv file).")
    drift_path = drift_path_for(output)
    if drift_path.exists() and not _is_drift_report(drift_path):
        raise ConfigError(f"-o '{output}': the drift figures go beside it in '{drift_path}', which exists and is not "
                          "a drift report automl wrote. Move that file, or choose another -o.")


def drift_path_for(output: Path) -> Path:
    """Where the drift figures of predictions written to `output` go: beside it, as STEM.drift.json."""
    return output.with_name(output.stem + ".drift.json")


def _is_drift_report(path: Path) -> bool:
    """Whether path holds a drift report an earlier `automl predict` wrote (which a new one may replace)."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(report, dict) and {"source", "examples", "drifted"} <= report.keys()


def predict_to_csv(run_dir: Path, source: Path, output: Path | None) -> tuple[Path, int, list[str]]:
    """Predicts every example in source (a file or folder, as the run's modality reads it) and writes a CSV
    (atomically: an interrupted or failed write leaves any earlier CSV whole).

    Returns:
        The CSV path, the number of predictions (rows) and notes for the user (e.g. values of a table
        column that were not numbers and were treated as missing).

    Raises:
        DataError: No finished (or an intact) run in run_dir, or source is not something its model reads.
        ConfigError: output is a folder, in a folder that does not exist, or the input itself.
    """
    run_dir, source = Path(run_dir), Path(source)
    model, meta = load_run_model(run_dir)
    try:
        modality = modality_of(meta)
    except (KeyError, TypeError):
        raise _damaged(run_dir, f"model/metadata.json names the modality {meta.get('modality')!r}",
                       "not one this automl knows") from None
    if not source.exists():
        raise DataError(f"No such file or folder: '{source}'. Give {modality.accepts}.")
    output = Path(output) if output else run_dir / "predictions.csv"
    _check_output(output, source, run_dir)
    with atomic_path(output) as temporary:
        written = modality.predict_table(model, meta, source, temporary)
    if written is not None:  # a forecast: the steps after the table's end, not one prediction a row
        return output, written[1], []
    frame, notes = _predicted_frame(model, meta, modality, source)
    drift = frame.attrs.pop("drift", None)
    with atomic_path(output) as temporary:
        frame.to_csv(temporary, index=False)
    if drift is not None:  # the figures beside the predictions; one line for the user when something drifted
        drift_path = drift_path_for(output)
        write_text_atomic(drift_path, json.dumps({"source": str(source), "examples": len(frame), **drift}, indent=1))
        if drift["drifted"]:
            notes.append(warning_line(drift, str(drift_path)))
    return output, len(frame), notes


def predict_frame(model, meta: dict, source: Path) -> tuple[pd.DataFrame, list[str]]:
    """Predicts every example in source (as `automl predict` reads it) with a run's loaded model and metadata
    (load_run_model) → (the rows with their predictions, notes for the user), without writing anything (the
    Python API's predict on a path).

    Raises:
        DataError: source is not something the model reads, or the run is a forecast (`automl predict` writes
            those).
    """
    modality = modality_of(meta)
    if not Path(source).exists():
        raise DataError(f"No such file or folder: '{source}'. Give {modality.accepts}.")
    if meta["task"] == "forecast":
        raise DataError("A forecast reads a whole table: use `automl predict RUN_DIR TABLE`, which writes the steps "
                        "after the table's end.")
    return _predicted_frame(model, meta, modality, Path(source))


def predict_instances(model, meta: dict, instances: list) -> pd.DataFrame:
    """Predictions for raw instances as the server takes them (modality.serve_inputs: images as pixels or
    {"b64": ...}, texts, table rows as dicts, series as lists) with a run's loaded model, one row each.

    Raises:
        DataError: An instance is not something this run's model reads.
    """
    batches = modality_of(meta).serve_inputs(instances, meta)
    return pd.DataFrame(prediction_columns(meta, [model.serve(batch) for batch in batches]))


def prediction_columns(meta: dict, outputs: list) -> dict[str, np.ndarray | list]:
    """The serving endpoint's outputs → columns: predicted_class and probability_CLASS; predicted_labels (a
    multi-label model's set, "a|b") and probability_LABEL; or prediction."""
    if "predicted_labels" in meta["outputs"]:
        probabilities = np.concatenate([o["probabilities"].numpy() for o in outputs])
        columns = {"predicted_labels": [v.decode("utf-8") for o in outputs for v in o["predicted_labels"].numpy()]}
        columns.update({f"probability_{name}": probabilities[:, i] for i, name in enumerate(meta["class_names"])})
        return columns
    if "anomaly_score" in meta["outputs"]:  # the threshold is inside the SavedModel's is_anomaly
        return {"anomaly_score": np.concatenate([o["anomaly_score"].numpy() for o in outputs]),
                "is_anomaly": np.concatenate([o["is_anomaly"].numpy() for o in outputs])}
    if "probabilities" in meta["outputs"]:
        probabilities = np.concatenate([o["probabilities"].numpy() for o in outputs])
        columns = {"predicted_class": [meta["class_names"][i] for i in probabilities.argmax(axis=1)]}
        columns.update({f"probability_{name}": probabilities[:, i] for i, name in enumerate(meta["class_names"])})
        return columns
    return {"prediction": np.concatenate([np.asarray(o["prediction"]).reshape(-1) for o in outputs])}


def _predicted_frame(model, meta: dict, modality, source: Path) -> tuple[pd.DataFrame, list[str]]:
    """The rows of source with their predictions, and notes: values not read, files skipped, drift."""
    batches, frame = modality.predict_inputs(source, meta)
    outputs, features = [], []
    for batch in batches:
        outputs.append(model.serve(batch))
        features.append(modality.drift_features(batch, meta))
    skipped = frame.attrs.pop("skipped", [])  # unreadable files (images): dropped, and listed
    notes = list(frame.attrs.pop(NOTES, []))
    if skipped:
        frame = frame[~frame["path"].isin(skipped)].reset_index(drop=True)
        names = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        notes.append(f"Skipped {len(skipped)} file(s) that cannot be read: {names}.")
    if not outputs:
        raise DataError(f"Nothing in '{source}' could be read, so there is nothing to predict.")
    for name, values in prediction_columns(meta, outputs).items():
        frame[name] = values
    frame.attrs["drift"] = drift_report(meta, features)
    return frame, notes


def drift_report(meta: dict, features: list[dict]) -> dict | None:
    """The inputs' drift from the run's training reference (model/drift_reference.json), or None for runs
    exported before drift references existed."""
    reference = meta.get("drift_reference")
    return compare(reference, merge(features)) if reference else None
