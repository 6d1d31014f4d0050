"""Export stage, runs before the leaderboard: they wrote the simple model beside the deep one, in
RUN_DIR/simple_model/, when it scored as well on test. Runs now ship the leaderboard's choice as the one
model (search.leaderboard), so nothing is written here; the record stays so those runs' reports still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
