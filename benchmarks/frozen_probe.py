"""The peer a photo run must beat: logistic regression on frozen MobileNetV2 features, measured by itself.

Every image of a class-folder data set (DATA/train/<class>/*, DATA/test/<class>/*) goes once through
MobileNetV2 α 1.0 (ImageNet weights, no top, global average pooling, pixels scaled to [-1, 1]) at --side
pixels; the training images also go through mirrored. A standardised scikit-learn LogisticRegression is
fitted on the training features (mirror images included), its C chosen by 5-fold cross-validation on train
alone (a photo and its mirror always in the same fold); the test split is scored once, averaging each test
photo's probabilities with its mirror's and without. The feature pass and the fit are timed.

    python benchmarks/prepare_data.py
    python benchmarks/frozen_probe.py --data /tmp/automl-bench-data/intel_scenes --side 96
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


def image_paths(folder: Path) -> tuple[list[str], np.ndarray]:
    paths, labels = [], []
    for label, class_folder in enumerate(sorted(p for p in folder.iterdir() if p.is_dir())):
        for path in sorted(class_folder.iterdir()):
            paths.append(str(path))
            labels.append(label)
    return paths, np.array(labels)


def features(paths: list[str], side: int, weights: Path, mirror: bool = False) -> np.ndarray:
    import keras
    import tensorflow as tf

    def load(path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image = tf.image.resize(tf.cast(image, tf.float32), (side, side))
        image = tf.image.flip_left_right(image) if mirror else image
        return image / 127.5 - 1.0

    backbone = keras.applications.MobileNetV2(input_shape=(side, side, 3), include_top=False, weights=str(weights),
                                              pooling="avg")
    data = tf.data.Dataset.from_tensor_slices(paths).map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(64)
    return backbone.predict(data.prefetch(tf.data.AUTOTUNE), verbose=0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder holding train/ and test/ class folders")
    parser.add_argument("--side", type=int, default=96, help="the backbone's input side in pixels")
    parser.add_argument("--keras-home", type=Path, default=Path("/tmp/automl-bench-data/keras_home"),
                        help="folder whose models/ holds the MobileNetV2 no-top weights")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    weights = args.keras_home / "models" / WEIGHTS
    train_paths, train_y = image_paths(args.data / "train")
    test_paths, test_y = image_paths(args.data / "test")
    start = time.perf_counter()
    train_x = np.concatenate([features(train_paths, args.side, weights), features(train_paths, args.side, weights, True)])
    test_x, test_mirror = features(test_paths, args.side, weights), features(test_paths, args.side, weights, True)
    feature_seconds = time.perf_counter() - start
    labels, groups = np.concatenate([train_y, train_y]), np.tile(np.arange(len(train_y)), 2)
    start = time.perf_counter()
    scores = {c: cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)), train_x,
                                 labels, groups=groups, cv=GroupKFold(FOLDS)).mean() for c in C_GRID}
    best_c = max(scores, key=scores.get)
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=best_c, max_iter=2000)).fit(train_x, labels)
    fit_seconds = time.perf_counter() - start
    plain = (probe.predict_proba(test_x).argmax(1) == test_y).mean()
    averaged = ((probe.predict_proba(test_x) + probe.predict_proba(test_mirror)).argmax(1) == test_y).mean()
    print(f"{args.data.name}: {len(train_y)} training and {len(test_y)} test photos, MobileNetV2 at {args.side} px")
    print(f"  feature pass (train, its mirror, test, its mirror): {feature_seconds:.0f} s; "
          f"C chosen by {FOLDS}-fold CV on train: {best_c:g} ({', '.join(f'{c:g}: {s:.4f}' for c, s in scores.items())}); "
          f"CV + fit {fit_seconds:.0f} s")
    print(f"  test accuracy: {plain:.2%} (mirror-averaged: {averaged:.2%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
