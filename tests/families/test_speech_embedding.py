"""The pretrained speech embedding rebuilt in Keras (families.speech_embedding) and its logistic-regression candidate
(search.speech_head), on a tiny random stand-in in the same ONNX layout (helpers.make_speech_embedding_folder): the
real files come with `pip install --no-deps openwakeword==0.4.0` and are used only in benchmarks."""

from __future__ import annotations

import sys

import keras
import numpy as np
import pytest

from automl.errors import ConfigError
from automl.families import speech_embedding as se
from helpers import make_audio_folder, make_speech_embedding_folder


@pytest.fixture
def speech_folder(tmp_path):
    return make_speech_embedding_folder(tmp_path / "speech")


def _frames_model(rate: int, folder):
    inputs = keras.Input((None,))
    return keras.Model(inputs, se.speech_frames(inputs, rate, se.onnx_graphs(str(folder))[0]))


def test_the_rebuilt_network_computes_what_onnx_runtime_computes(speech_folder):
    import onnxruntime

    _, nodes, weights = se.onnx_graphs(str(speech_folder))
    frames = np.random.default_rng(1).uniform(2, 10, (3, 76, 32)).astype("float32")
    inputs = keras.Input((None, 32))
    ours = keras.Model(inputs, se.speech_embeddings(inputs, nodes, weights)).predict(frames, verbose=0)
    session = onnxruntime.InferenceSession(str(speech_folder / "embedding_model.onnx"))
    theirs = session.run(None, {"input_1": frames[..., None]})[0]
    assert ours.shape == (3, 1, 6)
    np.testing.assert_allclose(ours[:, 0], theirs.reshape(3, 6), rtol=1e-4, atol=1e-4)


def test_a_sound_gives_the_same_frames_at_8_and_16_khz(speech_folder):
    """The frames keep their durations at any rate and the power is rescaled by the window's sum, so the
    embedding sees the same bands whatever rate the data came at (it was trained at 16 kHz)."""
    def tones(rate):
        t = np.arange(int(0.5 * rate)) / rate
        return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 1800 * t)).astype("float32")[None]

    at_8k = _frames_model(8000, speech_folder).predict(tones(8000), verbose=0)[0]
    at_16k = _frames_model(16000, speech_folder).predict(tones(16000), verbose=0)[0]
    assert at_8k.shape == at_16k.shape == (47, 32)  # frames of 32 ms every 10 ms over 0.5 s
    assert np.abs(at_8k - at_16k).mean() < 0.02  # values span 8 (80 dB / 10)
    assert np.ptp(at_8k) > 4  # and they are not flat: the tones' bands stand out
    quiet = _frames_model(16000, speech_folder).predict(0.1 * tones(16000), verbose=0)[0]
    np.testing.assert_allclose(quiet, at_16k - 2.0, atol=1e-3)  # 20 dB quieter: 2 lower (the model's scale)


def test_each_clip_is_floored_under_its_own_peak_not_the_batchs(speech_folder):
    t = np.arange(4000) / 8000
    quiet = 0.001 * np.sin(2 * np.pi * 440 * t) + np.random.default_rng(0).normal(0, 1e-4, 4000)
    loud = 0.9 * np.sin(2 * np.pi * 440 * t)
    model = _frames_model(8000, speech_folder)
    alone = model.predict(quiet[None].astype("float32"), verbose=0)[0]
    batched = model.predict(np.stack([quiet, loud]).astype("float32"), verbose=0)[0]
    np.testing.assert_allclose(alone, batched, atol=1e-4)


def test_folders_are_checked_and_none_turns_it_off(tmp_path, speech_folder, monkeypatch):
    assert se.find_speech_embedding("none") is None
    assert se.find_speech_embedding(str(speech_folder)) == speech_folder  # a folder the user names: not checksummed
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "melspectrogram.onnx").write_bytes(b"")
    with pytest.raises(ConfigError, match="has no embedding_model.onnx"):
        se.find_speech_embedding(str(tmp_path / "half"))
    assert se.find_speech_embedding(None) is None  # tests see no openwakeword package (conftest)
    package = tmp_path / "site" / "fake_wakeword"
    models = make_speech_embedding_folder(package / "resources" / "models")
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(se, "PACKAGE", "fake_wakeword")
    assert se.packaged_folder() == models
    assert se.find_speech_embedding(None) is None  # an installed package is used only with the published files
    digests = {name: se.file_sha256(models / name) for name in se.FILES}
    monkeypatch.setattr(se, "FILES", digests)
    assert se.find_speech_embedding(None) == models
    (models / "embedding_model.onnx").write_bytes(b"not onnx")
    with pytest.raises(ConfigError, match="cannot be read"):
        se.onnx_graphs(str(models))
    sys.modules.pop("fake_wakeword", None)


def test_the_speech_head_is_one_keras_model_from_waveforms_that_reloads(tmp_path, speech_folder, config_for):
    from automl.ingest import load_dataset
    from automl.profile import profile_dataset
    from automl.search.simple import simple_fitters
    from automl.search.simple import SPEECH_NAME as NAME

    dataset = load_dataset(config_for(make_audio_folder(tmp_path / "tones", per_class=10)))
    profile = profile_dataset(dataset)
    assert simple_fitters(dataset, profile) == {}  # audio has no simple model without the embedding
    fitted = simple_fitters(dataset, profile, speech_folder)[NAME](dataset.train)
    clips = np.stack([x for x, _ in dataset.train.data.as_numpy_iterator()])
    probabilities = fitted.model.predict(clips, verbose=0)
    assert probabilities.shape == (len(clips), 2)
    assert (probabilities.argmax(1) == dataset.train.labels).mean() >= 0.9  # two tones, told apart
    np.testing.assert_allclose(fitted.reference.fit(fitted.inputs, dataset.train.labels).predict_proba(fitted.inputs),
                               probabilities, atol=1e-4)  # the Keras model is the scikit-learn fit it mirrors
    assert not any(layer.trainable_weights for layer in fitted.model.layers if layer.name != "probabilities")
    fitted.model.save(tmp_path / "speech.keras")
    reloaded = keras.saving.load_model(tmp_path / "speech.keras")  # plain Keras: no custom objects
    np.testing.assert_allclose(reloaded.predict(clips[:3], verbose=0), probabilities[:3], atol=1e-5)


def test_the_plan_says_whether_the_speech_embedding_competes_and_how_to_get_it(tmp_path, config_for):
    from automl.ingest import load_dataset
    from automl.profile import profile_dataset
    from automl.select import choose_family

    data = make_audio_folder(tmp_path / "tones", per_class=6)
    profile = profile_dataset(load_dataset(config_for(data)))
    assert se.INSTALL_HINT in choose_family(profile, config_for(data)).reason
    assert "(--audio-encoder none)" in choose_family(profile, config_for(data, audio_encoder="none")).reason
    folder = make_speech_embedding_folder(tmp_path / "speech")
    reason = choose_family(profile, config_for(data, audio_encoder=str(folder))).reason
    assert f"pretrained speech_embedding (frozen, from {folder}" in reason and "CNN" in reason


def test_a_run_ships_the_speech_candidate_which_predicts_and_serves_wav_files(tmp_path, speech_folder, capsys):
    import base64
    import json

    import pandas as pd

    from automl import cli
    from automl.predict import load_run_model, predict_instances
    from automl.search.simple import SPEECH_NAME as NAME
    from helpers import write_wav

    data = make_audio_folder(tmp_path / "tones", per_class=10, splits=("train", "test"))
    run_dir = tmp_path / "run"
    code = cli.main(["run", str(data), "--output", str(run_dir), "--audio-encoder", str(speech_folder),
                     "--candidates", "simple", "--max-trials", "1", "--epochs", "1", "--tuner", "random",
                     "--time-budget", "none", "--no-cross-validation"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["leaderboard"]["chosen"] == NAME
    assert summary["export"]["parity_max_abs_diff"] < 1e-4  # the SavedModel reloaded and agreed
    new = tmp_path / "new"
    write_wav(new / "a_low.wav", 300, seconds=0.5, seed=7)
    write_wav(new / "b_high.wav", 2000, seconds=0.2, rate=16000, seed=8)  # another rate: resampled
    assert cli.main(["predict", str(run_dir), str(new), "-o", str(tmp_path / "p.csv")]) == 0
    assert pd.read_csv(tmp_path / "p.csv")["predicted_class"].tolist() == ["low", "high"]
    model, meta = load_run_model(run_dir)
    frame = predict_instances(model, meta, [{"b64": base64.b64encode((new / "b_high.wav").read_bytes()).decode()}])
    assert frame["predicted_class"].tolist() == ["high"]
