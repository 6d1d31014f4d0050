"""Ingest an image-classification dataset from tensorflow-datasets ("tfds:NAME").

Reads a prepared data directory (--tfds-dir); with a network tfds downloads and prepares as usual.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from automl.errors import DataError
from automl.ingest.dataset import Dataset, ImageFacts, Split, fingerprint_of
from automl.ingest.images import choose_image_size, resize_uint8
from automl.ingest.splits import check_class_sizes, describe_split


def _builder(name: str, data_dir: str | None):
    import tensorflow_datasets as tfds  # heavy import, only for tfds: sources

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # tfds raises many types for unknown or broken names
        raise DataError(f"tensorflow-datasets has no usable dataset {name!r} ({str(error).splitlines()[0]}). "
                        "Check the name with `tfds.list_builders()`.") from None
    try:
        builder.download_and_prepare()
    except Exception as error:  # no network, or a broken data_dir
        raise DataError(f"Cannot prepare tfds:{name} ({str(error).splitlines()[0][:200]}). With no network, "
                        "prepare it elsewhere and pass its data directory with --tfds-dir.") from None
    return builder


def _available_splits(builder) -> set[str]:
    """Split names from the dataset info, else (info without split metadata) by trying to open them."""
    available = set(builder.info.splits.keys())
    if available:
        return available
    for name in ("train", "validation", "test"):
        try:
            builder.as_dataset(split=name)
            available.add(name)
        except Exception:  # an absent split raises various tfds errors
            pass
    return available


def _split_names(builder) -> dict[str, str]:
    available = _available_splits(builder)
    if "train" not in available:
        raise DataError(f"tfds:{builder.name} has no 'train' split (it has {sorted(available)}).")
    names = {"train": "train"}
    for ours, theirs in (("val", "validation"), ("test", "test")):
        if theirs in available:
            names[ours] = theirs
    if "val" not in names and "test" not in names:
        names = {"train": "train[:70%]", "val": "train[70%:85%]", "test": "train[85%:]"}
    elif "val" not in names:
        names.update(train="train[:85%]", val="train[85%:]")
    elif "test" not in names:
        names["test"], names["val"] = names["val"], "train[85%:]"
        names["train"] = "train[:85%]"
    return names


def _scan(data: tf.data.Dataset):
    """One pass for labels, content hashes and image sizes."""
    def facts(image, label):
        digest = tf.strings.to_hash_bucket_fast(tf.io.serialize_tensor(image), 2**62)
        return label, digest, tf.shape(image)
    labels, hashes, shapes = [], [], []
    for label, digest, shape in data.map(facts).as_numpy_iterator():
        labels.append(label)
        hashes.append(f"{digest:016x}")
        shapes.append(shape)
    return np.array(labels, dtype=np.int64), tuple(hashes), np.array(shapes).reshape(-1, 3)


def load_tfds(name: str, config) -> Dataset:
    """Loads tfds:NAME as streamed image splits.

    Raises:
        DataError: Unknown name, no prepared data, or not an image-classification dataset.
    """
    builder = _builder(name, config.tfds_dir)
    keys = builder.info.supervised_keys
    features = builder.info.features
    if not keys or type(features[keys[0]]).__name__ != "Image" or not hasattr(features[keys[1]], "names"):
        raise DataError(f"tfds:{name} is not an image-classification dataset (supervised keys {keys}); "
                        "only (image, label) datasets are supported from tfds so far.")
    class_names = tuple(features[keys[1]].names)
    names = _split_names(builder)
    raw = {ours: builder.as_dataset(split=theirs, as_supervised=True, shuffle_files=False)
           for ours, theirs in names.items()}
    scanned = {split: _scan(data) for split, data in raw.items()}
    shapes = np.concatenate([shape for _, _, shape in scanned.values()])
    check_class_sizes(np.concatenate([labels for labels, _, _ in scanned.values()]), class_names,
                      f"tfds:{name}", minimum=0)  # the dataset's declared classes are authoritative
    height, width, crop = choose_image_size(shapes[:, 0], shapes[:, 1], config)
    channels = 1 if int(shapes[0, 2]) == 1 else 3

    def prepare(image, label):
        if channels == 3 and image.shape[-1] != 3:
            image = tf.image.grayscale_to_rgb(image[..., :1]) if image.shape[-1] == 1 else image[..., :3]
        return resize_uint8(image, height, width, crop), label

    splits = {split: Split(raw[split].map(prepare, num_parallel_calls=tf.data.AUTOTUNE), labels, hashes)
              for split, (labels, hashes, _) in scanned.items()}
    modes = ("L" if channels == 1 else "RGB",) * len(shapes)
    return Dataset(
        name=name.replace("/", "_"), source=f"tensorflow-datasets tfds:{name} ({len(shapes)} images)",
        modality="image", task="classification", class_names=class_names,
        train=splits["train"], val=splits["val"], test=splits["test"],
        split_note=describe_split({k: v.size for k, v in splits.items()},
                                  "tfds splits " + ", ".join(f"{k}={v}" for k, v in names.items())),
        fingerprint=fingerprint_of(splits),
        images=ImageFacts(shapes[:, 0], shapes[:, 1], modes, (height, width, channels), crop),
    )
