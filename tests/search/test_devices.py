"""Device choice (faked device lists), float32 outputs under mixed precision, and the out-of-memory retry
with an injected error."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from automl.search.devices import GpuInfo, choose_devices, distribution_strategy, reset_precision
from automl.search.out_of_memory import fit_halving_batch, halving_notes, halving_recorder


def test_cpu_only_machine_trains_in_float32():
    setup = choose_devices([], cpu_cores=2)
    assert (setup.precision, setup.mirrored, setup.gpus) == ("float32", False, ())
    assert setup.describe() == "CPU only (2 cores), float32"
    assert distribution_strategy(setup) is None


def test_gpus_train_in_float32_unless_mixed_precision_is_asked_for():
    hopper = choose_devices([GpuInfo("NVIDIA H100", (9, 0))], cpu_cores=16)
    assert hopper.precision == "float32" and "--precision mixed" in hopper.reason


def test_tensor_core_gpus_get_mixed_precision_when_asked():
    hopper = choose_devices([GpuInfo("NVIDIA H100", (9, 0))], cpu_cores=16, precision="mixed")
    assert hopper.precision == "mixed_bfloat16" and not hopper.mirrored
    assert "NVIDIA H100" in hopper.describe() and "mixed_bfloat16" in hopper.describe()
    volta = choose_devices([GpuInfo("Tesla V100", (7, 0))], cpu_cores=16, precision="mixed")
    assert volta.precision == "mixed_float16"
    assert choose_devices([], cpu_cores=2, precision="mixed").precision == "float32"  # a CPU ignores it


@pytest.mark.parametrize("capability", [(6, 1), None])
def test_gpu_without_tensor_cores_stays_float32(capability):
    setup = choose_devices([GpuInfo("Tesla P4", capability)], cpu_cores=8, precision="mixed")
    assert setup.precision == "float32"
    assert "no Tensor Cores" in setup.reason


def test_several_gpus_mirror_and_the_weakest_sets_the_precision():
    both_new = choose_devices([GpuInfo("A100", (8, 0)), GpuInfo("A100", (8, 0))], cpu_cores=32, precision="mixed")
    assert both_new.mirrored and both_new.precision == "mixed_bfloat16"
    assert both_new.describe().startswith("2 × A100 GPU")
    with_volta = choose_devices([GpuInfo("A100", (8, 0)), GpuInfo("V100", (7, 0))], cpu_cores=32, precision="mixed")
    assert with_volta.precision == "mixed_float16"
    with_pascal = choose_devices([GpuInfo("A100", (8, 0)), GpuInfo("Tesla P100", (6, 0))], cpu_cores=32,
                                 precision="mixed")
    assert with_pascal.mirrored and with_pascal.precision == "float32"


def test_outputs_stay_float32_under_mixed_precision(table_csv, config_for):
    from automl.families import FAMILIES
    from automl.pipeline import plan_run
    import keras_tuner as kt

    _, profile, plan = plan_run(config_for(table_csv))
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = FAMILIES["mlp"](kt.HyperParameters(), profile)
        hidden = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][0]
        assert hidden.compute_dtype == "bfloat16"  # the policy took effect on the body
        assert model.outputs[0].dtype == "float32"
    finally:
        reset_precision()
    assert keras.mixed_precision.global_policy().name == "float32"


def _dataset(batch: int) -> tf.data.Dataset:
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, (x[:, 0] > 0).astype("float32"))).batch(batch)


def _model() -> keras.Model:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    return model


def test_out_of_memory_halves_the_batch_until_it_fits(tmp_path):
    model, seen = _model(), []

    def fit(data, **kwargs):  # a GPU that holds 8 examples a batch
        size = int(next(iter(data))[0].shape[0])
        seen.append(size)
        if size > 8:
            raise tf.errors.ResourceExhaustedError(None, None, f"OOM when allocating tensor with shape[{size},3]")
        return model.fit(data, **kwargs)

    history = fit_halving_batch(fit, 32, (_dataset(32),), {"epochs": 1, "verbose": 0,
                                                           "validation_data": _dataset(32)},
                                halving_recorder(tmp_path, "0007"))
    assert seen == [32, 16, 8]
    assert len(history.history["loss"]) == 1 and "val_loss" in history.history
    notes = halving_notes(tmp_path)
    assert len(notes) == 2
    assert "Trial 0007 ran out of memory at batch size 32" in notes[0] and "retried at 16" in notes[0]


def test_out_of_memory_at_one_example_a_batch_is_raised():
    def fit(data, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM")

    with pytest.raises(tf.errors.ResourceExhaustedError):
        fit_halving_batch(fit, 2, (_dataset(2),), {})


def test_other_errors_are_not_retried():
    calls = []

    def fit(data, **kwargs):
        calls.append(1)
        raise ValueError("a shape mismatch is a bug, not a memory limit")

    with pytest.raises(ValueError):
        fit_halving_batch(fit, 32, (_dataset(32),), {})
    assert calls == [1]

