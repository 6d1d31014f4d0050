"""Search stage for the text encoder: the pretrained encoder fine-tuned until the deadline (or a logistic
regression fitted on its frozen embeddings, when the plan found fine-tuning unaffordable), beside the simple
text models, on one leaderboard scored on validation.

Fine-tuning is one run, not a tuner search: a single fine-tune of a pretrained encoder with the usual settings
(learning rate 5e-5, batches of 32) beats several shorter ones on a CPU budget. It is checked on validation
CHECKS times; the best check's weights are kept. When the training table holds phrases of its own sentences
(SST-2's 67,349 rows are the parse-tree phrases of 8,544 sentences), the longest texts come first: within a
budget that sees a fraction of the table, whole sentences teach what the sentence-level test asks.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf
from sklearn.linear_model import LogisticRegression

from automl.families import FAMILIES
from automl.families.text_encoder import FINE_TUNE_RATE, encoder_description
from automl.modalities.base import DIAGNOSIS_TRAIN_SAMPLE
from automl.progress import NullProgress
from automl.search.callbacks import AnnealToBudget, DeadlineStop, KeepBestEpoch
from automl.search.candidates import (
    choose_on_validation,
    fit_simple_models,
    simple_candidates,
)
from automl.search.leaderboard import Candidate
from automl.search.result import Phase, SearchResult, TrialRecord
from automl.search.simple import label_check_of, simple_fitters, split_texts
from automl.search.table_linear import linear_head_weights
from automl.search.tuner import finish_seconds

BATCH = 32
PREDICT_BATCH = 64
# Validation checks over the fine-tune; each costs a pass over up to CHECK_TEXTS validation texts.
CHECKS = 4
CHECK_TEXTS = 2_000
# Passes over the training texts when time allows (Devlin et al. fine-tune BERT for 2-4 epochs; small sets
# take more, and the best validation check is kept).
MAX_EPOCHS = 10
# The phrase test: this many sampled training texts; when at least PHRASE_SHARE of them occur inside another
# training text, the table holds phrases, and the longest quarter of the texts is trained on first.
PHRASE_SAMPLE = 300
PHRASE_SHARE = 0.5
LONGEST_FIRST_QUANTILE = 0.75
# The frozen encoder's head: logistic regression, its inverse regularisation chosen on validation.
FROZEN_C = (0.1, 1.0, 10.0)
TRIAL_ID = "encoder"
# Saving a 90 MB encoder twice (SavedModel, .keras) and reloading it for the parity check, beyond the export time
# every run keeps: SST-2 at 600 s ended 16 s over its budget without it.
ENCODER_EXPORT_SECONDS = 20.0


def search_text_encoder(plan, dataset, profile, config, deadline: float | None, progress=None) -> SearchResult:
    """The simple text models, then the encoder (fine-tuned or frozen, as planned), then the leaderboard."""
    progress = progress or NullProgress()
    start = time.monotonic()
    fixed = plan.fixed_hyperparameters
    fitters = simple_fitters(dataset, profile)
    simple_fits = fit_simple_models(fitters, dataset.train, progress)
    simple_rows = simple_candidates(simple_fits, dataset.val, profile)
    texts = {"train": np.array(split_texts(dataset.train), dtype=object),
             "val": np.array(split_texts(dataset.val), dtype=object)}
    labels = {"train": dataset.train.labels, "val": dataset.val.labels}
    hp = kt.HyperParameters()
    hp.values.update(fixed)
    model = FAMILIES["text_encoder"](hp, profile)
    per_text = _predict_seconds(model, texts["val"])
    sizes = profile.split_sizes
    evaluation = per_text * (min(sizes["train"], DIAGNOSIS_TRAIN_SAMPLE) + 2 * sizes["val"] + sizes["test"])
    search_deadline = None if deadline is None else deadline - finish_seconds(evaluation) - ENCODER_EXPORT_SECONDS
    name = encoder_description(Path(fixed["text_encoder"]))
    if fixed.get("encoder_mode") == "frozen":
        record, phase = _fit_frozen_head(model, texts, labels, profile, name, progress)
        row_name = f"{name}, frozen + logistic regression"
    else:
        record, phase = _fine_tune(model, texts, labels, profile, config, search_deadline, name, progress,
                                   _objective(plan), plan.epochs)
        row_name = f"{name}, fine-tuned"
    outputs = model.predict(_batches(texts["val"]), verbose=0)
    candidate = Candidate(row_name, "trial", model, outputs, record.seconds, record.params)
    board = choose_on_validation([candidate, *simple_rows], labels["val"], profile, config, plan,
                                 1 + len(simple_rows))
    fired = search_deadline is not None and time.monotonic() >= search_deadline
    check = label_check_of(simple_fits, labels["train"]) if plan.task == "classification" and simple_fits else None
    return SearchResult(model=board.models[board.chosen], best_trial_id=TRIAL_ID,
                        best_hyperparameters=record.hyperparameters, trials=(record,), objective=_objective(plan),
                        tuner="none", stopped_because="time_budget" if fired else "search_complete",
                        seconds=time.monotonic() - start, phases=(phase,), leaderboard=board, label_check=check)


def _objective(plan) -> str:
    return "val_accuracy" if plan.task == "classification" else "val_loss"


def _batches(texts, labels=None, batch: int = PREDICT_BATCH) -> tf.data.Dataset:
    data = tf.constant(list(texts), tf.string)
    parts = data if labels is None else (data, tf.constant(labels))
    return tf.data.Dataset.from_tensor_slices(parts).batch(batch).prefetch(2)


def _predict_seconds(model, val_texts) -> float:
    """Seconds a text for a forward pass, timed on a second batch of validation texts (the first traces)."""
    sample = list(val_texts[:2 * PREDICT_BATCH]) or ["a"]
    model.predict_on_batch(tf.constant(sample[:PREDICT_BATCH]))
    tick = time.perf_counter()
    second = sample[PREDICT_BATCH:] or sample
    model.predict_on_batch(tf.constant(second))
    return (time.perf_counter() - tick) / len(second)


def holds_phrases(texts, seed: int = 0) -> bool:
    """Whether most sampled texts also occur inside another, longer training text (phrases of its sentences)."""
    if len(texts) < 2:
        return False
    corpus = "\n".join(texts)
    sample = np.random.default_rng(seed).choice(len(texts), min(PHRASE_SAMPLE, len(texts)), replace=False)
    inside = sum(corpus.count(texts[i]) > 1 for i in sample if texts[i].strip())
    return inside >= PHRASE_SHARE * len(sample)


def training_order(texts, epochs: int, seed: int, longest_first: bool) -> np.ndarray:
    """Indices into texts for `epochs` passes, each shuffled; with longest_first, the first pass trains on the
    longest quarter (shuffled) before the rest."""
    rng = np.random.default_rng(seed)
    passes = [rng.permutation(len(texts)) for _ in range(epochs)]
    if longest_first and len(texts):
        lengths = np.array([len(t.split()) for t in texts])
        long = lengths >= np.quantile(lengths, LONGEST_FIRST_QUANTILE)
        passes[0] = np.concatenate([rng.permutation(np.flatnonzero(long)), rng.permutation(np.flatnonzero(~long))])
    return np.concatenate(passes)


def _fine_tune(model, texts, labels, profile, config, deadline, name: str, progress, objective: str,
               plan_epochs: int = MAX_EPOCHS) -> tuple[TrialRecord, Phase]:
    """Every layer trained at FINE_TUNE_RATE, annealed to the deadline, checked CHECKS times on validation."""
    start = time.monotonic()
    train_texts, train_y = texts["train"], labels["train"]
    longest_first = holds_phrases(list(train_texts), config.seed)
    order = training_order(train_texts, min(MAX_EPOCHS, max(plan_epochs, 1)), config.seed, longest_first)
    stream = tf.data.Dataset.from_tensor_slices(
        (tf.constant(list(train_texts[order]), tf.string), tf.constant(train_y[order]))).batch(BATCH).prefetch(2)
    step_seconds = _train_step_seconds(model, stream)
    total_steps = math.ceil(len(order) / BATCH)
    affordable = total_steps if deadline is None else max(1, int((deadline - time.monotonic()) / step_seconds))
    steps = min(total_steps, affordable)
    per_check = max(1, steps // CHECKS)
    check_texts = texts["val"][:CHECK_TEXTS]
    check = _batches(check_texts, labels["val"][:CHECK_TEXTS])
    keeper = KeepBestEpoch(objective, -math.inf if objective == "val_accuracy" else math.inf, patience=math.inf)
    progress.note(f"Fine-tuning {name}: about {steps:,} steps of {BATCH} texts ({step_seconds:.2f}s each), "
                  f"checked on validation every {per_check:,} steps"
                  + ("; the longest training texts first (the table holds phrases of its sentences)."
                     if longest_first else "."))
    history = model.fit(stream.repeat(), steps_per_epoch=per_check, epochs=max(1, math.ceil(steps / per_check)),
                        validation_data=check, verbose=0, class_weight=profile.class_weight,
                        callbacks=[AnnealToBudget(deadline, per_check), DeadlineStop(None, deadline), keeper]).history
    seconds = time.monotonic() - start
    seen = min(len(history.get("loss", [])) * per_check * BATCH, len(order))
    best = keeper.best if keeper.weights is not None else float("nan")
    record = TrialRecord(TRIAL_ID, {"learning_rate": FINE_TUNE_RATE, "steps": steps}, best, "COMPLETED", len(history.get("loss", [])),
                         model.count_params(), round(seconds, 2),
                         {k: [float(v) for v in values] for k, values in history.items()})
    metric = objective.removeprefix("val_")
    phase = Phase("fine-tuning the text encoder", 1, round(seconds, 1), best, True,
                  f"{name} fine-tuned, every layer, at learning rate {FINE_TUNE_RATE:g} annealed to the deadline, on "
                  f"about {seen:,} training texts ({seen / max(len(train_texts), 1):.2f} passes over "
                  f"{len(train_texts):,}{', the longest first: the table holds phrases of its sentences' if longest_first else ''}); "
                  f"the best of {len(history.get('loss', []))} validation checks ({metric} {best:.4g}, on up to "
                  f"{len(check_texts):,} validation texts) was kept.")
    return record, phase


def _train_step_seconds(model, stream) -> float:
    """Seconds a training step, timed on the stream's second batch (the first traces the step)."""
    first, *rest = list(stream.take(2))
    model.train_on_batch(*first)
    tick = time.perf_counter()
    model.train_on_batch(*(rest[0] if rest else first))
    return time.perf_counter() - tick


def _fit_frozen_head(model, texts, labels, profile, name: str, progress) -> tuple[TrialRecord, Phase]:
    """Mean-pooled embeddings of every training and validation text through the frozen encoder, then logistic
    regression (C chosen on validation), copied into the model's head so that it is one end-to-end model."""
    start = time.monotonic()
    embed = keras.Model(model.inputs, model.get_layer("mean_pool").output)
    progress.note(f"Embedding {len(texts['train']):,} training and {len(texts['val']):,} validation texts with the "
                  f"frozen {name}.")
    features = {split: embed.predict(_batches(texts[split]), verbose=0).astype("float64") for split in texts}
    fits = []
    for c in FROZEN_C:
        fitted = LogisticRegression(C=c, max_iter=2000, class_weight=profile.class_weight)
        fitted.fit(features["train"], labels["train"])
        fits.append((fitted.score(features["val"], labels["val"]), c, fitted))
    accuracy, c, best = max(fits, key=lambda fit: fit[:2])
    kernel, bias = linear_head_weights(best, "classification", len(profile.class_names))
    model.get_layer("probabilities").set_weights([kernel.astype("float32"), bias.astype("float32")])
    seconds = time.monotonic() - start
    record = TrialRecord(TRIAL_ID, {"head": "logistic regression", "C": c}, accuracy, "COMPLETED", 1,
                         model.count_params(), round(seconds, 2), {"val_accuracy": [accuracy]})
    phase = Phase("head on the frozen text encoder", len(FROZEN_C), round(seconds, 1), accuracy, True,
                  f"{name}'s mean-pooled embeddings of every training text, computed once; logistic regression "
                  f"with C in {FROZEN_C} (C = {c:g} best on validation, accuracy {accuracy:.4f}). Weaker than "
                  "fine-tuning, which this budget did not afford.")
    return record, phase
