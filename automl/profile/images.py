"""Profile stage, images: sizes and colour modes, their guardrails, and the model's input shape."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from automl.profile.guardrails import DONE, PASSED, Guardrail


@dataclass(frozen=True)
class ImageInputs:
    height: int
    width: int
    channels: int
    crop: bool = False  # images are centre-cropped to height:width before resizing (else squashed)
    mirror: bool = False  # a mirror image keeps its class, so the CNN trains on mirror images (mirror_keeps_class)


# Whether mirror images keep their class, for images that are not photos: a logistic regression on thumbnails
# of up to MIRROR_SAMPLE training images, fitted with and without their mirror images, scored on up to 1,000
# validation images. Measured (benchmarks/mirror_probe.py): mirror images cost the linear model 2.0 points on
# Fashion-MNIST, where they lift the CNN (200 s: 92.09 → 92.86 % test), and 6.0 points on MNIST, whose digits
# are not symmetric (the CNN trained on them: 99.08 %, against 99.19 % before). Photos always keep their class.
MIRROR_MAX_LOSS = 0.03
MIRROR_SAMPLE = 2000
MIRROR_THUMBNAIL = 16


def mirror_keeps_class(dataset, photos: bool, side: int) -> tuple[bool, str]:
    """(whether mirror images keep their class, a sentence for the facts)."""
    if photos:
        return True, "photos: the CNN trains on mirror images too"
    if dataset.task != "classification" or dataset.val.size < 20:
        return False, "not checked (a class task with a validation split is needed): no mirror images in training"
    import tensorflow as tf
    from sklearn.linear_model import LogisticRegression

    def thumbnails(split, count):
        images = split.data.map(lambda x, y: x).take(count).batch(256)
        out = np.concatenate([tf.image.resize(tf.cast(batch, tf.float32), (side, side)).numpy() for batch in images])
        return out / 255.0, np.asarray(split.labels)[:len(out)]

    train_x, train_y = thumbnails(dataset.train, MIRROR_SAMPLE)
    val_x, val_y = thumbnails(dataset.val, 1000)
    if len(np.unique(train_y)) < 2:  # the sample holds one class (a split in class order): nothing to compare
        return False, "not checked (the first training images hold one class): no mirror images in training"
    flat = lambda a: a.reshape(len(a), -1)
    plain = LogisticRegression(C=0.1, max_iter=300).fit(flat(train_x), train_y).score(flat(val_x), val_y)
    mirrored = LogisticRegression(C=0.1, max_iter=300).fit(
        flat(np.concatenate([train_x, train_x[:, :, ::-1]])), np.concatenate([train_y, train_y])).score(flat(val_x), val_y)
    keeps = plain - mirrored < MIRROR_MAX_LOSS
    return keeps, (f"a linear model on thumbnails scores {plain:.1%} on validation, {mirrored:.1%} when it also learns "
                   f"from mirror images: {'they keep their class, so the CNN trains on them' if keeps else 'they do not keep their class, so the CNN does not train on them'}")


def image_facts(dataset):
    info = dataset.images
    height, width, channels = info.input_shape
    modes = Counter(info.modes)
    facts = [("Image sizes (h×w)", f"median {int(np.median(info.heights))}×{int(np.median(info.widths))}, "
                                   f"min {info.heights.min()}×{info.widths.min()}, max {info.heights.max()}×{info.widths.max()}"),
             ("Colour modes", ", ".join(f"{mode} {count}" for mode, count in modes.most_common())),
             ("Model input", f"{height}×{width}×{channels}")]
    mixed = len(set(zip(info.heights.tolist(), info.widths.tolist()))) > 1 or (info.heights[0], info.widths[0]) != (height, width)
    fit = "centre-cropped to a square and resized" if info.crop else "resized"
    checks = [Guardrail("Image size", DONE if mixed else PASSED,
                        f"Images are {fit} to {height}×{width}, here and inside the exported model." if mixed
                        else f"All images are {height}×{width}."),
              Guardrail("Channels", DONE if len(modes) > 1 else PASSED,
                        f"Mixed colour modes ({', '.join(modes)}) are converted to {channels} channel(s)."
                        if len(modes) > 1 else f"All images are {next(iter(modes))}.")]
    mirror, why = mirror_keeps_class(dataset, channels == 3 and min(height, width) >= 32,
                                     min(MIRROR_THUMBNAIL, height, width))
    facts.append(("Mirror images", why))
    return facts, checks, {"image_inputs": ImageInputs(height, width, channels, info.crop, mirror)}
