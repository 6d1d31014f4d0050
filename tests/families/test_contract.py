"""The family contract, checked for every entry of FAMILIES: builds with default hyperparameters,
outputs one probability per class (an anomaly family: one reconstruction error per example), trains an
epoch on tiny data, exports, and the SavedModel — reloaded in a fresh Python process that imports only
TensorFlow (and TensorFlow Text's ops, where metadata.json names them: the text encoder's tokenizer) — predicts the same (an anomaly family: the same scores, flagged by the threshold inside it)."""

import dataclasses
import json
import shutil
import subprocess
import sys
import textwrap

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf

from automl.export import export_model
from automl.families import FAMILIES, MODALITIES
from automl.ingest import load_dataset
from automl.profile import profile_dataset
from automl.modalities.batching import batched
from helpers import WEIGHTS, make_audio_folder, make_text_folder, make_tiny_bert, write_image, write_ts

FRESH_PROCESS = textwrap.dedent("""
    import importlib, json, pathlib, sys
    import numpy as np
    import tensorflow as tf
    ops = json.loads((pathlib.Path(sys.argv[1]) / "metadata.json").read_text()).get("tokenizer_ops")
    if ops:
        importlib.import_module(ops)
    model = tf.saved_model.load(sys.argv[1])
    inputs = np.load(sys.argv[2], allow_pickle=False)
    if "image" in inputs.files:
        batch = tf.constant(inputs["image"])
    elif inputs.files == ["text"]:
        batch = tf.constant(inputs["text"])
    elif inputs.files == ["series"]:
        batch = tf.constant(inputs["series"])
    elif inputs.files == ["audio"]:
        batch = tf.constant(inputs["audio"])
    else:
        batch = {k: tf.constant(inputs[k]) for k in inputs.files}
    out = model.serve(batch)
    if "anomaly_score" in out:
        print(json.dumps({"anomaly_score": out["anomaly_score"].numpy().tolist(),
                          "is_anomaly": out["is_anomaly"].numpy().tolist()}))
        sys.exit(0)
    print(json.dumps({"probabilities": out["probabilities"].numpy().tolist(),
                      "classes": [c.decode() for c in out["predicted_class"].numpy()]}))
""")


@pytest.fixture
def data_for(image_folder, table_csv, tmp_path):
    return {"image": image_folder, "table": table_csv, "text": make_text_folder(tmp_path / "texts"),
            "series": write_ts(tmp_path / "series.ts", channels=2, lengths=(20, 24, 17), missing=True),
            "audio": make_audio_folder(tmp_path / "audio", per_class=8),
            "flat images": [write_image(tmp_path / "flat" / f"{i}.png", 120, seed=i) for i in range(16)][0].parent}


def _raw_inputs(modality, profile, dataset):
    """Raw inputs as a user would send them: odd-sized uint8 images, 1-D columns, 1-D strings, float
    series with NaN padding and a missing value, or waveforms longer than the training clips."""
    if modality == "image":
        rng = np.random.default_rng(0)
        return {"image": rng.integers(0, 255, (5, 23, 31, profile.image_inputs.channels), dtype=np.uint8)}
    if modality == "text":  # unseen words, punctuation, odd case, an empty string and a long text
        return {"text": np.array(["A GREAT film!", "awful, dull plot...", "", "unseen words only",
                                  " ".join(["good bad"] * 300)])}
    if modality == "series":
        spec = profile.series_inputs
        series = np.random.default_rng(0).normal(0, 1, (5, spec.length, spec.channels)).astype(np.float32)
        series[1, spec.length // 2:] = np.nan  # a shorter series, padded
        series[2, 3, 0] = np.nan  # a missing value
        return {"series": series}
    if modality == "audio":  # longer than the training clips: the model cuts them inside
        length = profile.audio_inputs.length
        waveforms = np.random.default_rng(0).uniform(-0.5, 0.5, (5, length + 123)).astype(np.float32)
        waveforms[1] = 0.0  # silence
        return {"audio": waveforms}
    features, _ = next(iter(batched(dataset.test, profile, 5, None)))
    columns = {key: value.numpy()[:, 0] for key, value in features.items()}
    return {key: np.array([v.decode() for v in values]) if values.dtype == object else values
            for key, values in columns.items()}


@pytest.fixture
def weights_home(tmp_path, monkeypatch):
    """A KERAS_HOME holding the real MobileNet 0.25 weights (for the transfer family)."""
    if not WEIGHTS.exists():
        pytest.skip(f"real weights not found at {WEIGHTS}")
    (tmp_path / "kh" / "models").mkdir(parents=True)
    shutil.copy(WEIGHTS, tmp_path / "kh" / "models")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_contract(family, data_for, config_for, tmp_path, request):
    if family == "transfer":
        request.getfixturevalue("weights_home")
    modality, anomaly = MODALITIES[family], FAMILIES[family].anomaly
    data = data_for["flat images" if anomaly and modality == "image" else modality]
    config = config_for(data, task="anomaly") if anomaly else config_for(data)
    dataset = load_dataset(config)
    profile = profile_dataset(dataset)
    hp = kt.HyperParameters()
    if family == "text_encoder":  # a 2-layer BERT with random weights stands in for a pretrained encoder
        hp.values["text_encoder"] = str(make_tiny_bert(tmp_path / "bert"))
    model = FAMILIES[family](hp, profile)
    assert model.output_shape == (None, 1 if anomaly else profile.num_classes)

    history = model.fit(batched(dataset.train, profile, 8, None, seed=0), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

    raw = _raw_inputs(modality, profile, dataset)
    model_input = (tf.constant(raw[modality]) if modality in ("image", "text", "series", "audio")
                   else {k: tf.constant(v[:, None]) for k, v in raw.items()})
    expected = model.predict(model_input, verbose=0)
    if anomaly:  # reconstruction errors, and a threshold that splits them, to see it applied after the reload
        assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
        middle = np.sort(expected[:, 0])[2:4]  # between two scores, so float rounding cannot flip one
        profile = dataclasses.replace(profile, anomaly_threshold=float(middle.mean()))
    else:
        np.testing.assert_allclose(expected.sum(axis=1), 1.0, rtol=1e-5)

    export = export_model(model, profile, model_input, tmp_path)
    assert export.parity_max_abs_diff < 1e-4 and (tmp_path / "model.keras").exists()
    np.savez(tmp_path / "inputs.npz", **raw)
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(export.model_dir), str(tmp_path / "inputs.npz")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if anomaly:
        np.testing.assert_allclose(result["anomaly_score"], expected[:, 0], rtol=1e-4, atol=1e-5)
        assert result["is_anomaly"] == (expected[:, 0] > profile.anomaly_threshold).tolist()
    else:
        np.testing.assert_allclose(result["probabilities"], expected, atol=1e-4)
        assert result["classes"] == [profile.class_names[i] for i in expected.argmax(axis=1)]
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded.predict(model_input, verbose=0), expected, atol=1e-5)
