"""Which devices a search trains on, and the settings that make a GPU pay for itself.

On a GPU: memory growth (TensorFlow would otherwise take all of a GPU's memory at start-up, so a second
worker on the same GPU fails), mixed precision on GPUs with Tensor Cores (bfloat16 where the GPU has it,
else float16), with every family's output layer kept in float32 (automl.modalities.tasks) so the exported model's outputs are
unchanged, and Keras Tuner's `distribution_strategy` (MirroredStrategy) across several GPUs in one
process. On a CPU-only machine none of it applies and the search runs as before. XLA is left to Keras:
`jit_compile="auto"` already compiles a model with XLA when all its layers support it.

The choice is a pure function of the device list (choose_devices), so it is tested with faked lists;
apply_devices is the only part that touches TensorFlow's runtime.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Tensor Cores, which make float16 matrix products several times faster than float32, came with compute
# capability 7.0 (Volta). Below that, mixed precision saves memory but runs no faster, or slower.
MIXED_PRECISION_MIN_CAPABILITY = (7, 0)
# bfloat16 Tensor Cores came with 8.0 (Ampere). bfloat16 keeps float32's range, so it needs no loss scaling,
# and it was the faster of the two on an H200: the cnn family's default model on Fashion-MNIST at batch 512
# took 0.22 s an epoch in mixed_bfloat16, 0.28 s in float32 and 0.32 s in mixed_float16 (Keras 3 on JAX;
# benchmarks/gpu_settings.py, RESULTS.md "Round 11").
BFLOAT16_MIN_CAPABILITY = (8, 0)
# Mixed precision is not the default: on that H200 it compiled 2.5-3 times slower (first epoch 23 s against
# 9 s for the cnn; 170 s against 62 s for MobileNetV2 at 96 px) and, at the batch sizes automl uses, trained
# no faster or slower (MobileNetV2, batch 128: 1.50 s an epoch in mixed_float16 against 1.19 s in float32).
# Models of this size leave a GPU waiting on kernel launches, not on arithmetic.


@dataclass(frozen=True)
class GpuInfo:
    name: str
    compute_capability: tuple[int, int] | None = None


@dataclass(frozen=True)
class DeviceSetup:
    """What the search trains on.

    Attributes:
        gpus: The GPUs this process uses (empty: CPU only).
        precision: The Keras dtype policy: "float32", "mixed_float16" or "mixed_bfloat16".
        mirrored: Whether one trial trains on all gpus at once (tf.distribute.MirroredStrategy).
        cpu_cores: The CPU cores this process may run on.
        reason: Why the precision is what it is, for the plan and the report.
    """

    gpus: tuple[GpuInfo, ...]
    precision: str
    mirrored: bool
    cpu_cores: int
    reason: str

    def describe(self) -> str:
        """One line for the console and the report's header."""
        if not self.gpus:
            return f"CPU only ({self.cpu_cores} cores), float32"
        names = sorted({gpu.name for gpu in self.gpus})
        count = f"{len(self.gpus)} × " if len(self.gpus) > 1 else ""
        spread = ", MirroredStrategy across them" if self.mirrored else ""
        return f"{count}{', '.join(names)} GPU, {self.precision}{spread} ({self.reason})"


def choose_devices(gpus: list[GpuInfo], cpu_cores: int, precision: str = "float32") -> DeviceSetup:
    """The settings for a device list: with precision "mixed", mixed precision only when every GPU has Tensor
    Cores (one without would hold a mirrored step back), in bfloat16 when every GPU has bfloat16 ones; a
    mirrored strategy when there is more than one GPU."""
    if not gpus:
        return DeviceSetup((), "float32", False, cpu_cores, "no GPU")
    if precision != "mixed":
        return DeviceSetup(tuple(gpus), "float32", len(gpus) > 1, cpu_cores,
                           "float32: --precision mixed compiled slower and trained no faster at these model sizes")
    weakest = min((gpu.compute_capability or (0, 0)) for gpu in gpus)
    if weakest >= BFLOAT16_MIN_CAPABILITY:
        precision, reason = "mixed_bfloat16", "bfloat16 Tensor Cores (compute capability 8.0 or more)"
    elif weakest >= MIXED_PRECISION_MIN_CAPABILITY:
        precision, reason = "mixed_float16", "float16 Tensor Cores (compute capability 7.x)"
    else:
        precision, reason = "float32", "no Tensor Cores to gain from float16 (compute capability below 7.0)"
    return DeviceSetup(tuple(gpus), precision, len(gpus) > 1, cpu_cores, reason)


def detected_gpus() -> list[GpuInfo]:
    """The GPUs TensorFlow sees in this process, with their compute capability where it reports one."""
    import tensorflow as tf

    found = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
        except (RuntimeError, ValueError):  # a device whose details the driver does not give
            details = {}
        capability = details.get("compute_capability")
        found.append(GpuInfo(details.get("device_name", device.name), tuple(capability) if capability else None))
    return found


def cpu_cores() -> int:
    """The cores this process may run on (a worker is pinned to its share), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS has no affinity
        return os.cpu_count() or 1


def apply_devices(setup: DeviceSetup) -> None:
    """Turns memory growth on for every GPU and sets the dtype policy. Memory growth can only be set before
    TensorFlow first uses a GPU; when it already has, the GPU keeps TensorFlow's default (all its memory)."""
    import keras
    import tensorflow as tf

    for device in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(device, True)
        except RuntimeError:  # the GPU is already initialised: too late, and harmless to skip
            pass
    keras.mixed_precision.set_global_policy(setup.precision)


def distribution_strategy(setup: DeviceSetup):
    """A MirroredStrategy over the GPUs when there are several, else None (Keras Tuner's default)."""
    if not setup.mirrored:
        return None
    import tensorflow as tf

    return tf.distribute.MirroredStrategy()


def setup_devices(precision: str = "float32") -> DeviceSetup:
    """Detects the devices, chooses the settings and applies them; the search calls this once."""
    setup = choose_devices(detected_gpus(), cpu_cores(), precision)
    apply_devices(setup)
    return setup


def reset_precision() -> None:
    """Back to float32 after a search, so code that runs after it in the same process (another run, a
    notebook's own model) is not silently switched to float16."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
