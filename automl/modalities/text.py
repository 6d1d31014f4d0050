"""The text modality: served as 1-D strings (the model tokenises inside), shown as snippets, predicted
from .txt files, folders of them, or a table's text column."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest import DataFolder, decode_text, is_table_file, is_text_file, read_table
from automl.modalities.base import PREDICT_BATCH, Modality, json_kind
from automl.modalities.thumbnails import snippet

WORD = re.compile(r"\w+")  # words for the drift check's vocabulary
# The package whose ops a text encoder's WordPiece tokenizer runs on, inside the SavedModel.
TOKENIZER_OPS_PACKAGE = "tensorflow_text"


def register_tokenizer_ops() -> bool:
    """Registers TensorFlow Text's ops with TensorFlow, which a SavedModel holding a text encoder's tokenizer
    needs before it loads (TensorFlow Serving's model server has them built in); False when not installed."""
    if importlib.util.find_spec(TOKENIZER_OPS_PACKAGE) is None:
        return False
    importlib.import_module(TOKENIZER_OPS_PACKAGE)
    return True


class TextModality(Modality):
    def serving_signature(self, profile) -> list:
        return [tf.TensorSpec([None], tf.string, name="text")]

    def metadata(self, profile) -> dict:
        return {"text_column": profile.text_inputs.column}

    def gallery_view(self, dataset, index: int, features, split: str = "test") -> dict:
        return {"text": snippet(features)}

    def predict_inputs(self, source: Path, meta: dict):
        texts, frame = _texts(source, meta)
        batches = (tf.constant(texts[start:start + PREDICT_BATCH], tf.string)
                   for start in range(0, len(texts), PREDICT_BATCH))
        return batches, frame

    def drift_features(self, batch, meta: dict) -> dict[str, dict]:
        """Each text's length in words, and its words (for the share the training texts never had)."""
        texts = [t.decode("utf-8", "replace") for t in batch.numpy().reshape(-1)]
        words = [WORD.findall(text.lower()) for text in texts]
        return {"length in words": {"kind": "numeric", "values": [len(w) for w in words]},
                "vocabulary": {"kind": "tokens", "values": words}}

    def serve_inputs(self, instances: list, meta: dict) -> list:
        """Each instance a string (the text), or {"text": "..."}."""
        texts = []
        for index, instance in enumerate(instances):
            text = instance.get("text") if isinstance(instance, dict) else instance
            if not isinstance(text, str):
                raise DataError(f"instances[{index}] must be a string (or {{\"text\": \"...\"}}); got "
                                f"{json_kind(instance)}.")
            texts.append(text)
        return [tf.constant(texts[start:start + PREDICT_BATCH], tf.string)
                for start in range(0, len(texts), PREDICT_BATCH)]


def _texts(source: Path, meta: dict):
    """Raw texts and the frame the predictions are added to: .txt files (one text each) or a table's text column."""
    if source.is_dir() or is_text_file(source):
        paths = [p for p in DataFolder(source).walk() if is_text_file(p)] if source.is_dir() else [source]
        if not paths:
            raise DataError(f"No .txt files in '{source}'. Give a .txt file, a folder of them, or a table.")
        return [decode_text(p.read_bytes())[0] for p in paths], pd.DataFrame({"path": [str(p) for p in paths]})
    if not is_table_file(source):
        raise DataError(f"'{source}' is neither a .txt file, a folder of them, nor a CSV/TSV/Parquet table.")
    frame, column = read_table(source), meta.get("text_column")
    if column is None or column not in frame.columns:
        raise DataError(f"The table '{source}' has no column {column!r}, which holds the text this model reads. "
                        f"Columns are: {', '.join(map(str, frame.columns))}.")
    return frame[column].astype("string").fillna("").tolist(), frame.copy()


TEXT = TextModality("text", accepts="a .txt file, a folder of them, or a table with the text column")
