"""Export stage, more formats: TFLite (float32, float16, dynamic-range int8) and ONNX, each checked
against the Keras model on held-out samples (max absolute probability difference, top-1 agreement).

The converted models take the Keras model's own inputs (resized float images, or one [n, 1] tensor
per column), in the order `input_names` gives; metadata.json beside the SavedModel names them.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from automl.export.latency import Latency, measure_latency

TFLITE_VARIANTS = ("tflite-float32", "tflite-float16", "tflite-int8-dynamic")
FORMATS = (*TFLITE_VARIANTS, "onnx")
# The float16 and int8 variants are only cheaper if they predict nearly the same; these limits say
# what "nearly" is. Float32 formats must match to rounding.
PARITY_LIMITS = {"tflite-float32": 1e-4, "onnx": 1e-4, "tflite-float16": 1e-2, "tflite-int8-dynamic": 5e-2}
ONNX_OPSET = 17


@dataclass(frozen=True)
class FormatExport:
    """One exported format and how faithfully it reproduces the Keras model.

    Attributes:
        error: Why the conversion failed (then path is None and the figures are missing).
    """

    format: str
    path: Path | None
    size_bytes: int
    max_abs_diff: float | None
    top1_agreement: float | None
    samples: int
    seconds: float
    latency: Latency | None = None
    error: str | None = None

    @property
    def within_limit(self) -> bool:
        return self.max_abs_diff is not None and self.max_abs_diff <= PARITY_LIMITS[self.format]


def _flat_specs(model) -> list[tf.TensorSpec]:
    """One TensorSpec per model input, named input_000, input_001, … so sorted names keep their order."""
    return [tf.TensorSpec(t.shape, t.dtype, name=f"input_{i:03d}") for i, t in enumerate(tf.nest.flatten(model.input))]


def _probability_function(model):
    specs, structure = _flat_specs(model), model.input

    def probabilities(*args):
        return model(tf.nest.pack_sequence_as(structure, list(args)), training=False)
    return tf.function(probabilities, input_signature=specs)


def flat_inputs(model, samples) -> list[np.ndarray]:
    """The samples as a list of arrays in the model's input order and dtypes."""
    specs = _flat_specs(model)
    values = tf.nest.flatten(samples) if isinstance(samples, dict) else [samples]
    return [np.asarray(v).astype(object if spec.dtype == tf.string else spec.dtype.as_numpy_dtype)
            for v, spec in zip(values, specs)]


def _tflite_bytes(model, variant: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        archive = keras.export.ExportArchive()  # tracks Keras 3 variables; tf.saved_model.save loses them here
        archive.track(model)
        archive.add_endpoint("serve", _probability_function(model))
        archive.write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=["serve"])
        # Lookup tables (string columns) have no builtin TFLite kernel; TensorFlow's own ops fill in.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
        if variant != "tflite-float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]  # alone: dynamic-range int8 weights
        if variant == "tflite-float16":
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert()


def tflite_runner(path: Path):
    """A function from a list of input arrays to probabilities, running the TFLite file."""
    interpreter = tf.lite.Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner("serve")
    names = sorted(runner.get_input_details())

    def run(inputs):
        return next(iter(runner(**dict(zip(names, inputs))).values()))
    return run


def _onnx_bytes(model) -> bytes:
    import tf2onnx  # optional: only `automl export --format onnx` and the report's ONNX row need it

    function = _probability_function(model)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=function.input_signature, opset=ONNX_OPSET)
    return proto.SerializeToString()


def onnx_runner(path: Path):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def run(inputs):
        return session.run(None, dict(zip(names, inputs)))[0]
    return run


def export_format(model, samples, out_dir: Path, fmt: str, time_it: bool = True) -> FormatExport:
    """Converts the Keras model to one format, writes it to out_dir and checks it on the samples.

    Args:
        samples: A batch of held-out raw inputs, as the Keras model takes them.
        fmt: One of FORMATS.
        time_it: Also measure single-example latency and batch throughput of the converted model.

    Returns:
        The export and its parity figures; a failed conversion is returned with `error` set, never raised,
        so one unsupported format does not lose the run.
    """
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}.")
    start = time.monotonic()
    inputs = flat_inputs(model, samples)
    try:
        if fmt == "onnx":
            path, content, make_runner = out_dir / "model.onnx", _onnx_bytes(model), onnx_runner
        else:
            path, content, make_runner = out_dir / f"model-{fmt.removeprefix('tflite-')}.tflite", \
                _tflite_bytes(model, fmt), tflite_runner
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        run = make_runner(path)
        got = np.asarray(run(inputs))
        if not np.all(np.isfinite(got)):
            raise ValueError("the converted model outputs NaN or infinity on held-out samples")
    except Exception as error:  # converters fail on unsupported ops in many ways; the report says which
        message = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
        return FormatExport(fmt, None, 0, None, None, 0, time.monotonic() - start, error=message[:300])
    # The reference runs in graph mode too: eager Resizing alone differs by ~2e-3 (see automl.export.savedmodel).
    expected = _probability_function(model)(*[tf.constant(v) for v in inputs]).numpy()
    latency = measure_latency(run, inputs, max_seconds=1.0) if time_it else None
    got = got.reshape(expected.shape)
    # Top-1 agreement is for class probabilities; one regression output always "agrees".
    agreement = float(np.mean(got.argmax(-1) == expected.argmax(-1))) if expected.shape[-1] > 1 else None
    return FormatExport(fmt, path, path.stat().st_size, float(np.max(np.abs(got - expected))), agreement, len(expected),
                        time.monotonic() - start, latency)
