"""How should the frozen backbone see a photo? Linear probes on MobileNetV2 features of hymenoptera.

For each way of preparing the pixels (the ingest's median-aspect 168×224 image squashed to 224×224, as
the transfer family did; the same image fed at its own 168×224; the original squashed to 224×224; a
centre square; 160×160 for tight budgets), the frozen backbone's pooled features of train, test and
their mirror images are computed once; then a standardised logistic regression is fitted, its C chosen
by 5-fold cross-validation on train alone (a photo and its mirror always in the same fold), with and
without the mirror images in training and with and without averaging over the mirror at test time.
The test split (val/) is only ever scored, never used to choose.

    python benchmarks/prepare_data.py
    python benchmarks/transfer_probe.py [--data /tmp/automl-bench-data]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
FOLDS = 5
WEIGHTS = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


def read_split(folder: Path):
    import tensorflow as tf

    paths, labels = [], []
    for label, class_folder in enumerate(sorted(p for p in folder.iterdir() if p.is_dir())):
        for path in sorted(class_folder.iterdir()):
            paths.append(path)
            labels.append(label)
    images = [tf.io.decode_image(tf.io.read_file(str(p)), channels=3, expand_animations=False) for p in paths]
    return images, np.array(labels)


def prepare(image, how: str):
    """One RGB uint8 image → the float pixels the backbone sees (before its [-1, 1] scaling)."""
    import tensorflow as tf

    def resize(x, h, w):
        return tf.cast(tf.clip_by_value(tf.round(tf.image.resize(x, (h, w), antialias=True)), 0, 255), tf.uint8)

    if how == "centre square 224":
        side = min(image.shape[0], image.shape[1])
        top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
        return tf.image.resize(image[top:top + side, left:left + side], (224, 224))
    if how == "original squashed to 224×224":
        return tf.image.resize(image, (224, 224))
    stored = resize(image, 168, 224)  # what the ingest stores for hymenoptera (median aspect, long side 224)
    if how == "stored 168×224 as is":
        return tf.cast(stored, tf.float32)
    side = 160 if how == "stored, squashed to 160×160" else 224
    return tf.image.resize(tf.cast(stored, tf.float32), (side, side))  # the family's Resizing layer


def features(images, how: str, weights: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """Pooled features of the images and of their mirror images, and the seconds per image."""
    import keras
    import tensorflow as tf

    backbone = keras.applications.MobileNetV2(input_shape=(None, None, 3), include_top=False, weights=str(weights),
                                              pooling="avg")
    start = time.perf_counter()
    plain, mirrored = [], []
    for image in images:
        x = prepare(image, how)[None] / 127.5 - 1.0
        both = backbone(tf.concat([x, tf.image.flip_left_right(x)], 0), training=False).numpy()
        plain.append(both[0])
        mirrored.append(both[1])
    seconds = (time.perf_counter() - start) / (2 * len(images))
    return np.array(plain), np.array(mirrored), seconds


def probe(train, train_mirror, y, c: float, mirrors: bool):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, labels = (np.concatenate([train, train_mirror]), np.concatenate([y, y])) if mirrors else (train, y)
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)).fit(x, labels)


def accuracy(model, x, x_mirror, y, tta: bool) -> float:
    p = model.predict_proba(x)
    if tta:
        p = (p + model.predict_proba(x_mirror)) / 2
    return float((p.argmax(1) == y).mean())


def cross_validated(train, train_mirror, y, c, mirrors, tta) -> float:
    from sklearn.model_selection import StratifiedKFold

    scores = []
    for fit, held in StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(train, y):
        model = probe(train[fit], train_mirror[fit], y[fit], c, mirrors)
        scores.append(accuracy(model, train[held], train_mirror[held], y[held], tta))
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/automl-bench-data"))
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    root = args.data / "hymenoptera" / "hymenoptera_data"
    weights = args.data / "keras_home" / "models" / WEIGHTS
    train_images, y_train = read_split(root / "train")
    test_images, y_test = read_split(root / "val")
    print(f"hymenoptera: {len(y_train)} train, {len(y_test)} test (val/); MobileNetV2 α 1.0, logistic regression "
          f"on standardised pooled features, C from {C_GRID} by {FOLDS}-fold CV on train")
    print("| pixels | s/image | mirrors in training | mirror at test | C (CV) | CV accuracy | test accuracy |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for how in ("stored, squashed to 224×224", "stored 168×224 as is", "original squashed to 224×224",
                "centre square 224", "stored, squashed to 160×160"):
        train, train_mirror, seconds = features(train_images, how, weights)
        test, test_mirror, _ = features(test_images, how, weights)
        for mirrors in (False, True):
            for tta in (False, True):
                cv = {c: cross_validated(train, train_mirror, y_train, c, mirrors, tta) for c in C_GRID}
                best = max(C_GRID, key=lambda c: (cv[c], -c))  # ties: the stronger regularisation
                test_acc = accuracy(probe(train, train_mirror, y_train, best, mirrors), test, test_mirror, y_test, tta)
                print(f"| {how} | {seconds:.3f} | {'yes' if mirrors else 'no'} | {'yes' if tta else 'no'} | {best:g} | "
                      f"{cv[best]:.2%} | {test_acc:.2%} |", flush=True)


if __name__ == "__main__":
    main()
