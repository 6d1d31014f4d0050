"""The image modality: served as uint8 pixels of any size (the model resizes inside), shown as
thumbnails, predicted from image files or folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest import DataFolder, decode_bytes, decode_file, fit_pixels, is_image_file
from automl.modalities.base import PREDICT_BATCH, Modality, instance_bytes
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

    def gallery_view(self, dataset, index: int, features, split: str = "test") -> dict:
        return {"image": thumbnail(features)}

    def predict_inputs(self, source: Path, meta: dict):
        """Every image under source, decoded a batch at a time; files that cannot be decoded are skipped, never
        the end of the whole batch (as training skips them): the frame's attrs["skipped"] fills with them as
        the batches are read, and the caller drops their rows (automl.predict)."""
        paths = [p for p in DataFolder(source).walk() if is_image_file(p)] if source.is_dir() else [source]
        if not paths:
            raise DataError(f"No images in '{source}'.")
        frame = pd.DataFrame({"path": [str(p) for p in paths]})
        frame.attrs["skipped"] = []
        return _image_batches(paths, meta["image_inputs"], frame.attrs["skipped"]), frame

    def drift_features(self, batch, meta: dict) -> dict[str, dict]:
        """Brightness and contrast of each image (its pixels' mean and spread, 0-1), at the model's input size."""
        pixels = np.asarray(batch, dtype=np.float64).reshape(len(batch), -1) / 255
        return {"brightness": {"kind": "numeric", "values": pixels.mean(axis=1)},
                "contrast": {"kind": "numeric", "values": pixels.std(axis=1)}}

    def serve_inputs(self, instances: list, meta: dict) -> list:
        """Each instance an image file's bytes (PNG, JPEG, GIF, BMP) as {"b64": "<base64>"}, TensorFlow
        Serving's form for bytes, or its pixels as nested lists [height][width] or [height][width][channels]
        of 0-255 (what the SavedModel's `serve` signature takes, so the same request works on TF Serving);
        either is resized to the training size as `automl predict` does."""
        info, images = meta["image_inputs"], []
        for index, instance in enumerate(instances):
            if isinstance(instance, (list, np.ndarray)):
                images.append(fit_pixels(_rgb(instance, index), *_fit(info)))
                continue
            data = instance_bytes(instance, index, "an image file", "pixels as nested lists")
            try:
                images.append(decode_bytes(data, *_fit(info)))
            except tf.errors.InvalidArgumentError:
                raise DataError(f"instances[{index}] is not an image automl can decode (PNG, JPEG, GIF or BMP)."
                                ) from None
        return [tf.stack(images[start:start + PREDICT_BATCH]) for start in range(0, len(images), PREDICT_BATCH)]


def _fit(info: dict) -> tuple:
    """(height, width, channels, crop) the run's images were fitted to; runs before the crop squashed."""
    return info["height"], info["width"], info["channels"], info.get("crop", False)


def _rgb(pixels: list, index: int):
    """Nested lists of 0-255 → an RGB uint8 tensor [h, w, 3] (gray is repeated, alpha dropped)."""
    try:
        array = np.asarray(pixels, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"instances[{index}] must be pixels as nested lists of numbers.") from None
    array = array[..., None] if array.ndim == 2 else array
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or min(array.shape[:2]) < 1:
        raise DataError(f"instances[{index}] must be pixels [height][width] or [height][width][1, 3 or 4 channels]; "
                        f"got shape {list(array.shape)}.")
    if np.isnan(array).any() or array.min() < 0 or array.max() > 255:
        raise DataError(f"instances[{index}] has pixel values outside 0-255.")
    array = np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array[..., :3]
    return tf.constant(array.round().astype(np.uint8))


def _image_batches(paths, info, skipped: list):
    for start in range(0, len(paths), PREDICT_BATCH):
        images = []
        for path in paths[start:start + PREDICT_BATCH]:
            try:
                # Same-size batches: the model resizes inside too, so this only groups images of any size.
                images.append(decode_file(str(path), *_fit(info)))
            except tf.errors.InvalidArgumentError:
                skipped.append(str(path))
        if images:
            yield tf.stack(images)


IMAGE = ImageModality("image", accepts="an image, a folder of images")
