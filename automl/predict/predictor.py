"""`automl predict`: a finished run's SavedModel applied to new raw files or table rows → a CSV.

New files are read by the run's modality object (images, texts, table rows, series; a forecast reads a
whole table), so they go through the same readers as the training data did.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from automl.errors import ConfigError, DataError
from automl.files import atomic_path
from automl.modalities import modality_of

# Keys every metadata.json has (older runs' included); without them the model cannot be fed.
REQUIRED_METADATA = ("task", "modality", "outputs", "class_names")
# Notes a modality's predict_inputs leaves on the frame it returns (values it could not read, …).
NOTES = "notes"


def _damaged(run_dir: Path, what: str, reason: str) -> DataError:
    return DataError(f"The run directory '{run_dir}' is damaged: {what} ({reason}). Run `automl run` again to "
                     "rebuild it (or restore the folder from a backup); `automl report` and `automl export` do "
                     "not rebuild model/.")


def load_run_model(run_dir: Path):
    """A finished run's SavedModel and its metadata.json (what `automl predict` and `automl serve` use).

    Raises:
        DataError: run_dir has no exported model, or it is damaged.
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
    batches, frame = modality.predict_inputs(source, meta)
    notes = list(frame.attrs.pop(NOTES, []))
    outputs = [model.serve(batch) for batch in batches]
    if "probabilities" in meta["outputs"]:
        probabilities = np.concatenate([o["probabilities"].numpy() for o in outputs])
        frame["predicted_class"] = [meta["class_names"][i] for i in probabilities.argmax(axis=1)]
        for i, name in enumerate(meta["class_names"]):
            frame[f"probability_{name}"] = probabilities[:, i]
    else:
        frame["prediction"] = np.concatenate([o["prediction"].numpy() for o in outputs])
    with atomic_path(output) as temporary:
        frame.to_csv(temporary, index=False)
    return output, len(frame), notes
