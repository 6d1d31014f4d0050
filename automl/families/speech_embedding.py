"""Google's speech_embedding (Lin et al. 2020, "Training keyword spotters with limited and synthesized speech data";
TF Hub google/speech_embedding/1, Apache-2.0), rebuilt as plain Keras layers: raw waveforms in, one 96-value
embedding for every 0.775 s window of a clip (80 ms apart) out.

It was trained on a large keyword-spotting corpus of many voices, which is what a few recorded speakers cannot
teach: on FSDD with one speaker held out, a logistic regression on its embeddings averaged over the clip scored
91.6-100 % on each unheard voice in 300 s runs, where the CNN trained from scratch in the same runs reached
79-89 % (benchmarks/RESULTS.md round 19).

The weights come from the two ONNX files the `openwakeword` 0.4.0 wheel carries (resources/models/
melspectrogram.onnx and embedding_model.onnx; later versions download them instead): found without a flag when
that package is installed (`pip install --no-deps openwakeword==0.4.0`), or from a folder named with
--audio-encoder DIR. Nothing is downloaded, and ONNX Runtime is not needed to run the model: each ONNX node becomes
the Keras layer that computes the same (its `onnx` package only reads the weights), so the model saves, exports and
reloads as plain Keras and TensorFlow.

The front end follows the ONNX one (torchlibrosa's): a 25 ms periodic Hann window in 32 ms frames every 10 ms, power
spectrum, 32 mel bands from 60 Hz to 3.8 kHz, 10·log10 floored 80 dB below the clip's loudest value, then /10 + 2
(openWakeWord's match to Google's TF Hub front end). At another sample rate than 16 kHz the frames keep their
durations, so the DFT bins stay 31.25 Hz apart and the mel matrix's rows apply as they are; the power is rescaled by
the window's sum, so a sound gives the same values at 8 kHz as at 16 kHz. Every band lies under 4 kHz, so 8 kHz
telephone audio loses nothing.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from automl.errors import ConfigError
from automl.families.text_encoder import file_sha256

NO_AUDIO_ENCODER = "none"
PACKAGE = "openwakeword"
INSIDE_PACKAGE = "resources/models"
INSTALL_HINT = "pip install --no-deps openwakeword==0.4.0"
# The files' sha256 in the openwakeword 0.4.0 wheel: a package found without a flag must hold exactly these.
FILES = {"melspectrogram.onnx": "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
         "embedding_model.onnx": "ba754db3cd768a524c655ea90655ee5e6055a43b8dfd29366a11e93716ae9e51"}

MODEL_RATE = 16_000  # the rate the ONNX front end was built for
FRAME_SECONDS, WINDOW_SECONDS, HOP_SECONDS = 0.032, 0.025, 0.010
INT16_SCALE = 32768.0  # openWakeWord feeds 16-bit sample values, not -1..1
POWER_FLOOR = 1e-10
TOP_DB = 80.0
# The embedding network's receptive field and stride, in frames: one embedding per 0.775 s, every 80 ms.
WINDOW_FRAMES, WINDOW_STEP = 76, 8
# Each clip is padded with this much silence on both sides, so its start and end sit in the middle of a window and
# a clip shorter than a window still gets one.
EDGE_SECONDS = 0.375


def find_speech_embedding(chosen: str | None) -> Path | None:
    """The folder holding the two ONNX files: the one named (--audio-encoder DIR), none ("none"), or the installed
    openwakeword package's where it holds the published files (other versions download them at run time instead:
    their absence is not an error, the plan says so).

    Raises:
        ConfigError: A folder the user named lacks one of the files.
    """
    if chosen == NO_AUDIO_ENCODER:
        return None
    if chosen:
        folder = Path(chosen).expanduser()
        missing = [name for name in FILES if not (folder / name).is_file()]
        if missing:
            raise ConfigError(f"--audio-encoder {folder}: the folder has no {' or '.join(missing)}. The speech "
                              f"embedding needs {' and '.join(FILES)} (as the openwakeword 0.4.0 wheel carries them); "
                              "give the folder that holds both, or --audio-encoder none.")
        return folder
    folder = packaged_folder()
    return folder if folder is not None and holds_published_files(folder) else None


def packaged_folder() -> Path | None:
    """Where the installed openwakeword package keeps its models (None when it is not installed)."""
    spec = importlib.util.find_spec(PACKAGE)
    return None if spec is None or spec.origin is None else Path(spec.origin).parent / INSIDE_PACKAGE


def holds_published_files(folder: Path) -> bool:
    """Whether both files are there with the published checksums (not damaged, altered or another version's)."""
    return all((folder / name).is_file() and file_sha256(folder / name) == digest for name, digest in FILES.items())


@functools.lru_cache(maxsize=2)
def onnx_graphs(folder: str) -> tuple:
    """(mel weights {name: array}, embedding nodes [(op, inputs, attributes)], embedding weights {name: array})."""
    import onnx
    from onnx import numpy_helper

    def read(name):
        graph = onnx.load(str(Path(folder) / name)).graph
        weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        nodes = [(n.op_type, list(n.input), {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute})
                 for n in graph.node]
        return nodes, weights

    try:
        (_, mel_weights), (nodes, weights) = read("melspectrogram.onnx"), read("embedding_model.onnx")
    except Exception as error:  # onnx raises its own DecodeError etc. on a damaged file
        raise ConfigError(f"The speech embedding's ONNX files in {folder} cannot be read ({error}). Reinstall "
                          f"them ({INSTALL_HINT}), or pass --audio-encoder none.") from None
    return mel_weights, nodes, weights


def frame_settings(sample_rate: int) -> tuple[int, int, int]:
    """(frame length, hop, window length) in samples at this rate: the ONNX front end's durations."""
    return (round(FRAME_SECONDS * sample_rate), round(HOP_SECONDS * sample_rate),
            round(WINDOW_SECONDS * sample_rate))


def stft_kernels(sample_rate: int, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Conv1D kernels [frame, 1, bins] of the windowed DFT's real and imaginary parts for the first `bins` bins."""
    frame, _, window_length = frame_settings(sample_rate)
    window = np.zeros(frame)
    start = (frame - window_length) // 2  # the window sits in the middle of the frame, as torch.stft pads it
    window[start:start + window_length] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window_length) / window_length)
    phase = 2 * np.pi * np.outer(np.arange(frame), np.arange(bins)) / frame
    return ((window[:, None] * np.cos(phase))[:, None, :].astype("float32"),
            (-window[:, None] * np.sin(phase))[:, None, :].astype("float32"))


def mel_matrix(mel_weights: dict, sample_rate: int) -> np.ndarray:
    """[bins, 32]: the ONNX mel matrix's rows for the DFT bins this rate's frames give (every band lies under the
    first 123 of its 257 bins), scaled so that power matches the 16 kHz front end's."""
    matrix = mel_weights["1.melW"]
    used = int(np.flatnonzero(matrix.sum(axis=1))[-1]) + 1
    frame, _, window_length = frame_settings(sample_rate)
    model_frame = round(FRAME_SECONDS * MODEL_RATE)
    frequencies = np.arange(min(used, frame // 2 + 1)) * sample_rate / frame
    rows = np.stack([np.interp(frequencies, np.arange(matrix.shape[0]) * MODEL_RATE / model_frame, matrix[:, band])
                     for band in range(matrix.shape[1])], axis=1)
    scale = (round(WINDOW_SECONDS * MODEL_RATE) / window_length) ** 2  # a DFT's magnitude grows with the window's sum
    return (rows * scale).astype("float32")


def speech_frames(waveforms, sample_rate: int, mel_weights: dict):
    """Waveforms [batch, samples] in -1..1 → the embedding's input, scaled log-mel frames [batch, frames, 32]."""
    matrix = mel_matrix(mel_weights, sample_rate)
    frame, hop, _ = frame_settings(sample_rate)
    real_kernel, imaginary_kernel = stft_kernels(sample_rate, matrix.shape[0])
    x = layers.Reshape((-1, 1), name="speech_samples")(waveforms * INT16_SCALE)
    parts = [layers.Conv1D(matrix.shape[0], frame, strides=hop, use_bias=False, trainable=False, dtype="float32",
                           kernel_initializer=keras.initializers.Constant(kernel), name=name)(x)
             for name, kernel in (("speech_dft_real", real_kernel), ("speech_dft_imaginary", imaginary_kernel))]
    power = ops.square(parts[0]) + ops.square(parts[1])
    mel = layers.Dense(matrix.shape[1], use_bias=False, trainable=False, dtype="float32", name="speech_mel",
                       kernel_initializer=keras.initializers.Constant(matrix))(power)
    decibels = 10.0 * ops.log(ops.maximum(mel, POWER_FLOOR)) / np.log(10.0)
    decibels = ops.maximum(decibels, ops.max(decibels, axis=(1, 2), keepdims=True) - TOP_DB)  # per clip, not batch
    return decibels / 10.0 + 2.0


def speech_embeddings(frames, nodes: list, weights: dict):
    """Scaled log-mel frames [batch, frames, 32] → embeddings [batch, windows, 96], one per WINDOW_FRAMES frames
    every WINDOW_STEP: the ONNX graph node by node, each as the Keras layer that computes the same, all frozen.
    The network is convolutional in time, so the whole clip goes through at once rather than window by window."""
    x = layers.Reshape((-1, frames.shape[-1], 1))(frames)  # [batch, time, bands, 1], as the ONNX input
    convolutions = 0
    for op, inputs, attributes in nodes:
        if op == "Pad":  # one band of zeros on both sides of the frequency axis
            x = layers.ZeroPadding2D(((0, 0), (1, 1)))(x)
        elif op == "Conv":
            kernel = weights[inputs[1]].transpose(2, 3, 1, 0)  # ONNX [out, in, h, w] → Keras [h, w, in, out]
            bias = weights[inputs[2]] if len(inputs) > 2 else None
            padding = "same" if any(attributes.get("pads", [0])) else "valid"
            conv = layers.Conv2D(kernel.shape[-1], kernel.shape[:2], padding=padding, use_bias=bias is not None,
                                 trainable=False, name=f"speech_conv_{convolutions}")
            x = conv(x)
            conv.set_weights([kernel] if bias is None else [kernel, bias])
            convolutions += 1
        elif op == "Relu":
            x = layers.ReLU()(x)
        elif op == "BatchNormalization":
            norm = layers.BatchNormalization(epsilon=attributes["epsilon"], trainable=False)
            x = norm(x)
            norm.set_weights([weights[name] for name in inputs[1:5]])  # gamma, beta, moving mean, moving variance
        elif op == "LeakyRelu":
            x = layers.LeakyReLU(attributes["alpha"])(x)
        elif op == "Max":  # a floor under every activation
            x = ops.maximum(x, float(np.asarray(weights[inputs[1]]).ravel()[0]))
        elif op == "MaxPool":
            x = layers.MaxPooling2D(tuple(attributes["kernel_shape"]), tuple(attributes["strides"]))(x)
        elif op != "Reshape":  # the two Reshapes only move between the layouts
            raise ConfigError(f"The speech embedding holds an ONNX operation ({op}) automl does not rebuild: it is not "
                              f"the published file. Reinstall it ({INSTALL_HINT}), or pass --audio-encoder none.")
    return layers.Reshape((-1, x.shape[-1]), name="speech_embeddings")(x)


def clip_embedding_model(profile, folder: Path) -> keras.Model:
    """Waveform → padded or cut to the training length, silence both sides → frozen speech embedding → its average
    over the windows ("mean_pool", [batch, 96]). The head goes on top (automl.search.speech_head)."""
    from automl.families.audio_cnn import fit_length

    spec = profile.audio_inputs
    mel_weights, nodes, weights = onnx_graphs(str(folder))
    inputs = keras.Input(shape=(None,), dtype="float32", name="waveform")
    edge = round(EDGE_SECONDS * spec.sample_rate)
    x = ops.pad(fit_length(inputs, spec.length), [[0, 0], [edge, edge]])
    x = speech_embeddings(speech_frames(x, spec.sample_rate, mel_weights), nodes, weights)
    return keras.Model(inputs, layers.GlobalAveragePooling1D(name="mean_pool")(x), name="speech_embedding")
