"""The image modality: served as uint8 pixels of any size (the model resizes inside), shown as
thumbnails, predicted from image files or folders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest import DataFolder, decode_file, is_image_file
from automl.modalities.base import PREDICT_BATCH, Modality
from automl.modalities.thumbnails import thumbnail


class ImageModality(Modality):
    def serving_signature(self, profile) -> list:
        return [tf.TensorSpec([None, None, None, profile.image_inputs.channels], tf.uint8, name="image")]

    def metadata(self, profile) -> dict:
        return {"image_inputs": profile.image_inputs.__dict__}

    def example_input(self, profile) -> str:
        shape = profile.image_inputs
        return (f"inputs = tf.zeros([1, {shape.height}, {shape.width}, {shape.channels}], tf.uint8)"
                "  # raw pixels, any size")

    def gallery_view(self, dataset, index: int, features) -> dict:
        return {"image": thumbnail(features)}

    def predict_inputs(self, source: Path, meta: dict):
        paths = [p for p in DataFolder(source).walk() if is_image_file(p)] if source.is_dir() else [source]
        if not paths:
            raise DataError(f"No images in '{source}'.")
        return _image_batches(paths, meta["image_inputs"]), pd.DataFrame({"path": [str(p) for p in paths]})


def _image_batches(paths, info):
    for start in range(0, len(paths), PREDICT_BATCH):
        images = []
        for path in paths[start:start + PREDICT_BATCH]:
            try:
                # Same-size batches: the model resizes inside too, so this only groups images of any size.
                images.append(decode_file(str(path), info["height"], info["width"], info["channels"]))
            except tf.errors.InvalidArgumentError:
                raise DataError(f"Cannot decode '{path}' as an image. Remove it or fix the file.") from None
        yield tf.stack(images)


IMAGE = ImageModality("image", accepts="an image, a folder of images")
