"""Which devices a search trains on, and the settings that make a GPU pay for itself.

On a GPU: memory growth (TensorFlow would otherwise take all of a GPU's memory at start-up, so a second
worker on the same GPU fails), mixed precision (`mixed_float16`) on GPUs with Tensor Cores, with every
family's output layer kept in float32 (automl.modalities.tasks) so the exported model's outputs are
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


@dataclass(frozen=True)
class GpuInfo:
    name: str
    compute_capability: tuple[int, int] | None = None


@dataclass(frozen=True)
class DeviceSetup:
    """What the search trains on.

    Attributes:
        gpus: The GPUs this process uses (empty: CPU only).
        precision: The Keras dtype policy: "float32" or "mixed_float16".
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


def choose_devices(gpus: list[GpuInfo], cpu_cores: int) -> DeviceSetup:
    """The settings for a device list: mixed precision only when every GPU has Tensor Cores (one without
    would hold a mirrored step back), a mirrored strategy when there is more than one GPU."""
    if not gpus:
        return DeviceSetup((), "float32", False, cpu_cores, "no GPU")
    capable = all(gpu.compute_capability is not None and gpu.compute_capability >= MIXED_PRECISION_MIN_CAPABILITY
                  for gpu in gpus)
    if capable:
        reason = "mixed precision: Tensor Cores (compute capability 7.0 or more)"
    else:
        reason = "float32: a GPU below compute capability 7.0 has no Tensor Cores to gain from float16"
    return DeviceSetup(tuple(gpus), "mixed_float16" if capable else "float32", len(gpus) > 1, cpu_cores, reason)


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


def setup_devices() -> DeviceSetup:
    """Detects the devices, chooses the settings and applies them; the search calls this once."""
    setup = choose_devices(detected_gpus(), cpu_cores())
    apply_devices(setup)
    return setup


def reset_precision() -> None:
    """Back to float32 after a search, so code that runs after it in the same process (another run, a
    notebook's own model) is not silently switched to float16."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
