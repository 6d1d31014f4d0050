"""Ingest a folder of class sub-folders of images into streamed tf.data splits.

Every file is opened once with Pillow to learn its size and mode and to catch corrupt files,
which are skipped and listed; pixels are decoded later, streamed by tf.data.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from automl.errors import DataError
from automl.ingest.dataset import Dataset, ImageFacts, SkippedFile, Split, fingerprint_of, inspect_files
from automl.ingest.groups import groups_for_files
from automl.ingest.splits import check_class_sizes, describe_split, split_indices
from automl.ingest.walk import DataFolder, outside_hint

# The formats tf.io.decode_image reads (the same set Keras' image_dataset_from_directory takes).
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".bmp"}
SPLIT_FOLDERS = {"train": "train", "training": "train", "val": "val", "valid": "val",
                 "validation": "val", "test": "test", "testing": "test"}
# The largest input any family uses (pretrained backbones take 224 px); the CNN family shrinks
# further inside its model, so one ingest serves every family.
MAX_AUTO_IMAGE_SIDE = 224
# Photos (median aspect within 3:2) are centre-cropped to a square, the framing ImageNet backbones were
# trained on: on hymenoptera, MobileNetV2 features of a 224 centre square score 96.7-97.4 % under a linear
# probe against 94.1-94.8 % for the median-aspect 168×224 image squashed to 224 (benchmarks/transfer_probe.py).
SQUARE_CROP_MAX_ASPECT = 1.5
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
# Pillow refuses images above twice this many pixels (decompression bombs); we skip them.
MAX_IMAGE_PIXELS = 100_000_000
# Pillow reads more than tf.io.decode_image does (it sniffs content, not extensions): a WebP named
# .bmp opens in Pillow but fails in the training stream, so files are checked against what TF decodes.
TF_DECODABLE_FORMATS = {"PNG", "JPEG", "MPO", "GIF", "BMP"}
# TensorFlow's BMP decoder reads 24/32-bit and 8-bit grey pixels; it fails on 1/4-bit ones and
# reads 8-bit palette indices as grey levels (silently wrong colours), so those files are skipped.
TF_DECODABLE_BMP_MODES = {"RGB", "RGBA", "L"}


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def looks_like_image_folder(root: Path, follow_symlinks: bool = False) -> bool:
    return any(is_image_file(path) for path in DataFolder(root, follow_symlinks).iter_files())


def inspect_image(path: Path):
    """Returns (sha256, height, width, mode) or an error string for an unreadable file."""
    try:
        data = path.read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    return f"too large ({width}x{height} pixels; the cap is {MAX_IMAGE_PIXELS:,})"
                image.load()
                mode, kind = image.mode, image.format
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as error:
        return f"cannot be decoded ({type(error).__name__}: {str(error)[:120]})"
    if kind not in TF_DECODABLE_FORMATS:
        return f"a {kind} file despite its extension; TensorFlow decodes only PNG, JPEG, GIF and BMP (convert it to PNG)"
    if kind == "BMP" and mode not in TF_DECODABLE_BMP_MODES:
        return f"a BMP with {mode!r} pixels (palette or under 8 bits), which TensorFlow misreads; convert it to PNG"
    return hashlib.sha256(data).hexdigest(), height, width, mode


def _class_folders(tree: DataFolder, root: Path) -> list[Path]:
    return [p for p in tree.subfolders(root) if not p.name.startswith(".")]


def _scan(tree: DataFolder, root: Path, skipped: list[SkippedFile]) -> dict[str, list[Path]]:
    """Maps class name to its image files; other files are listed as skipped."""
    classes = {}
    for folder in _class_folders(tree, root):
        files = []
        for path in tree.walk(folder):
            if is_image_file(path):
                files.append(path)
            elif not path.name.startswith("."):
                skipped.append(SkippedFile(str(path), f"not an image ({path.suffix or 'no extension'})"))
        classes[folder.name] = files
    return classes


def _split_layout(tree: DataFolder, root: Path) -> dict[str, Path]:
    found = {}
    for folder in _class_folders(tree, root):
        split = SPLIT_FOLDERS.get(folder.name.lower())
        if split and split not in found:
            found[split] = folder
    return found if "train" in found else {}


def choose_image_size(heights, widths, config, allow_crop: bool = True) -> tuple[int, int, bool]:
    """(height, width, crop): the stored size and whether images are centre-cropped to its aspect.

    Photos (near-square medians) are centre-cropped to a square when `allow_crop` (not for anomaly
    detection, where a crop could cut the anomaly off); other images keep the median aspect and are
    squashed to it, the long side at most MAX_AUTO_IMAGE_SIDE. --image-size PX makes it a PX square
    (cropped for photos, squashed otherwise)."""
    height, width = float(np.median(heights)), float(np.median(widths))
    photos = allow_crop and max(height, width) <= SQUARE_CROP_MAX_ASPECT * min(height, width)
    if config.image_size:
        return config.image_size, config.image_size, photos
    if photos:
        side = max(8, round(min(height, width, MAX_AUTO_IMAGE_SIDE)))
        return side, side, True
    scale = min(1.0, MAX_AUTO_IMAGE_SIDE / max(height, width))
    return max(8, round(height * scale)), max(8, round(width * scale)), False


def resize_uint8(image, height: int, width: int, crop: bool = False):
    """Resizes with antialiasing (centre-cropping to the target aspect first when `crop`) and rounds back
    to the uint8 pixels the models take. Keras' own resize, so the crop is the one the exported model's
    Resizing(crop_to_aspect_ratio=True) makes of raw images."""
    image = keras.ops.image.resize(image, (height, width), antialias=True, crop_to_aspect_ratio=crop)
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def decode_file(path, height: int, width: int, channels: int, crop: bool = False):
    """Reads and decodes one image file (first frame of a GIF) to height×width×channels uint8."""
    return decode_bytes(tf.io.read_file(path), height, width, channels, crop)


def decode_bytes(data, height: int, width: int, channels: int, crop: bool = False):
    """Decodes one encoded image (PNG, JPEG, GIF's first frame, BMP) to height×width×channels uint8."""
    return fit_pixels(tf.io.decode_image(data, channels=3, expand_animations=False), height, width, channels, crop)


def fit_pixels(image, height: int, width: int, channels: int, crop: bool = False):
    """An RGB uint8 image [h, w, 3] of any size → height×width×channels uint8, as the models take it."""
    if channels == 1:
        image = tf.image.rgb_to_grayscale(image)
    image = resize_uint8(image, height, width, crop)
    image.set_shape((height, width, channels))
    return image


def stream_images(paths, labels, height, width, channels, crop: bool = False) -> tf.data.Dataset:
    def load(path, label):
        return decode_file(path, height, width, channels, crop), label

    data = tf.data.Dataset.from_tensor_slices(([str(p) for p in paths], labels))
    return data.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def load_image_folder(root: Path, config) -> Dataset:
    """Reads class sub-folders of images, honouring train/val/test folders when present.

    Raises:
        DataError: No images, a single class, classes too small, or no decodable image.
    """
    skipped: list[SkippedFile] = []
    tree = DataFolder.of(root, config)
    layout = _split_layout(tree, root)
    groups = ({name: _scan(tree, folder, skipped) for name, folder in layout.items()}
              or {"all": _scan(tree, root, skipped)})
    skipped = tree.skipped + skipped  # links not followed first, then files that are not images
    class_names = sorted({name for classes in groups.values() for name in classes})
    files = [(group, path, class_names.index(name))
             for group, classes in groups.items() for name, paths in classes.items() for path in paths]
    if not files:
        raise DataError(
            f"No images found in '{root}'. Expected class sub-folders of images "
            f"({root}/cats/*.jpg, {root}/dogs/*.jpg; formats: {', '.join(sorted(IMAGE_EXTENSIONS))})."
            + outside_hint(skipped))
    good = inspect_files(files, inspect_image, 1, skipped)
    if not good:
        raise DataError(f"None of the {len(files)} image files in '{root}' could be decoded "
                        f"(e.g. {skipped[-1].path}: {skipped[-1].reason}). Check that the files are real images.")
    labels = np.array([label for _, _, label, _ in good])
    try:
        check_class_sizes(labels, class_names, f"'{root}'", unit="readable images")
    except DataError as error:
        raise DataError(str(error) + outside_hint(skipped)) from None

    index_of = _assign_splits(good, labels, config)
    heights = np.array([info[1] for _, _, _, info in good])
    widths = np.array([info[2] for _, _, _, info in good])
    modes = tuple(info[3] for _, _, _, info in good)
    height, width, crop = choose_image_size(heights, widths, config)
    channels = 1 if all(mode in GRAY_MODES for mode in modes) else 3
    splits = {
        name: Split(stream_images([good[i][1] for i in idx], labels[idx], height, width, channels, crop),
                    labels[idx], tuple(good[i][3][0] for i in idx))
        for name, (idx, _) in index_of.items()
    }
    how = index_of["train"][1]
    return Dataset(
        name=root.resolve().name, source=f"Image folder '{root}' ({len(good)} images, {len(class_names)} classes)",
        modality="image", task="classification", class_names=tuple(class_names),
        train=splits["train"], val=splits["val"], test=splits["test"],
        split_note=describe_split({k: v.size for k, v in splits.items()}, how),
        fingerprint=fingerprint_of(splits), images=ImageFacts(heights, widths, modes, (height, width, channels), crop),
        skipped=tuple(skipped), groups=groups_for_files([good[i][1] for i in index_of["test"][0]], root, config),
    )


def _assign_splits(good, labels, config):
    """Returns {split: (indices, how-it-was-made)} honouring split folders where present."""
    groups = np.array([group for group, _, _, _ in good])
    given = {name: np.flatnonzero(groups == name) for name in ("train", "val", "test", "all")}
    seed, val_f, test_f = config.seed, config.val_fraction, config.test_fraction
    if len(given["all"]):
        train, val, test = split_indices(labels, val_f, test_f, seed, stratified=True)
        how = f"No split folders: seeded stratified split (seed {seed})"
    elif len(given["test"]) and len(given["val"]):
        train, val, test = given["train"], given["val"], given["test"]
        how = "Honoured the train/, val/ and test/ folders"
    else:
        # val/ without test/ becomes the held-out test split, so that model selection
        # (which uses validation) never sees the data the final score comes from.
        test = given["test"] if len(given["test"]) else given["val"]
        inner_train, inner_val, _ = split_indices(labels[given["train"]], val_f, test_f, seed,
                                                  stratified=True, need_test=False)
        train, val = given["train"][inner_train], given["train"][inner_val]
        held = "test/" if len(given["test"]) else "val/ (no test/ folder, so val/ is the held-out test split)"
        how = f"Honoured {held}; validation is a seeded stratified {val_f:.0%} of train/"
    if not len(test):
        raise DataError("The test split is empty. Put images in test/ or remove the empty split folders.")
    return {"train": (train, how), "val": (val, how), "test": (test, how)}
