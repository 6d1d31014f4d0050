"""GPU settings benchmark: what mixed precision, the batch size and XLA buy for the cnn family's default
model on Fashion-MNIST (60,000 training images), per epoch and in test accuracy.

It is deliberately standalone (Keras only, any backend: no automl import), so it runs where TensorFlow does
not: the GPU machines lent to this project have no TensorFlow, and its wheel (about 600 MB) cannot travel
there, so their rows come from Keras 3 on the JAX backend (KERAS_BACKEND=jax), which they have. The model is
the cnn family's default configuration (automl/families/cnn.py: 3 blocks of two 3×3 conv-BN-ReLU layers at
32/64/128 filters and a max-pool, global average pooling, dropout 0.3, dense 128, a float32 softmax head),
trained with Adam at 1e-3.

    python benchmarks/gpu_settings.py --data /tmp/fashion-mnist --epochs 3 --batch-sizes 64,256
    KERAS_BACKEND=jax python benchmarks/gpu_settings.py --data DIR --epochs 3   # on a GPU machine
    KERAS_BACKEND=jax python benchmarks/gpu_settings.py --data DIR --model mobilenetv2 --train-limit 20000

Writes one JSON line per setting to stdout (and --out), and a Markdown table at the end.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np

FILES = {"x_train": "train-images-idx3-ubyte.gz", "y_train": "train-labels-idx1-ubyte.gz",
         "x_test": "t10k-images-idx3-ubyte.gz", "y_test": "t10k-labels-idx1-ubyte.gz"}


def read_idx(path: Path) -> np.ndarray:
    raw = gzip.open(path).read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def cnn_family_default(keras, precision: str):
    """The cnn family's default configuration, under the given dtype policy (the head stays float32)."""
    from keras import layers

    keras.mixed_precision.set_global_policy(precision)
    inputs = keras.Input((28, 28, 1), dtype="float32")
    x = layers.Rescaling(1.0 / 255)(inputs)
    for block in range(3):
        for _ in range(2):
            x = layers.Conv2D(32 * 2**block, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs)


def mobilenet_v2(keras, precision: str, side: int = 96):
    """The transfer family's backbone (MobileNetV2 α 1.0, here untrained: weights cannot travel either) on the
    images resized to side × side × 3: a compute-heavy model, where mixed precision should pay most."""
    from keras import layers

    keras.mixed_precision.set_global_policy(precision)
    inputs = keras.Input((28, 28, 1), dtype="float32")
    x = layers.Resizing(side, side)(inputs)
    x = layers.Concatenate()([x, x, x])
    x = layers.Rescaling(1 / 127.5, offset=-1)(x)
    backbone = keras.applications.MobileNetV2(input_shape=(side, side, 3), include_top=False, weights=None)
    x = layers.GlobalAveragePooling2D()(backbone(x))
    outputs = layers.Dense(10, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs)


MODELS = {"cnn": cnn_family_default, "mobilenetv2": mobilenet_v2}


def measure(keras, data: dict, precision: str, batch_size: int, epochs: int, jit, model_name: str = "cnn") -> dict:
    keras.utils.set_random_seed(0)
    model = MODELS[model_name](keras, precision)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jit)
    times = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    start = time.perf_counter()
    model.fit(data["x_train"], data["y_train"], batch_size=batch_size, epochs=epochs, verbose=0,
              callbacks=[EpochTimer()])
    total = time.perf_counter() - start
    _, accuracy = model.evaluate(data["x_test"], data["y_test"], batch_size=1024, verbose=0)
    keras.mixed_precision.set_global_policy("float32")
    steady = times[1:] or times  # the first epoch includes tracing and compiling
    return {"model": model_name, "backend": keras.backend.backend(), "precision": precision, "batch_size": batch_size, "jit": str(jit),
            "epochs": epochs, "first_epoch_s": round(times[0], 2), "epoch_s": round(float(np.median(steady)), 2),
            "images_per_s": round(len(data["x_train"]) / float(np.median(steady))), "total_s": round(total, 1),
            "test_accuracy": round(float(accuracy), 4)}


def devices(keras) -> str:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        return ", ".join(f"{d.platform}:{getattr(d, 'device_kind', d)}" for d in jax.devices())
    if backend == "tensorflow":
        import tensorflow as tf
        gpus = tf.config.list_physical_devices("GPU")
        return ", ".join(d.name for d in gpus) or "CPU"
    return backend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder of the four Fashion-MNIST IDX .gz files")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-sizes", default="64,256,1024")
    parser.add_argument("--precisions", default="float32,mixed_float16,mixed_bfloat16")
    parser.add_argument("--jit", default="auto", help="comma-separated: auto, true, false")
    parser.add_argument("--train-limit", type=int, default=None, help="use only this many training images")
    parser.add_argument("--model", choices=sorted(MODELS), default="cnn")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import keras

    data = {name: read_idx(args.data / file) for name, file in FILES.items()}
    data = {name: (array[..., None].astype("float32") if name.startswith("x") else array.astype("int32"))
            for name, array in data.items()}
    if args.train_limit:
        data["x_train"], data["y_train"] = data["x_train"][:args.train_limit], data["y_train"][:args.train_limit]
    print(f"# keras {keras.__version__}, backend {keras.backend.backend()}, devices: {devices(keras)}", flush=True)
    rows = []
    jits = [{"auto": "auto", "true": True, "false": False}[j] for j in args.jit.split(",")]
    for jit in jits:
        for precision in args.precisions.split(","):
            for batch_size in map(int, args.batch_sizes.split(",")):
                row = measure(keras, data, precision, batch_size, args.epochs, jit, args.model)
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.out:
                    with args.out.open("a") as out:
                        out.write(json.dumps(row) + "\n")
    print("\n| model | backend | precision | batch | jit | s/epoch (after the 1st) | images/s | 1st epoch s | test acc. |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['backend']} | {r['precision']} | {r['batch_size']} | {r['jit']} | {r['epoch_s']} | "
              f"{r['images_per_s']} | {r['first_epoch_s']} | {r['test_accuracy']:.2%} |")


if __name__ == "__main__":
    main()
