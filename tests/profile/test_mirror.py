"""The profile's check whether mirror images keep their class (profile.images.mirror_keeps_class)."""

from types import SimpleNamespace

import numpy as np
import tensorflow as tf

from automl.profile.images import mirror_keeps_class


def _split(images, labels):
    return SimpleNamespace(data=tf.data.Dataset.from_tensor_slices((images, labels)), labels=labels,
                           size=len(labels))


def _dataset(make, n=400, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = np.stack([make(label, rng) for label in labels]).astype("uint8")
    half = n // 2
    return SimpleNamespace(task="classification", train=_split(images[:half], labels[:half]),
                           val=_split(images[half:], labels[half:]))


def _sided(label, rng):
    """Class 0 bright on the left, class 1 on the right: a mirror image is the other class."""
    image = rng.integers(0, 40, (16, 16, 1))
    image[:, :8] += 200 if label == 0 else 0
    image[:, 8:] += 200 if label == 1 else 0
    return np.clip(image, 0, 255)


def _centred(label, rng):
    """Class 0 a bright centre, class 1 a bright frame: both symmetric."""
    image = rng.integers(0, 40, (16, 16, 1))
    if label == 0:
        image[4:12, 4:12] += 200
    else:
        image[:2] += 200
        image[-2:] += 200
    return np.clip(image, 0, 255)


def test_mirror_images_are_used_only_where_they_keep_the_class():
    keeps, why = mirror_keeps_class(_dataset(_sided), photos=False, side=16)
    assert not keeps and "do not keep their class" in why
    keeps, why = mirror_keeps_class(_dataset(_centred), photos=False, side=16)
    assert keeps and "keep their class, so the CNN trains on them" in why
    assert mirror_keeps_class(_dataset(_sided), photos=True, side=16)[0]  # photos are not checked
    regression = SimpleNamespace(**{**vars(_dataset(_sided)), "task": "regression"})
    assert not mirror_keeps_class(regression, photos=False, side=16)[0]
