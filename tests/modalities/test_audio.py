"""Audio: detection of .wav class folders, reading (rates, channels, lengths), profile guardrails, selection,
and a run end to end with predict and serve on .wav files, waveforms and bad inputs.

The generated clips are 8 kHz tones whose pitch is the class (300 Hz, 2 kHz; stdlib `wave`), so a log-mel
CNN that learns anything tells them apart.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import keras
import keras_tuner as kt
import numpy as np
import pandas as pd
import pytest

from automl import cli
from automl.errors import DataError
from automl.families.audio_cnn import build_model as build_audio_model
from automl.ingest import load_dataset
from automl.ingest.audio import choose_length, looks_like_audio_folder
from automl.ingest.speakers import speakers_in_names
from automl.modalities.audio import AUDIO
from automl.profile import profile_dataset
from automl.profile.audio import mel_settings
from automl.select import choose_family
from helpers import (TONES, make_audio_folder, make_image_folder, make_speech_embedding_folder, make_text_folder,
                     write_image, write_wav)


def _guardrails(profile) -> dict[str, tuple[str, str]]:
    return {g.name: (g.status, g.message) for g in profile.guardrails}


def test_wav_folders_are_told_apart_from_image_and_text_folders(tmp_path):
    audio = make_audio_folder(tmp_path / "audio", per_class=3)
    write_image(audio / "high" / "cover.png", 100)  # a stray picture does not make it an image folder
    assert looks_like_audio_folder(audio)
    assert not looks_like_audio_folder(make_image_folder(tmp_path / "images", per_class=3))
    text = make_text_folder(tmp_path / "texts", per_class=3)
    write_wav(text / "pos" / "a.wav")
    assert not looks_like_audio_folder(text)


def test_clip_length_is_the_95th_percentile_rounded_up_and_capped():
    assert choose_length(np.array([0.25] * 10))[0] == pytest.approx(0.3)
    assert choose_length(np.array([0.3] * 10))[0] == pytest.approx(0.3)  # not 0.4 by float rounding
    assert choose_length(np.array([1.0] * 99 + [60.0]))[0] == pytest.approx(1.0)  # one long outlier is cut
    seconds, how = choose_length(np.array([1.0, 30.0] * 10))
    assert seconds == pytest.approx(10.0) and "capped at 10 s" in how


def test_mixed_rates_and_channels_are_resampled_to_mono_at_the_common_rate(tmp_path, config_for):
    root = make_audio_folder(tmp_path / "data", per_class=6, seconds=(0.2, 0.4))
    write_wav(root / "low" / "wide.wav", 300, seconds=0.3, rate=16000, channels=2)
    dataset = load_dataset(config_for(root))
    facts = dataset.modality == "audio" and dataset.audio
    assert facts.sample_rate == 8000 and facts.resampled == 1 and sorted(set(facts.channels.tolist())) == [1, 2]
    assert facts.length == 3200 and facts.cut == 0  # 95th percentile 0.4 s at 8 kHz
    clips = [x for split in dataset.splits().values() for x, _ in split.data.as_numpy_iterator()]
    assert len(clips) == 13 and {c.shape for c in clips} == {(3200,)} and {c.dtype.name for c in clips} == {"float32"}
    assert max(np.abs(c).max() for c in clips) <= 1.0
    profile = profile_dataset(dataset)
    checks = _guardrails(profile)
    assert checks["Sample rate"][0] == "Done" and "1 clip is resampled" in checks["Sample rate"][1]
    assert checks["Channels"][0] == "Done" and checks["Clip length"][0] == "Done"
    facts_text = dict(profile.facts)
    model_input = facts_text["Model input"]
    assert "0.40 s at 8000 Hz (3200 samples" in model_input and "95th percentile" in model_input
    spec = profile.audio_inputs
    assert spec.mel_bins == 40 and len(spec.mean) == 40 and all(s > 0 for s in spec.std)
    assert "CNN on log-mel spectrograms" in choose_family(profile, config_for(root)).reason
    view = AUDIO.gallery_view(dataset, 0, clips[0])  # the report's gallery: a spectrogram and the figures
    assert view["image"].startswith("data:image/png;base64,") and dict(view["fields"])["loudness"].endswith(" dBFS")


def test_silent_clipped_and_unreadable_clips_are_flagged_or_skipped(tmp_path, config_for):
    root = make_audio_folder(tmp_path / "data", per_class=6)
    write_wav(root / "low" / "silence.wav", amplitude=0.0)
    write_wav(root / "high" / "loud.wav", 2000, amplitude=3.0)  # clipped at full scale
    write_wav(root / "high" / "eight_bit.wav", 2000, width=1)  # not 16-bit PCM
    (root / "low" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    (root / "low" / "notes.txt").write_text("not audio")
    dataset = load_dataset(config_for(root))
    skipped = {s.path.rsplit("/", 1)[1]: s.reason for s in dataset.skipped}
    assert set(skipped) == {"eight_bit.wav", "broken.wav", "notes.txt"}
    assert "not 16-bit PCM" in skipped["eight_bit.wav"] and "pcm_s16le" in skipped["eight_bit.wav"]
    checks = _guardrails(profile_dataset(dataset))
    assert checks["Unreadable files"][0] == "Alerted"
    assert checks["Silent clips"][0] == "Alerted" and "silence.wav" in checks["Silent clips"][1]
    assert checks["Clipped clips"][0] == "Alerted" and "loud.wav" in checks["Clipped clips"][1]
    assert checks["Sample rate"][0] == "Passed" and checks["Channels"][0] == "Passed"


def test_folders_without_readable_clips_are_refused(tmp_path, config_for):
    for name in ("a", "b"):
        (tmp_path / "bad" / name).mkdir(parents=True)
        (tmp_path / "bad" / name / "x.wav").write_bytes(b"not a wav at all")
    with pytest.raises(DataError, match="None of the 2 .wav files"):
        load_dataset(config_for(tmp_path / "bad"))
    with pytest.raises(DataError, match="at least 2"):
        load_dataset(config_for(make_audio_folder(tmp_path / "one", per_class=4, classes=("low",))))


def test_run_predict_and_serve_on_wav_files(tmp_path, capsys):
    """train/ and test/ folders honoured; the run beats chance; predict reads a file and a folder (skipping a
    corrupt clip); serving takes base64 .wav files and waveforms of any length; bad inputs are one clear error."""
    from automl.predict import load_run_model, predict_instances

    data = make_audio_folder(tmp_path / "tones", per_class=12, splits=("train", "test"), seconds=(0.25, 0.2))
    run_dir = tmp_path / "run"
    code = cli.main(["run", str(data), "--output", str(run_dir), "--max-trials", "1", "--epochs", "4", "--tuner",
                     "random", "--batch-size", "8", "--time-budget", "none", "--no-cross-validation"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["family"] == "audio_cnn" and "log-mel" in summary["reason"]
    assert summary["metrics"]["test"]["accuracy"] > 0.75  # chance is 0.5
    meta = json.loads((run_dir / "model" / "metadata.json").read_text())
    assert meta["audio_inputs"] == {"sample_rate": 8000, "length": 2400, "seconds": 0.3, "mel_bins": 40}
    assert "Clipped clips" in (run_dir / "report.html").read_text()
    assert "loudness (dBFS)" in json.loads((run_dir / "model" / "drift_reference.json").read_text())
    assert cli.main(["report", str(run_dir)]) == 0  # the report state (AudioInputs) round-trips

    new = tmp_path / "new"
    write_wav(new / "a_low.wav", 300, seconds=1.0, seed=7)  # longer than training: cut
    write_wav(new / "b_high.wav", 2000, seconds=0.1, rate=16000, seed=8)  # shorter, another rate
    (new / "c_broken.wav").write_bytes(b"RIFF....WAVE")
    assert cli.main(["predict", str(run_dir), str(new), "-o", str(tmp_path / "p.csv")]) == 0
    printed = capsys.readouterr()
    assert "Skipped 1 file" in printed.out + printed.err and "c_broken.wav" in printed.out + printed.err
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert predictions["predicted_class"].tolist() == ["low", "high"]
    assert cli.main(["predict", str(run_dir), str(new / "a_low.wav"), "-o", str(tmp_path / "one.csv")]) == 0
    assert json.loads((tmp_path / "one.drift.json").read_text())["features"].keys() >= {"duration (s)"}

    model, meta = load_run_model(run_dir)
    wav_bytes = (new / "b_high.wav").read_bytes()
    tone = 0.4 * np.sin(2 * np.pi * 300 * np.arange(1000) / 8000)
    frame = predict_instances(model, meta, [{"b64": base64.b64encode(wav_bytes).decode()}, tone.tolist()])
    assert frame["predicted_class"].tolist() == ["high", "low"]
    bad = {"not valid base64": [{"b64": "%%%"}], "outside -1..1": [[0.1, 300.0]], "mono waveform": [[[0.1, 0.2]]],
           "cannot be read as audio": [{"b64": base64.b64encode(b"hello").decode()}], "must be": ["a string"]}
    for message, instances in bad.items():
        with pytest.raises(DataError, match=message):
            predict_instances(model, meta, instances)
    (tmp_path / "x.txt").write_text("hello")
    assert cli.main(["predict", str(run_dir), str(tmp_path / "x.txt")]) == 1
    assert "is not a .wav file" in capsys.readouterr().err
    assert cli.main(["predict", str(run_dir), str(new / "c_broken.wav")]) == 1
    assert "cannot be read as audio" in capsys.readouterr().err


# --- Voices never heard (issue 32): splits by speaker and a front end that carries to new voices. ---

SPEAKERS = ("ann", "bob", "cyd", "dee", "eve", "fay")


def _speaker_folder(root, speakers=SPEAKERS, takes: int = 3, split: str = ""):
    """root/[split/]CLASS/CLASS_SPEAKER_N.wav as FSDD names its files; each speaker's voice a little higher."""
    for c, label in enumerate(("high", "low")):
        for s, speaker in enumerate(speakers):
            for n in range(takes):
                write_wav(root / split / label / f"{label}_{speaker}_{n}.wav", TONES[label] * (1 + 0.03 * s),
                          seconds=0.2, seed=1000 * bool(split == "test") + 100 * c + 10 * s + n)
    return root


def _speakers_by_split(root, dataset) -> dict[str, set]:
    """Which speakers each split holds, matched to the files by their content hashes."""
    speaker_of = {hashlib.sha256(p.read_bytes()).hexdigest(): p.stem.split("_")[1] for p in root.rglob("*.wav")}
    return {name: {speaker_of[h] for h in split.hashes} for name, split in dataset.splits().items()}


def test_speakers_are_found_in_digit_speaker_take_names_only():
    labels = np.repeat([0, 1, 2], 24)
    fsdd = [Path(f"{c}/{c}_{s}_{n}.wav") for c in "012" for s in ("ann", "bob", "cyd", "dee") for n in range(6)]
    found = speakers_in_names(fsdd, labels, ["0", "1", "2"])
    assert found is not None and found.values.tolist() == [p.stem.split("_")[1] for p in fsdd]
    assert "2nd part, e.g. 'ann' in '0_ann_0.wav'" in found.source
    takes_only = [Path(f"{c}_{n}.wav") for c in "012" for n in range(24)]  # class and take counter: no speaker
    assert speakers_in_names(takes_only, labels, ["0", "1", "2"]) is None
    ids = [Path(f"rec-{i:05d}x.wav") for i in range(72)]  # one ID a file: not a person
    assert speakers_in_names(ids, labels, ["0", "1", "2"]) is None
    own_prefix = [Path(f"{'abc'[int(c)]}{s}_{n}.wav") for c in "012" for s in range(4) for n in range(6)]
    assert speakers_in_names(own_prefix, labels, ["0", "1", "2"]) is None  # the part changes with the class


def test_validation_and_test_hold_out_whole_speakers_without_split_folders(tmp_path, config_for):
    root = _speaker_folder(tmp_path / "data")
    dataset = load_dataset(config_for(root))
    held = _speakers_by_split(root, dataset)
    assert not held["train"] & held["val"] and not held["train"] & held["test"] and not held["val"] & held["test"]
    assert len(held["test"]) == len(held["val"]) == 1 and len(held["train"]) == 4
    assert "test holds out 1 of 6 speakers" in dataset.split_note and "validation 1 of 5 speakers" in dataset.split_note
    assert "found in the file names as their 2nd part" in dataset.split_note


def test_validation_follows_whether_the_test_folders_voices_are_new(tmp_path, config_for):
    new_voice = _speaker_folder(_speaker_folder(tmp_path / "new", SPEAKERS[:5], split="train"), SPEAKERS[5:],
                                split="test")
    dataset = load_dataset(config_for(new_voice))
    held = _speakers_by_split(new_voice, dataset)
    assert held["val"] and not held["train"] & held["val"] and held["test"] == {"fay"}
    assert "validation holds out 1 of 5 speakers" in dataset.split_note
    same_voices = _speaker_folder(_speaker_folder(tmp_path / "same", takes=4, split="train"), takes=1,
                                  split="test")  # FSDD's official split: every speaker on both sides
    dataset = load_dataset(config_for(same_voices))
    held = _speakers_by_split(same_voices, dataset)
    assert held["train"] & held["val"] and "mixes them as the test does" in dataset.split_note


def test_group_file_names_the_speakers(tmp_path, config_for):
    root = make_audio_folder(tmp_path / "data", per_class=12)  # names say nothing of speakers
    rows = [f"{c}_{i}.wav,{'pqrstu'[i % 6]}" for c in ("high", "low") for i in range(12)]
    (tmp_path / "who.csv").write_text("filename,speaker\n" + "\n".join(rows) + "\n")
    dataset = load_dataset(config_for(root, group_file=str(tmp_path / "who.csv"), group_column="speaker"))
    assert "from --group-file's column 'speaker'" in dataset.split_note
    assert dataset.groups is not None and len(set(dataset.groups.test_values)) == 1  # test: one speaker, reported


def _front_end_profile(length: int = 1600):
    spec = mel_settings(8000, length)
    spec = dataclasses.replace(spec, mean=(-5.0,) * spec.mel_bins, std=(3.0,) * spec.mel_bins)
    return SimpleNamespace(audio_inputs=spec, task="classification", num_classes=2)


def _audio_model(**values):
    hp = kt.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return build_audio_model(hp, _front_end_profile())


def test_augmentation_is_identity_at_prediction_and_changes_training_batches():
    model = _audio_model(pitch_stretch=0.1, tempo_stretch=0.1, spec_mask=0.1)  # off by default: turned on
    names = ("stretch", "time_shift", "band_mask", "frame_mask", "noise")
    spectrogram = np.random.default_rng(0).normal(size=(4, 40, 21, 1)).astype("float32")
    for name in names:
        layer = model.get_layer(name)
        np.testing.assert_array_equal(np.asarray(layer(spectrogram, training=False)), spectrogram)
        assert not np.allclose(np.asarray(layer(spectrogram, training=True)), spectrogram), name


def test_peak_normalisation_makes_a_clip_and_the_same_clip_quieter_alike():
    clip = 0.5 * np.sin(2 * np.pi * 440 * np.arange(1600) / 8000) + np.random.default_rng(0).normal(0, 0.02, 1600)
    both = np.stack([clip, 0.1 * clip]).astype("float32")
    outputs = _audio_model(blocks=2, loudness="peak").predict(both, verbose=0)
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-5)
    keras.utils.set_random_seed(0)
    without = _audio_model(blocks=2, loudness="none", centre="none").predict(both, verbose=0)
    assert not np.allclose(without[0], without[1], atol=1e-5)  # the level alone changed it before


def test_cepstra_are_the_orthonormal_dct_of_the_log_mel_normalised_per_clip():
    from scipy.fft import dct

    from automl.families.audio_cnn import CEPSTRA, CEPSTRA_EPSILON, cepstra

    log_mel = np.random.default_rng(2).normal(size=(2, 40, 21, 1)).astype("float32")
    expected = dct(log_mel[..., 0], type=2, norm="ortho", axis=1)[:, :CEPSTRA]
    expected = (expected - expected.mean(axis=2, keepdims=True)) / (expected.std(axis=2, keepdims=True)
                                                                     + CEPSTRA_EPSILON)
    inputs = keras.Input((40, 21, 1))
    outputs = keras.Model(inputs, cepstra(inputs)).predict(log_mel, verbose=0)
    assert outputs.shape == (2, CEPSTRA, 21, 1)
    np.testing.assert_allclose(outputs[..., 0], expected, atol=1e-4)
    # a level that differs by clip (a louder voice, a nearer microphone) adds to every frame: it is gone
    shifted = keras.Model(inputs, cepstra(inputs)).predict(log_mel + np.float32(3.0), verbose=0)
    np.testing.assert_allclose(shifted, outputs, atol=1e-4)


@pytest.mark.parametrize("centre, features", [("band", "log_mel"), ("clip", "log_mel"), ("band", "cepstra")])
def test_the_model_reloads_with_its_front_end(tmp_path, centre, features):
    model = _audio_model(blocks=2, centre=centre, features=features)
    assert (model.get_layer("cepstra") is not None) if features == "cepstra" else \
        "cepstra" not in [layer.name for layer in model.layers]
    clips = np.random.default_rng(1).normal(0, 0.1, (3, 2000)).astype("float32")  # longer: cut inside
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded.predict(clips, verbose=0), model.predict(clips, verbose=0), atol=1e-6)


def test_unheard_voices_get_the_speaker_defaults_and_a_refit_on_every_training_speaker(tmp_path, config_for):
    from automl.families.audio_cnn import PLAIN_DEFAULTS, SPEAKER_DEFAULTS, defaults_for
    from automl.pipeline import run
    from automl.search.simple import SPEECH_NAME as SPEECH

    new_voice = _speaker_folder(_speaker_folder(tmp_path / "new", SPEAKERS[:5], split="train"), SPEAKERS[5:],
                                split="test")
    config = config_for(new_voice, cross_validation=False, max_trials=2,
                        audio_encoder=str(make_speech_embedding_folder(tmp_path / "speech")))
    dataset = load_dataset(config)
    profile = profile_dataset(dataset)
    assert dataset.audio.unheard_speakers and profile.audio_inputs.unheard_speakers
    assert defaults_for(profile.audio_inputs) == SPEAKER_DEFAULTS
    reason = choose_family(profile, config, dataset).reason
    assert "refit on train + validation" in reason and "pretrained speech_embedding" in reason
    result = run(config)
    refit = result.search.cross_validation
    assert refit is not None and refit.folds == 0 and refit.held_out_speakers
    assert refit.refit_examples == dataset.train.size + dataset.val.size and "hears every training speaker" in \
        refit.sentence()
    assert refit.refit_epochs == config.epochs  # not the noisy validation loss's best epoch: all the time allows
    board = result.search.leaderboard  # the other trials heard fewer voices: only the refit is on the board
    assert [row.name for row in board.rows if row.kind == "trial"] == [f"trial {refit.chosen}"]
    assert SPEECH in [row.name for row in board.rows]  # the pretrained candidate competes, refit on every speaker too
    assert any(f"simple models ({SPEECH}) were refit on train + validation" in note
               for note in result.search.search_notes)
    assert "refit on train + validation" in result.diagnostics.verdict_reason
    same_voices = _speaker_folder(_speaker_folder(tmp_path / "same", takes=4, split="train"), takes=1, split="test")
    profile = profile_dataset(load_dataset(config_for(same_voices)))
    assert not profile.audio_inputs.unheard_speakers and defaults_for(profile.audio_inputs) == PLAIN_DEFAULTS
