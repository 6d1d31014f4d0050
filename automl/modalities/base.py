"""The shape every modality object has: what the serving endpoint takes, how a batch as the Keras model
takes it maps to and from that, what metadata.json records, the load-it example in the report, how a
test example is shown in the gallery, and how `automl predict` reads new files."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

from automl.errors import DataError

# `automl predict` feeds the SavedModel this many examples at a time.
PREDICT_BATCH = 64
# The diagnosis scores the training split on a seeded sample of at most this many examples: the train-validation
# gap needs no more, and predicting every training text through a pretrained encoder would take minutes.
DIAGNOSIS_TRAIN_SAMPLE = 10_000


@dataclass(frozen=True)
class Modality:
    """A kind of data. Subclasses override what differs; the defaults suit inputs served as the model
    takes them (images, texts, series).

    Attributes:
        name: "image", "text", "table", "series" or "forecast" (a series read as a table over time).
        accepts: What `automl predict` reads for this modality, for its messages.
    """

    name: str
    accepts: str

    def serving_signature(self, profile) -> list:
        """The `serve` endpoint's input_signature (raw inputs: pixels, strings, columns, floats)."""
        raise NotImplementedError

    def to_model_input(self, raw):
        """The serving input → the input the Keras model was trained on."""
        return raw

    def to_serving_input(self, batch):
        """A batch as the Keras model takes it → the serving endpoint's input (the inverse)."""
        return batch

    def metadata(self, profile) -> dict:
        """This modality's entries in metadata.json (the shared keys are filled with their empty values)."""
        return {}

    def example_input(self, profile) -> str:
        """One line of Python making a raw input for the report's load-it example."""
        return "inputs = ...  # raw examples, as described in metadata.json"

    def input_keys(self, profile) -> list[str]:
        """The model's input keys when its features are a dict (tables), else empty."""
        return []

    def gallery_view(self, dataset, index: int, features, split: str = "test") -> dict:
        """How one example of a split (the test split's mistakes, the training split's likely label errors) is
        shown in the report: GalleryItem's image, fields or text."""
        raise NotImplementedError

    streams_gallery_features = True  # False: the gallery reads the raw example elsewhere (a table's frame)

    def predict_inputs(self, source: Path, meta: dict):
        """New raw inputs for `automl predict`: (an iterable of serving batches, the frame of rows the
        predictions are added to).

        Raises:
            DataError: The source is not something this modality's model reads.
        """
        raise NotImplementedError

    def drift_features(self, batch, meta: dict) -> dict[str, dict]:
        """Named features of a serving batch that drift is judged on (automl.modalities.drift): name →
        {"kind": "numeric" | "category" | "tokens", "values": ...}; none by default."""
        return {}

    def serve_inputs(self, instances: list, meta: dict) -> list:
        """The serving batches for the instances of a TensorFlow Serving style request (`automl serve`): one
        JSON value per example, as the modality's README section describes.

        Raises:
            DataError: An instance is not something this model reads (the message names which, for a 400).
        """
        raise DataError(f"The {self.name} model is not served over HTTP; use `automl predict` with a file.")

    def predict_table(self, model, meta: dict, source: Path, output: Path) -> tuple[Path, int] | None:
        """A whole-table prediction written directly (forecasts), or None to predict example by example."""
        return None


JSON_NAMES = {"dict": "object", "list": "array", "str": "string", "int": "number", "float": "number",
              "bool": "boolean", "NoneType": "null"}


def json_kind(value) -> str:
    """What a JSON value in a request is, in JSON's words ("a JSON object"), for serving's error messages."""
    return f"a JSON {JSON_NAMES.get(type(value).__name__, type(value).__name__)}"


def instance_bytes(instance, index: int, file_kind: str, alternative: str) -> bytes:
    """The bytes of a serving request's instance given as {"b64": "<base64>"}, TensorFlow Serving's form for bytes.

    Raises:
        DataError: The instance is not in that form (the message names the file kind and the alternative form), or
            its base64 is not valid.
    """
    encoded = instance.get("b64") if isinstance(instance, dict) else None
    if not isinstance(encoded, str):
        raise DataError(f"instances[{index}] must be {{\"b64\": \"<base64 of {file_kind}>\"}} or {alternative}; "
                        f"got {json_kind(instance)}.")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise DataError(f"instances[{index}].b64 is not valid base64.") from None
