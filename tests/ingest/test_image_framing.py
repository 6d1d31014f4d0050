"""How images are framed: photos (near-square) are centre-cropped to a square, the framing ImageNet
backbones were trained on, the same way at ingest, in `automl predict`/serving and inside the model;
wide or tall images and anomaly detection keep the whole image."""

import keras
import keras_tuner as kt
import numpy as np
from PIL import Image

from automl.families import FAMILIES
from automl.ingest import load_dataset
from automl.modalities.image import IMAGE
from automl.profile import profile_dataset


def _banded(path, height: int, width: int, centre: int, seed: int):
    """An image white in its outer eighths of width (outside a 3:4 centre square), `centre` grey in between."""
    rng = np.random.default_rng(seed)
    pixels = np.full((height, width, 3), 255, np.uint8)
    band = width // 8
    pixels[:, band:width - band] = np.clip(rng.normal(centre, 10, (height, width - 2 * band, 3)), 0, 200)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def _folder(root, height, width):
    for c, (name, value) in enumerate((("dark", 40), ("mid", 120))):
        for i in range(8):
            _banded(root / name / f"{i}.png", height, width, value, seed=c * 100 + i)
    return root


def _pixels(dataset):
    return np.concatenate([image.numpy()[None] for image, _ in dataset.train.data])


def test_photos_are_centre_cropped_to_a_square_and_predict_crops_the_same(tmp_path, config_for):
    root = _folder(tmp_path / "photos", height=36, width=48)  # 4:3, like most photos
    dataset = load_dataset(config_for(root))
    assert dataset.images.input_shape[:2] == (36, 36) and dataset.images.crop
    # The white side bands (6 px each side) fall outside the 36-px centre square; squashing would keep them.
    assert _pixels(dataset).max() < 240
    profile = profile_dataset(dataset)
    assert profile.image_inputs.crop
    assert any("centre-cropped" in check.message for check in profile.guardrails)

    served = IMAGE.serve_inputs([np.asarray(Image.open(root / "dark" / "0.png")).tolist()],
                                {"image_inputs": profile.image_inputs.__dict__})[0].numpy()
    assert served.shape == (1, 36, 36, 3) and served.max() < 240


def test_the_model_crops_raw_photos_as_the_ingest_did(tmp_path, config_for):
    root = _folder(tmp_path / "photos", height=36, width=48)
    dataset = load_dataset(config_for(root))
    profile = profile_dataset(dataset)
    model = FAMILIES["cnn"](kt.HyperParameters(), profile)
    raw = np.asarray(Image.open(root / "mid" / "3.png"))[None]
    ingested = IMAGE.serve_inputs([raw[0].tolist()], {"image_inputs": profile.image_inputs.__dict__})[0]
    squashed = keras.ops.image.resize(raw.astype("float32"), (36, 36)).numpy().round().astype("uint8")
    from_raw, from_ingest, from_squash = (model.predict(x, verbose=0) for x in (raw, ingested, squashed))
    np.testing.assert_allclose(from_raw, from_ingest, atol=2e-3)
    assert np.abs(from_raw - from_squash).max() > np.abs(from_raw - from_ingest).max()


def test_wide_images_keep_their_aspect_and_are_not_cropped(tmp_path, config_for):
    dataset = load_dataset(config_for(_folder(tmp_path / "wide", height=16, width=48)))
    assert dataset.images.input_shape[:2] == (16, 48) and not dataset.images.crop
    assert _pixels(dataset).max() >= 250  # the white bands are still there


def test_anomaly_detection_never_crops(tmp_path, config_for):
    root = tmp_path / "flat"
    for i in range(16):
        _banded(root / f"{i}.png", 36, 48, 100, seed=i)
    dataset = load_dataset(config_for(root, task="anomaly"))
    assert not dataset.images.crop and dataset.images.input_shape[:2] == (36, 48)


def test_image_size_sets_the_side_and_photos_are_still_cropped(tmp_path, config_for):
    photos = load_dataset(config_for(_folder(tmp_path / "photos", 36, 48), image_size=24))
    assert photos.images.input_shape[:2] == (24, 24) and photos.images.crop
    wide = load_dataset(config_for(_folder(tmp_path / "wide", 16, 48), image_size=24))
    assert wide.images.input_shape[:2] == (24, 24) and not wide.images.crop
