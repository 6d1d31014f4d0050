"""Shared test helpers: tiny generated data, and a run's objects built by hand for report tests.

Test files import from here (never from each other); fixtures that use these live in conftest.py.
"""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
from PIL import Image

from automl.config import RunConfig
from automl.diagnose import ClassMetrics, Diagnostics
from automl.export import ExportResult
from automl.ingest import SkippedFile
from automl.profile import Guardrail, ImageInputs, Profile
from automl.profile.columns import ColumnInput, ColumnProfile
from automl.report import RunResult, write_report
from automl.search import SearchResult, TrialRecord
from automl.select import Plan

# The real MobileNet v1 α 0.25 no-top weights (../shared/data beside the checkout); tests skip without them.
WEIGHTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "keras-weights" / "mobilenet_2_5_224_tf_no_top.h5"
EVIL_CLASS = "<script>alert(1)</script>"
EVIL_PATH = "cats/<img src=x onerror=alert(1)>.jpg"


def write_image(path, value: int, size=(16, 16), mode="RGB", seed=0):
    """A noisy image around one brightness: dark and bright classes are separable by mean pixel."""
    rng = np.random.default_rng(seed)
    height, width = size
    pixels = np.clip(rng.normal(value, 20, (height, width, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    image = image.convert(mode) if mode != "RGB" else image
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def make_image_folder(root, per_class=8, classes=("bright", "dark"), sizes=((16, 16),), modes=("RGB",)):
    values = {"bright": 210, "dark": 40, "mid": 125}
    for c, name in enumerate(classes):
        for i in range(per_class):
            size, mode = sizes[i % len(sizes)], modes[i % len(modes)]
            write_image(root / name / f"{name}_{i}.png", values[name], size, mode, seed=c * 100 + i)
    return root


def _history(epochs: int, metric: str) -> dict:
    return {"loss": [1.0 / (e + 1) for e in range(epochs)], "val_loss": [1.1 / (e + 1) + 0.01 * e for e in range(epochs)],
            metric: [0.5 + 0.04 * e for e in range(epochs)], f"val_{metric}": [0.48 + 0.035 * e for e in range(epochs)]}


def _trials(count: int, metric: str, higher_better: bool) -> tuple[TrialRecord, ...]:
    trials = []
    for i in range(count):
        score = 0.6 + 0.3 * ((i * 7) % count) / max(count, 1)
        trials.append(TrialRecord(
            trial_id=f"{i:04d}", hyperparameters={"units": 32 * (i % 4 + 1), "learning_rate": 10 ** -(2 + i % 3),
                                                  "tuner/epochs": 4, "tuner/initial_epoch": 0, "tuner/bracket": 1},
            score=score if higher_better else 1 - score, status="COMPLETED", epochs=4, params=1234 + i,
            seconds=1.234 * (i + 1), history=_history(4, metric)))
    trials.append(TrialRecord("failed", {"units": 8}, None, "FAILED", 0, 0, 0.1, {}))
    return tuple(trials)


def _search(count: int, metric: str, objective: str, higher_better: bool) -> SearchResult:
    trials = _trials(count, metric, higher_better)
    best = (max if higher_better else min)((t for t in trials if t.score is not None), key=lambda t: t.score)
    return SearchResult(model=None, best_trial_id=best.trial_id, best_hyperparameters=dict(best.hyperparameters),
                        trials=trials, objective=objective, tuner="hyperband", stopped_because="max_trials", seconds=42.25)


def _export(run_dir: Path) -> ExportResult:
    return ExportResult(run_dir / "model", run_dir / "model.keras", run_dir / "model" / "metadata.json",
                        3.2e-7, 64, 2_500_000)


def _classification(run_dir: Path, num_trials: int = 3, num_classes: int = 3):
    names = ("cats", "dogs", EVIL_CLASS) + tuple(f"class{i}" for i in range(num_classes - 3))
    config = RunConfig(data="data/pets", run_dir=str(run_dir), seed=7)
    profile = Profile(
        name="pets", modality="image", task="classification", class_names=names,
        split_sizes={"train": 70, "val": 15, "test": 15},
        class_counts={s: tuple(n for _ in names) for s, n in (("train", 20), ("val", 5), ("test", 5))},
        imbalance_ratio=1.0, class_weight=None, facts=(("Source", "data/pets"), ("Task", "classification")),
        guardrails=(Guardrail("Class balance", "Passed", "Balanced."), Guardrail("Image size", "Done", "Resized."),
                    Guardrail("Unreadable files", "Alerted", "60 files were skipped.")),
        skipped=(SkippedFile(EVIL_PATH, "not an image"),)
        + tuple(SkippedFile(f"dogs/bad{i}.jpg", "truncated") for i in range(59)),
        image_inputs=ImageInputs(32, 32, 3))
    plan = Plan("cnn", "Images → a CNN.", "classification", "Classification: 3 classes.", "hyperband", 10, 600.0, 20)
    result = _search(num_trials, "accuracy", "val_accuracy", higher_better=True)
    diagnosis = Diagnostics(
        task="classification", metrics={"train": {"accuracy": 0.99, "loss": 0.05}, "val": {"accuracy": 0.95, "loss": 0.2},
                                        "test": {"accuracy": 0.984, "loss": 0.1}},
        baseline={"accuracy": 0.34}, best_epoch=3, gap=0.04, verdict="ok", verdict_reason="Train and val are close.",
        fixes=(), confusion=tuple(tuple(5 if r == c else 0 for c in range(len(names))) for r in range(len(names))),
        per_class=tuple(ClassMetrics(n, 0.9, 0.8, 0.85, 5) for n in names))
    return config, profile, plan, result, diagnosis, _export(run_dir)


def _regression(run_dir: Path):
    config = RunConfig(data="data/houses.csv", run_dir=str(run_dir), target="price")
    columns = (ColumnProfile("area", "numeric", 0.1, 50, "feature"),
               ColumnProfile("id", "integer", 0.0, 40, "dropped", "ID-like"),
               ColumnProfile("<b>city</b>", "categorical", 0.0, 3, "feature"))
    profile = Profile(
        name="houses", modality="table", task="regression", class_names=(), split_sizes={"train": 28, "val": 6, "test": 6},
        class_counts={}, imbalance_ratio=1.0, class_weight=None, facts=(("Source", "data/houses.csv"),),
        guardrails=(Guardrail("Missing values", "Done", "Filled."),), columns=columns,
        column_inputs=(ColumnInput("area", "area", "numeric", 80.0, 4.0, 75.0),
                       ColumnInput("<b>city</b>", "b_city_b", "categorical", vocabulary=("Paris", "Lyon"))))
    plan = Plan("mlp", "A table → an MLP.", "regression", "Regression: numeric target.", "random", 5, None, 10)
    result = _search(3, "mae", "val_loss", higher_better=False)
    metrics = {s: {"mae": 1.5, "rmse": 2.0, "r2": 0.8} for s in ("train", "val", "test")}
    diagnosis = Diagnostics("regression", metrics, {"mae": 5.0, "rmse": 6.0, "r2": 0.0}, 2, 0.01, "underfitting",
                            "Train R² 0.400 is below 0.5.", ("Give the search more time or epochs.",))
    return config, profile, plan, result, diagnosis, _export(run_dir)


def write_run_report(run_dir: Path, config, profile, plan, result, diagnosis, export, command: str = "",
                     measurements=None):
    """Writes the report of a run assembled from its parts (as the pipeline's RunResult)."""
    run = RunResult(config, profile, plan, result, diagnosis, export, measurements, command)
    return write_report(run, run_dir)


def make_series(label: str, length: int, channels: int, rng) -> np.ndarray:
    """[length, channels]: "up" is a noisy ramp, "wave" a noisy sine; each channel shifted a little."""
    steps = np.linspace(0, 1, length)
    base = steps * 2 - 1 if label == "up" else np.sin(steps * 4 * np.pi)
    return np.stack([base + 0.1 * c + rng.normal(0, 0.1, length) for c in range(channels)], axis=1)


def write_ts(path, per_class: int = 12, channels: int = 1, lengths=(24,), seed: int = 0, missing: bool = False):
    """A UCR/UEA .ts file (written by hand, as the format's spec describes): one labelled series a line,
    channels separated by ':', '?' for a missing value."""
    rng = np.random.default_rng(seed)
    equal = len(set(lengths)) == 1
    lines = ["@problemName generated", "@timeStamps false", f"@missing {str(missing).lower()}",
             f"@univariate {str(channels == 1).lower()}"] + ([] if channels == 1 else [f"@dimensions {channels}"]) + [
             f"@equalLength {str(equal).lower()}"] + ([f"@seriesLength {lengths[0]}"] if equal else []) + [
             "@classLabel true up wave", "@data"]
    for i in range(per_class * 2):
        label = ("up", "wave")[i % 2]
        values = make_series(label, lengths[i % len(lengths)], channels, rng)
        cells = [[f"{v:.4f}" for v in values[:, c]] for c in range(channels)]
        if missing and i == 0:
            cells[0][1] = "?"
        lines.append(":".join(",".join(channel) for channel in cells) + f":{label}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path



TONES = {"low": 300.0, "mid": 900.0, "high": 2000.0}


def write_wav(path, frequency: float = 440.0, seconds: float = 0.25, rate: int = 8000, amplitude: float = 0.5,
              channels: int = 1, seed: int = 0, width: int = 2):
    """A 16-bit PCM .wav (stdlib wave) of a noisy tone; amplitude 0 is silence, above 1 is clipped at full scale."""
    rng = np.random.default_rng(seed)
    steps = np.arange(int(round(seconds * rate))) / rate
    tone = amplitude * np.sin(2 * np.pi * frequency * steps + rng.uniform(0, 2 * np.pi))
    tone = np.clip(tone + (rng.normal(0, 0.01, len(steps)) if amplitude else 0), -1, 1)
    samples = np.repeat(tone[:, None], channels, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(width)
        handle.setframerate(rate)
        if width == 2:
            handle.writeframes(np.round(samples * 32767).astype("<i2").tobytes())
        else:  # 8-bit WAV (unsigned), which TensorFlow does not decode
            handle.writeframes(np.round(samples * 127 + 128).astype("u1").tobytes())
    return path


def make_audio_folder(root, per_class: int = 12, classes=("high", "low"), splits=("",), seconds=(0.25,),
                      rate: int = 8000):
    """root/[split/]CLASS/i.wav: noisy tones whose frequency is the class (separable by pitch), durations
    cycling through `seconds`."""
    for s, split in enumerate(splits):
        for c, label in enumerate(classes):
            for i in range(per_class):
                write_wav(root / split / label / f"{label}_{i}.wav", TONES[label] * (1 + 0.05 * (i % 3)),
                          seconds[i % len(seconds)], rate, amplitude=0.3 + 0.05 * (i % 5), seed=1000 * s + 100 * c + i)
    return root


WORDS = {"pos": ["good", "great", "fine", "lovely"], "neg": ["bad", "awful", "poor", "dull"]}
NOISE = ["the", "a", "movie", "film", "plot", "was", "and", "it", "acting", "story"]


def make_texts(label: str, count: int, seed: int, words: int = 12) -> list[str]:
    """Sentences of noise words with a few of the class's words mixed in."""
    rng = np.random.default_rng(seed)
    texts = []
    for _ in range(count):
        tokens = list(rng.choice(NOISE, words - 3)) + list(rng.choice(WORDS[label], 3))
        texts.append(" ".join(rng.permutation(tokens)) + ".")
    return texts


def make_text_folder(root, per_class: int = 20, splits=("",)):
    """root/[split/]{pos,neg}/i.txt with distinct generated texts."""
    for s, split in enumerate(splits):
        for c, label in enumerate(("neg", "pos")):
            folder = root / split / label if split else root / label
            folder.mkdir(parents=True, exist_ok=True)
            for i, text in enumerate(make_texts(label, per_class, seed=100 * s + 10 * c)):
                (folder / f"{i}_{label}.txt").write_text(text, encoding="utf-8")
    return root


# Run directories made by earlier versions (see tests/report/test_old_runs.py for how they were made).
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# CLI flags for the smallest real run.
FAST_CLI_FLAGS = ["--max-trials", "1", "--epochs", "1", "--batch-size", "8", "--time-budget", "none", "--tuner", "random"]


def no_traceback(capsys) -> str:
    """What the command printed, after checking no traceback reached the user."""
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    return captured.out + captured.err


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder and its bytes, to prove nothing of the user's changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def serve_in_fresh_process(saved_dir: Path, inputs: dict, work_dir: Path) -> np.ndarray:
    """The first output of a SavedModel's serve signature on inputs (name → array), computed in a new Python
    process that imports only NumPy and TensorFlow: proof that the export needs nothing of automl's."""
    import subprocess
    import sys

    np.savez(work_dir / "inputs.npz", **inputs)
    code = ("import sys, numpy as np, tensorflow as tf; serve = tf.saved_model.load(sys.argv[1]).signatures['serve'];"
            "inputs = {k: tf.constant(v) for k, v in np.load(sys.argv[2]).items()};"
            "np.save(sys.argv[3], list(serve(**inputs).values())[0].numpy())")
    done = subprocess.run([sys.executable, "-c", code, str(saved_dir), str(work_dir / "inputs.npz"),
                           str(work_dir / "outputs.npy")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return np.load(work_dir / "outputs.npy")


def assert_reloads_alike(model, keras_inputs, serving_inputs: dict, expected: np.ndarray, work_dir: Path,
                         atol: float) -> None:
    """model predicts `expected` (flattened) on keras_inputs, and so do its .keras file reloaded in safe mode and its
    SavedModel served in a fresh process on serving_inputs (search.tree_graph and search.table_linear)."""
    import keras

    np.testing.assert_allclose(model.predict(keras_inputs, verbose=0).ravel(), expected, atol=atol)
    model.save(work_dir / "model.keras")
    reloaded = keras.models.load_model(work_dir / "model.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(keras_inputs, verbose=0).ravel(), expected, atol=atol)
    model.export(work_dir / "saved", verbose=False)
    np.testing.assert_allclose(serve_in_fresh_process(work_dir / "saved", serving_inputs, work_dir).ravel(), expected,
                               atol=atol)


def make_tiny_bert(folder: Path, layers: int = 2, hidden: int = 16, seed: int = 0) -> Path:
    """A BERT encoder with random weights in the transformers folder format (config.json, model.safetensors with
    sentence-transformers' tensor names, vocab.txt, tokenizer_config.json): it stands in for all-MiniLM-L6-v2.
    Its vocabulary holds the special tokens, the generated texts' words, word pieces and single characters."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    characters = sorted(set("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-"))
    words = sorted({*NOISE, *(w for ws in WORDS.values() for w in ws)} - set(characters))
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *characters, *(f"##{c}" for c in characters), *words]
    (folder / "vocab.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    intermediate, positions = 2 * hidden, 64
    (folder / "config.json").write_text(json.dumps({
        "model_type": "bert", "vocab_size": len(vocabulary), "num_hidden_layers": layers, "hidden_size": hidden,
        "num_attention_heads": 2, "intermediate_size": intermediate, "max_position_embeddings": positions,
        "type_vocab_size": 2}))
    rng = np.random.default_rng(seed)

    def weight(*shape):
        return rng.normal(0, 0.1, shape).astype("float32")

    tensors = {"embeddings.word_embeddings.weight": weight(len(vocabulary), hidden),
               "embeddings.position_embeddings.weight": weight(positions, hidden),
               "embeddings.token_type_embeddings.weight": weight(2, hidden),
               "pooler.dense.weight": weight(hidden, hidden), "pooler.dense.bias": weight(hidden)}
    norms = ["embeddings.LayerNorm"]
    for i in range(layers):
        block = f"encoder.layer.{i}"
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            tensors[f"{block}.{name}.weight"], tensors[f"{block}.{name}.bias"] = weight(hidden, hidden), weight(hidden)
        tensors[f"{block}.intermediate.dense.weight"] = weight(intermediate, hidden)
        tensors[f"{block}.intermediate.dense.bias"] = weight(intermediate)
        tensors[f"{block}.output.dense.weight"], tensors[f"{block}.output.dense.bias"] = \
            weight(hidden, intermediate), weight(hidden)
        norms += [f"{block}.attention.output.LayerNorm", f"{block}.output.LayerNorm"]
    for norm in norms:
        tensors[f"{norm}.weight"], tensors[f"{norm}.bias"] = np.ones(hidden, "float32"), np.zeros(hidden, "float32")
    save_file(tensors, str(folder / "model.safetensors"))
    return folder


class Running:
    """A server in a background thread, stopped when the test module ends."""

    def __init__(self, run_dir: Path, limits=None):
        import socket
        import threading
        import time

        import uvicorn

        from automl.serve import ServeLimits, build_app, load_served_model

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        app = build_app(load_served_model(run_dir, "automl"), limits or ServeLimits())
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        end = time.monotonic() + 30
        while not self.server.started and time.monotonic() < end:
            time.sleep(0.05)

    def request(self, path: str, body=None, method: str | None = None, headers: dict | None = None):
        import urllib.error
        import urllib.request

        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                self.headers = response.headers  # case-insensitive
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            self.headers = error.headers
            return error.code, json.loads(error.read())

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def make_speech_embedding_folder(root) -> Path:
    """root/{melspectrogram,embedding_model}.onnx in the layout of openwakeword's speech embedding, tiny and random:
    the mel file holds only its 257 × 32 mel matrix (triangles over bins 2-121, as the real one); the embedding file
    runs on ONNX Runtime and uses every operation the real one does (pad, reshape, convolutions with and without
    bias and padding, ReLU, batch normalisation, leaky ReLU, the -0.4 floor, max pooling) on 76 frames × 32 bands,
    to 6 values."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    peaks = np.linspace(4, 113, 34)
    mel = np.zeros((257, 32), dtype="float32")
    for band in range(32):
        bins = np.arange(257)
        rising = (bins - peaks[band]) / (peaks[band + 1] - peaks[band])
        falling = (peaks[band + 2] - bins) / (peaks[band + 2] - peaks[band + 1])
        mel[:, band] = np.clip(np.minimum(rising, falling), 0, None)
    mel_graph = helper.make_graph([helper.make_node("Identity", ["input"], ["output"])], "mel",
                                  [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, None])],
                                  [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, None])],
                                  [numpy_helper.from_array(mel, "1.melW")])
    onnx.save(helper.make_model(mel_graph), str(root / "melspectrogram.onnx"))

    rng = np.random.default_rng(0)
    weights = {"pads": np.array([0, 0, 1, 0, 0, 0, 1, 0], dtype="int64"),
               "to_nchw": np.array([-1, 1, 76, 34], dtype="int64"),
               "to_nhwc": np.array([-1, 1, 1, 6], dtype="int64"),
               "floor": np.full((1, 1, 1, 1), -0.4, dtype="float32"),
               "w0": rng.normal(0, 0.3, (4, 1, 3, 3)), "gamma": rng.uniform(0.5, 1.5, 4), "beta": rng.normal(0, 0.1, 4),
               "mean": rng.normal(0, 0.1, 4), "variance": rng.uniform(0.5, 1.5, 4),
               "w1": rng.normal(0, 0.3, (4, 4, 1, 3)), "b1": rng.normal(0, 0.1, 4),
               "w2": rng.normal(0, 0.3, (4, 4, 3, 1)), "b2": rng.normal(0, 0.1, 4),
               "w3": rng.normal(0, 0.3, (6, 4, 1, 1))}
    node = helper.make_node
    nodes = [node("Pad", ["input_1", "pads"], ["padded"]), node("Reshape", ["padded", "to_nchw"], ["x0"]),
             node("Conv", ["x0", "w0"], ["c0"], kernel_shape=[3, 3]), node("Relu", ["c0"], ["r0"]),
             node("BatchNormalization", ["r0", "gamma", "beta", "mean", "variance"], ["n0"], epsilon=1e-3),
             node("LeakyRelu", ["n0"], ["l0"], alpha=0.2), node("Max", ["l0", "floor"], ["m0"]),
             node("MaxPool", ["m0"], ["p0"], kernel_shape=[2, 2], strides=[2, 2]),
             node("Conv", ["p0", "w1", "b1"], ["c1"], kernel_shape=[1, 3], pads=[0, 1, 0, 1]),
             node("LeakyRelu", ["c1"], ["l1"], alpha=0.2), node("Max", ["l1", "floor"], ["m1"]),
             node("Conv", ["m1", "w2", "b2"], ["c2"], kernel_shape=[3, 1]),
             node("LeakyRelu", ["c2"], ["l2"], alpha=0.2), node("Max", ["l2", "floor"], ["m2"]),
             node("MaxPool", ["m2"], ["p2"], kernel_shape=[35, 16], strides=[35, 16]),
             node("Conv", ["p2", "w3"], ["c3"], kernel_shape=[1, 1]), node("Reshape", ["c3", "to_nhwc"], ["embedding"])]
    graph = helper.make_graph(nodes, "embedding",
                              [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [None, 76, 32, 1])],
                              [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [None, 1, 1, 6])],
                              [numpy_helper.from_array(np.asarray(value, dtype=value.dtype if value.dtype == "int64"
                                                                  else "float32"), name)
                               for name, value in weights.items()])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(root / "embedding_model.onnx"))
    return root
