"""Profile stage, audio: durations, sample rates and channels, the guardrails on silent, clipped, resampled
and cut clips, and the AudioInputs the audio families build their log-mel front end from (rate, length, mel
settings and per-mel-band statistics of the training clips)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

import numpy as np

from automl.modalities import log_mel
from automl.profile.guardrails import ALERTED, DONE, PASSED, Guardrail

# Speech-recognition framing (Kaldi's defaults): 25 ms windows every 10 ms resolve phonemes and notes.
FRAME_SECONDS, HOP_SECONDS = 0.025, 0.010
# 40 mel bands cover up to 4 kHz (8 kHz audio) without empty bands at its FFT resolution; wider audio gets 64.
MEL_BINS_NARROWBAND, MEL_BINS_WIDEBAND = 40, 64
# The per-band statistics are estimated on up to this many training clips (a few seconds of work).
STATISTICS_CLIPS = 2000
# Clips named in a guardrail's sentence; the rest are counted.
NAMED_CLIPS = 3


@dataclass(frozen=True)
class AudioInputs:
    """What the audio families build their input from.

    Attributes:
        sample_rate: Samples per second of the model input (clips at other rates are resampled).
        length: Samples of the model input (the model pads shorter waveforms with silence and cuts longer ones).
        frame_length, frame_step, fft_length: The short-time Fourier transform's window, hop and size, in samples.
        mel_bins: Mel bands of the spectrogram.
        mean, std: Per-band mean and spread of the training clips' log-mel values, for the Normalization layer.
        unheard_speakers: Validation and test hold out whole speakers (ingest.speakers): the audio family's
            defaults remove what differs between voices and microphones, and the best trial is refit on train +
            validation, so the model hears every training speaker.
    """

    sample_rate: int
    length: int
    frame_length: int
    frame_step: int
    fft_length: int
    mel_bins: int
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    unheard_speakers: bool = False

    @property
    def seconds(self) -> float:
        return self.length / self.sample_rate

    @property
    def frames(self) -> int:
        """Spectrogram frames of one clip (the transform is centred: one frame per hop, plus one)."""
        return 1 + self.length // self.frame_step


def mel_settings(sample_rate: int, length: int) -> AudioInputs:
    """The front end for this rate and length, without statistics yet."""
    frame = max(16, round(FRAME_SECONDS * sample_rate))
    return AudioInputs(sample_rate=sample_rate, length=length, frame_length=frame,
                       frame_step=max(8, round(HOP_SECONDS * sample_rate)), fft_length=1 << (frame - 1).bit_length(),
                       mel_bins=MEL_BINS_NARROWBAND if sample_rate <= 8000 else MEL_BINS_WIDEBAND)


def audio_inputs(dataset) -> AudioInputs:
    """The model input of an audio dataset, with log-mel statistics per band over its training clips."""
    facts = dataset.audio
    spec = mel_settings(facts.sample_rate, facts.length)
    total = np.zeros(spec.mel_bins)
    squares, count = np.zeros(spec.mel_bins), 0
    for waveforms, _ in dataset.train.data.take(STATISTICS_CLIPS).batch(64):
        values = np.asarray(log_mel(waveforms, spec), dtype=np.float64)  # [clips, bands, frames]
        total += values.sum(axis=(0, 2))
        squares += (values ** 2).sum(axis=(0, 2))
        count += values.shape[0] * values.shape[2]
    mean = total / max(count, 1)
    std = np.sqrt(np.maximum(squares / max(count, 1) - mean ** 2, 0.0))
    std = np.where(std > 1e-6, std, 1.0)  # a band that never changes: divide by 1, not 0
    return dataclasses.replace(spec, mean=tuple(map(float, mean)), std=tuple(map(float, std)),
                               unheard_speakers=bool(getattr(facts, "unheard_speakers", False)))


def _clips(count: int, verb: str = "") -> str:
    """"1 clip has" / "3 clips have" (verb "has"), or just the count and noun."""
    plural = {"has": "have", "is": "are", "loses its": "lose their"}
    return f"{count} clip{'s' if count != 1 else ''}" + (f" {verb if count == 1 else plural[verb]}" if verb else "")


def _named(paths: tuple[str, ...]) -> str:
    names = ", ".join(f"'{p}'" for p in paths[:NAMED_CLIPS])
    return names + (f" and {len(paths) - NAMED_CLIPS} more" if len(paths) > NAMED_CLIPS else "")


def _format_checks(facts_, inputs: AudioInputs) -> list[Guardrail]:
    """Rates, lengths and channels: what was done to bring every clip to the model's input."""
    resampled, cut, channels = facts_.resampled, facts_.cut, set(facts_.channels.tolist())
    exact = bool(np.all(np.round(facts_.durations * inputs.sample_rate) == inputs.length)) and not resampled
    length = (f"Every clip is {inputs.seconds:.2f} s long." if exact else
              f"Clips are padded with silence or cut to {inputs.seconds:.2f} s inside the model"
              + (f"; {_clips(cut, 'loses its')} end{'s' if cut != 1 else ''}." if cut else "."))
    return [Guardrail("Sample rate", DONE if resampled else PASSED,
                      f"{_clips(resampled, 'is')} resampled from other rates to {inputs.sample_rate} Hz, the most "
                      "common one." if resampled else f"Every clip is at {inputs.sample_rate} Hz."),
            Guardrail("Clip length", PASSED if exact else DONE, length),
            Guardrail("Channels", PASSED if channels == {1} else DONE,
                      "Every clip is mono." if channels == {1} else "Multi-channel clips are averaged to mono.")]


def _level_checks(facts_) -> list[Guardrail]:
    """Recordings that are silent or distorted: kept (they may be real), but named for the user to check."""
    silent, clipped = facts_.silent, facts_.clipped
    return [Guardrail("Silent clips", ALERTED if silent else PASSED,
                      f"{_clips(len(silent), 'has')} no audible sound (peak under -60 dBFS): {_named(silent)}. "
                      "Check the recordings." if silent else "Every clip has audible sound."),
            Guardrail("Clipped clips", ALERTED if clipped else PASSED,
                      f"{_clips(len(clipped), 'has')} many samples at full scale (distorted): {_named(clipped)}. "
                      "Record them at a lower gain if you can." if clipped else "No clip is clipped at full scale.")]


def audio_facts(dataset):
    """Facts and guardrails for audio clips, and the AudioInputs the families build from."""
    facts_, inputs = dataset.audio, audio_inputs(dataset)
    durations, rates = facts_.durations, Counter(facts_.rates.tolist())
    channels = Counter(facts_.channels.tolist())
    facts = [("Clips", f"{len(durations)} clips, {durations.min():.2f}-{durations.max():.2f} s long "
                       f"(median {np.median(durations):.2f} s)"),
             ("Sample rates", ", ".join(f"{rate} Hz ({n})" for rate, n in rates.most_common())),
             ("Channels", ", ".join(f"{'mono' if c == 1 else 'stereo' if c == 2 else f'{c} channels'} ({n})"
                                    for c, n in sorted(channels.items()))),
             ("Model input", f"{inputs.seconds:.2f} s at {inputs.sample_rate} Hz ({inputs.length} samples; "
                             f"{facts_.length_rule}); log-mel spectrogram of {inputs.mel_bins} bands × "
                             f"{inputs.frames} frames ({inputs.frame_length}-sample windows every "
                             f"{inputs.frame_step}), computed inside the model")]
    return facts, _format_checks(facts_, inputs) + _level_checks(facts_), {"audio_inputs": inputs}
