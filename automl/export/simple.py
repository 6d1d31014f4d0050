"""Export stage, the simple model: when the verdict says a simple model is as good as the deep one or
better, the user gets it too, in RUN_DIR/simple_model/ — ONNX (skl2onnx) where it converts and the ONNX
file predicts what scikit-learn does on the test split, otherwise scikit-learn's own joblib file, with
the reason ONNX was not written. metadata.json says which, the inputs it takes and the class names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from automl.files import atomic_path, write_bytes_atomic, write_text_atomic

SIMPLE_DIR = "simple_model"
# The ONNX file must give scikit-learn's label on at least this share of the test inputs to be kept.
MIN_ONNX_AGREEMENT = 0.999


@dataclass(frozen=True)
class SimpleExport:
    """The exported simple model.

    Attributes:
        format: "onnx" or "joblib".
        agreement: Share of test inputs on which the ONNX file gives scikit-learn's label (None for joblib).
        note: Why ONNX was not written (empty when it was).
    """

    name: str
    path: Path
    format: str
    agreement: float | None
    note: str

    def sentence(self) -> str:
        if self.format == "onnx":
            return (f"The simple model ({self.name}) is exported too, as ONNX: {self.path} (the same labels as "
                    f"scikit-learn on {self.agreement:.1%} of the test split; run it with onnxruntime).")
        return (f"The simple model ({self.name}) is exported too, as scikit-learn's joblib file: {self.path} "
                f"(load it with joblib.load under the same scikit-learn version; not ONNX because {self.note}).")


def export_simple_model(diagnosis, profile, run_dir: Path) -> SimpleExport | None:
    """Writes the best simple model when it is as good as the deep model on test, or better; else None.
    Nothing is written for a run reloaded from disk (its simple models were not kept)."""
    simple_models = diagnosis.simple_models
    if simple_models is None:
        return None
    deep_test_score = diagnosis.metrics["test"].get(simple_models.metric)
    if deep_test_score is None or not simple_models.prefers_simple(deep_test_score):
        return None
    best = simple_models.best
    if best.fitted is None:
        return None
    folder = Path(run_dir) / SIMPLE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    model, inputs = best.fitted.model, best.fitted.test_inputs
    try:
        onnx_bytes, agreement = _onnx(model, inputs, profile.task == "classification")
        note = "" if agreement >= MIN_ONNX_AGREEMENT else \
            f"the ONNX conversion gave scikit-learn's label on only {agreement:.1%} of the test split"
    except Exception as error:  # noqa: BLE001 — skl2onnx raises many types for what it cannot convert
        steps = " → ".join(type(step).__name__ for _, step in getattr(model, "steps", [("", model)]))
        onnx_bytes, agreement = None, None
        note = f"skl2onnx cannot convert {steps} here ({type(error).__name__})"
    if not note:
        path = write_bytes_atomic(folder / "model.onnx", onnx_bytes)
    else:
        import joblib

        path, agreement = folder / "model.joblib", None
        with atomic_path(path) as temporary:
            joblib.dump(model, temporary)
    result = SimpleExport(best.name, path, "onnx" if not note else "joblib", agreement, note)
    write_text_atomic(folder / "metadata.json", json.dumps(_metadata(result, inputs, profile), indent=1))
    return result


def _metadata(result: SimpleExport, inputs, profile) -> dict:
    columns = {c: ("number" if pd.api.types.is_numeric_dtype(inputs[c]) else "string") for c in inputs.columns} \
        if isinstance(inputs, pd.DataFrame) else {"text": "string"}
    return {"name": result.name, "format": result.format, "file": result.path.name,
            "inputs": {key: {"type": kind, "shape": [None, 1]} for key, kind in columns.items()},
            "outputs": ["label", "probabilities"] if profile.task == "classification" else ["variable"],
            "class_names": list(profile.class_names), "onnx_agreement_on_test": result.agreement,
            "why_not_onnx": result.note or None}


def _onnx_inputs(inputs) -> dict[str, np.ndarray]:
    """One [n, 1] array per input: a table's columns by key (numbers as float32), or the texts."""
    if isinstance(inputs, pd.DataFrame):
        return {c: (inputs[c].to_numpy(np.float32) if pd.api.types.is_numeric_dtype(inputs[c])
                    else inputs[c].astype(str).to_numpy(object)).reshape(-1, 1) for c in inputs.columns}
    if isinstance(inputs, list):
        return {"text": np.array(inputs, dtype=object).reshape(-1, 1)}
    raise TypeError(f"{type(inputs).__name__} inputs (series) have no ONNX converter here")


def _onnx(model, inputs, classify: bool) -> tuple[bytes, float]:
    """The ONNX bytes and the share of test inputs where they give scikit-learn's prediction."""
    import onnxruntime
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    feeds = _onnx_inputs(inputs)
    types = [(key, FloatTensorType([None, 1]) if array.dtype == np.float32 else StringTensorType([None, 1]))
             for key, array in feeds.items()]
    options = {id(model.steps[-1][1]): {"zipmap": False}} if classify else None
    onnx_model = to_onnx(model, initial_types=types, options=options, target_opset={"": 17, "ai.onnx.ml": 3})
    data = onnx_model.SerializeToString()
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    predicted = np.ravel(session.run(None, feeds)[0])
    expected = np.ravel(model.predict(inputs))
    same = predicted == expected if classify else np.isclose(predicted, expected, rtol=1e-3, atol=1e-4)
    return data, float(np.mean(same))
