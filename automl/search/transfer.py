"""The transfer family's search, in two phases (the Keras transfer-learning guide's recipe, made fast):

1. Head search on cached features. The frozen backbone's features of every training and validation
   image (plus horizontally flipped copies of the training images, a cheap augmentation) are
   computed once and cached in RUN_DIR/cache; Keras Tuner then searches the head on those vectors,
   so a trial costs seconds instead of a backbone pass per epoch.
2. Fine-tuning. The best head goes back on the backbone, whose top layers train at a low learning
   rate with flips and zooms for the time left; the result is kept only if validation improves.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf

from automl.families.common import compile_for_task
from automl.families.transfer import (FLIP_COPIES_BELOW, INPUT_SIDE, RUN_PREFIX, backbone_pixels,
                                     freeze_all_but_top, head, image_features)
from automl.search.activations import checked_split, fits_in_memory, split_top
from automl.modalities.batching import batched
from automl.progress import NullProgress
from automl.search._compat import trial_count
from automl.search.callbacks import DeadlineStop, KeepBestEpoch, TrialWatcher
from automl.search.candidates import eligibility
from automl.search.leaderboard import Candidate, Leaderboard, measure_for, rank
from automl.search.ranking import rank_trials
from automl.search.result import Phase, SearchResult, TrialRecord
from automl.search.tuner import make_tuner, predicted_examples, search_deadline_for, trial_records, training_callbacks
from automl.search.warm_start import fixed_below_head, head_weights, set_head_weights, warm_start_head

# The head search is cheap; most of the time goes to fine-tuning, which moves the score most once
# the head is good. The head phase may use at most this share of the search time.
HEAD_SHARE = 0.35
# Top backbone layers trained in phase 2 (about the last two depthwise blocks of a MobileNet), and
# their learning rate: the Keras transfer-learning guide's 1e-5, so the pretrained features are
# adjusted rather than overwritten (on hymenoptera 1e-4 raised validation loss from the first epoch).
FINE_TUNE_LAYERS = 30
FINE_TUNE_LEARNING_RATE = 1e-5
# With thousands of images the top layers can move further: on intel_scenes (23,856 training vectors with
# mirror images, MobileNetV2 at 160 px, cached activations) Adam at 1e-4 took validation accuracy from 87.7 %
# to 90.1 / 89.7 / 91.8 % over 3 epochs, 3e-4 to 87.6 / 87.8 %.
LARGE_FINE_TUNE_LEARNING_RATE = 1e-4
LARGE_FINE_TUNE_BELOW = 5_000  # training images: below, the guide's 1e-5


def fine_tune_rate(train_size: int) -> float:
    return FINE_TUNE_LEARNING_RATE if train_size < LARGE_FINE_TUNE_BELOW else LARGE_FINE_TUNE_LEARNING_RATE
# A fine-tuning epoch runs the backbone forwards and its top backwards: about this many times the
# cost of extracting features once.
FINE_TUNE_COST = 3.0
FINE_TUNE_TRIAL_ID = "fine-tune"
# A head on a few hundred feature vectors gets only a few steps an epoch at the usual batch size;
# smaller batches and higher rates than a whole network's let it converge within the epoch cap.
HEAD_BATCH_SIZE = 32
HEAD_LEARNING_RATES = [3e-3, 1e-2, 1e-3]


class HeadHyperModel(kt.HyperModel):
    """The head alone, on feature vectors; whether to train on the flipped copies too is searched."""

    def __init__(self, plan, profile, feature_dim: int, flipped: tuple | None):
        super().__init__(name="transfer_head")
        self.plan, self.profile, self.feature_dim, self.flipped = plan, profile, feature_dim, flipped
        # The linear probe on the same features is the same fit in every linear trial (with or without the
        # mirror images): fitted once each. On intel_scenes (25,000 vectors of 1,280) one fit took 60 s.
        self._probes: dict[bool, list] = {}

    def warm_start(self, model, x, y, class_weight, mirrored: bool) -> bool:
        """The head starts as the logistic regression on (x, y) (search.warm_start), fitted once per kind of data."""
        if not fixed_below_head(model):
            return False
        if mirrored in self._probes:
            set_head_weights(model, self._probes[mirrored])
            return True
        if warm_start_head(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(512), class_weight):
            self._probes[mirrored] = head_weights(model)
            return True
        return False

    def build(self, hp):
        for name, value in self.plan.fixed_hyperparameters.items():
            hp.Fixed(name, value)
        inputs = keras.Input(shape=(self.feature_dim,), name="features")
        model = keras.Model(inputs, head(inputs, hp, self.profile), name="head")
        rate = hp.Choice("learning_rate", HEAD_LEARNING_RATES, default=HEAD_LEARNING_RATES[0])
        return compile_for_task(model, self.profile, rate)

    def fit(self, hp, model, x, y, **kwargs):
        """Trains the head; one with no hidden layer starts as the logistic regression fitted on the
        features (a linear probe; search.warm_start)."""
        mirrored = self.flipped is not None and hp.Boolean("flip_copies", default=True)
        if mirrored:
            x, y = np.concatenate([x, self.flipped[0]]), np.concatenate([y, self.flipped[1]])
        self.warm_start(model, x, y, kwargs.get("class_weight"), mirrored)
        return model.fit(x, y, **kwargs)


def _image(x, y):
    return x


def _mirrored_image(x, y):
    return tf.image.flip_left_right(x)


def _extract(extractor, split_data, batch_size: int, flip: bool = False) -> np.ndarray:
    data = split_data.map(_mirrored_image if flip else _image)
    return extractor.predict(data.batch(batch_size).prefetch(tf.data.AUTOTUNE), verbose=0)


def input_side(plan) -> int:
    """The side the plan's backbone sees photos at (runs from before the budget chose it: 224)."""
    return int(plan.fixed_hyperparameters.get("input_side", INPUT_SIDE))


def cached_features(dataset, profile, plan, config, run_dir: Path, progress) -> tuple[dict, float]:
    """Backbone features of train (and its flipped copies) and val, computed once per run directory; and, where
    the backbone's top FINE_TUNE_LAYERS can be cut off (search.activations), the activations entering them
    (train_activations, …), from which the features are then computed, so fine-tuning runs only the top.

    Returns:
        The arrays, and the seconds one image took to pass through the backbone.
    """
    backbone, weights = plan.fixed_hyperparameters["backbone"], plan.fixed_hyperparameters["weights"]
    path = run_dir / "cache" / "transfer_features.npz"
    if path.exists():  # a resumed run: same data and settings (run.json checked), same features
        with np.load(path, allow_pickle=False) as saved:
            return {key: saved[key] for key in saved.files}, float(saved["seconds_per_image"])
    side = input_side(plan)
    inputs, features, net = image_features(profile, backbone, weights, side=side)
    flips = dataset.train.size < FLIP_COPIES_BELOW and not backbone.startswith(RUN_PREFIX)
    split = _activation_split(profile, backbone, net, side, dataset, flips)
    progress.stage("features", f"{backbone} features at {side} px of {dataset.train.size + dataset.val.size} images, "
                               f"once{' (the activations below its top layers cached for fine-tuning)' if split else ''}")
    start, arrays = time.perf_counter(), {}
    if split is None:
        extractor = keras.Model(inputs, features)
    else:  # the activations below the top, then the top and pooling on them: one pass through the backbone
        bottom, top = split
        pixels_in, pixels = backbone_pixels(profile, backbone, side)
        extractor = keras.Model(pixels_in, bottom(pixels, training=False))
        pooled = keras.Sequential([top, keras.layers.GlobalAveragePooling2D()])
    for name, data, flip in (("train", dataset.train.data, False), ("val", dataset.val.data, False),
                             ("train_flipped", dataset.train.data, True)):
        if name == "train_flipped" and not flips:
            break
        if split is None:
            arrays[name] = _extract(extractor, data, config.batch_size, flip)
        else:
            arrays[f"{name}_activations"] = _extract(extractor, data, config.batch_size, flip)
            arrays[name] = pooled.predict(arrays[f"{name}_activations"], batch_size=256, verbose=0)
        if name == "val":
            seconds_per_image = (time.perf_counter() - start) / (dataset.train.size + dataset.val.size)
    arrays["seconds_per_image"] = np.array(seconds_per_image)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    keras.backend.clear_session()
    return arrays, seconds_per_image


def _activation_split(profile, backbone: str, net, side: int, dataset, flips: bool):
    """(bottom, top) of the backbone when its top FINE_TUNE_LAYERS can be cut off and the activations entering
    them fit in memory (search.activations); else None."""
    if backbone.startswith(RUN_PREFIX):
        return None
    pixels_in, pixels = backbone_pixels(profile, backbone, side)
    sample = next(iter(dataset.train.data.map(_image).batch(4)))
    split = checked_split(net, FINE_TUNE_LAYERS, np.asarray(keras.Model(pixels_in, pixels)(sample)))
    images = dataset.train.size * (2 if flips else 1) + dataset.val.size
    return split if split is not None and fits_in_memory(split[0], images) else None


def search_transfer(plan, dataset, profile, config, deadline: float | None, progress=None):
    """Phase 1 (head on cached features), then phase 2 (fine-tuning), within the run's deadline."""
    progress = progress or NullProgress()
    run_dir, start = Path(config.run_dir), time.monotonic()
    features, per_image = cached_features(dataset, profile, plan, config, run_dir, progress)
    extract_seconds = time.monotonic() - start
    evaluation = per_image * predicted_examples(dataset, plan.task)
    fine_tune_epoch = per_image * dataset.train.size * FINE_TUNE_COST
    search_deadline = search_deadline_for(deadline, time.monotonic(), 0.0, evaluation)
    head_deadline = None if deadline is None else time.monotonic() + HEAD_SHARE * (search_deadline - time.monotonic())

    train_y, val_y = dataset.train.labels, dataset.val.labels
    flipped = (features["train_flipped"], train_y) if "train_flipped" in features else None
    hypermodel = HeadHyperModel(plan, profile, features["train"].shape[1], flipped)
    tuner = make_tuner(plan, profile, run_dir, config, hypermodel)
    objective = tuner.oracle.objective.name
    watcher = TrialWatcher(tuner, run_dir / "trial_log.json", progress, plan.epochs)
    stopper = DeadlineStop(tuner, head_deadline)
    batch_size = min(config.batch_size, HEAD_BATCH_SIZE)
    steps = -(-len(train_y) // batch_size)
    progress.search_started(plan.max_trials, head_deadline, 0.0)
    tuner.search(features["train"], train_y, validation_data=(features["val"], val_y), epochs=plan.epochs,
                 batch_size=batch_size, verbose=0, class_weight=profile.class_weight,
                 callbacks=[*training_callbacks(config.patience, head_deadline, steps), stopper, watcher])
    head_records = trial_records(tuner, watcher, {stopper.cut_trial} - {None})
    ranked = rank_trials(head_records, objective)
    if not ranked:
        raise RuntimeError("The head search finished no trial; see the tuner log in " + str(run_dir / "search"))
    best = ranked[0]
    head_seconds = time.monotonic() - start - extract_seconds
    best_head = tuner.load_model(tuner.oracle.get_trial(best.trial_id))
    best_hp = tuner.oracle.get_trial(best.trial_id).hyperparameters

    model, backbone = _assemble(plan, profile, best_hp, best_head)
    val = batched(dataset.val, profile, config.batch_size, None)
    before = _val_scores(model, val)
    mean_trial = sum(t.seconds for t in head_records) / max(len(head_records), 1)
    phases = [Phase(
        "head search on cached features", len(head_records), round(extract_seconds + head_seconds, 1),
        best.score, True,
        f"Backbone features of {dataset.train.size} training images"
        f"{' (and their mirror images)' if flipped else ''} and {dataset.val.size} validation images were "
        f"computed once in {extract_seconds:.1f}s and cached; then {len(head_records)} head trials took "
        f"{mean_trial:.1f}s each on average.")]
    if "train_activations" in features:
        fine_tune = _fine_tune_cached(model, backbone, features, (train_y, val_y), profile, config, search_deadline,
                                      objective, best.hyperparameters, progress)
    else:
        fine_tune = _fine_tune(model, backbone, dataset, profile, config, search_deadline, fine_tune_epoch, before,
                               objective, best.hyperparameters, progress)
    records = list(head_records)
    if fine_tune is None:
        epoch = "" if "train_activations" in features else f" (about {fine_tune_epoch:.0f}s each here)"
        phases.append(Phase("fine-tuning", 0, 0.0, None, False,
                            f"Skipped: less time was left than two fine-tuning epochs{epoch}."))
    else:
        record, phase = fine_tune
        records.append(record)
        phases.append(phase)
        phases[0] = dataclasses.replace(phases[0], kept=not phase.kept)
    kept_fine_tune = fine_tune is not None and fine_tune[1].kept
    best_id = FINE_TUNE_TRIAL_ID if kept_fine_tune else best.trial_id
    best_values = fine_tune[0].hyperparameters if kept_fine_tune else best.hyperparameters
    outputs = model.predict(val, verbose=0) if kept_fine_tune else best_head.predict(features["val"], verbose=0)
    searched = Candidate(f"trial {best.trial_id}" + (", fine-tuned" if kept_fine_tune else ""), "trial", model, outputs,
                         best.seconds + (fine_tune[0].seconds if kept_fine_tune else 0.0), model.count_params())
    board = _leaderboard(searched, plan, profile, config, features, hypermodel, (train_y, val_y))
    stopped = ("time_budget" if stopper.fired else
               "max_trials" if trial_count(tuner) >= plan.max_trials else "search_complete")
    return SearchResult(model=board.models[board.chosen], best_trial_id=best_id, best_hyperparameters=best_values,
                        trials=tuple(records), objective=objective, tuner=plan.tuner, stopped_because=stopped,
                        seconds=time.monotonic() - start, phases=tuple(phases), leaderboard=board)


def _leaderboard(searched: Candidate, plan, profile, config, features: dict, hypermodel, labels) -> Leaderboard:
    """The searched model against the linear probe (logistic regression on the frozen features, mirror images
    included, in closed form: the fit the head search already made for its linear trials), on the validation
    features. No average: each would carry its own backbone, twice
    the cost of every prediction for the same features."""
    start = time.perf_counter()
    hp = kt.HyperParameters()
    hp.values.update({"head_units": 0, "dropout": 0.0})  # Keras Tuner keeps a value that is already there
    probe_head = hypermodel.build(hp)
    (train_x, train_y), val_y = (features["train"], labels[0]), labels[1]
    if hypermodel.flipped is not None:
        train_x = np.concatenate([train_x, hypermodel.flipped[0]])
        train_y = np.concatenate([train_y, hypermodel.flipped[1]])
    candidates = [searched]
    if hypermodel.warm_start(probe_head, train_x, train_y, profile.class_weight, hypermodel.flipped is not None):
        probe = _assemble(plan, profile, hp, probe_head)[0]
        candidates.append(Candidate("linear probe (frozen backbone features + logistic regression)", "simple", probe,
                                    probe_head.predict(features["val"], verbose=0), time.perf_counter() - start,
                                    probe_head.count_params()))
    kinds, restricted_by = eligibility(config, plan)
    measure = measure_for(plan.task, bool(profile.class_weight))
    return rank(candidates, val_y, plan.task, measure, kinds, 1, restricted_by)


def _assemble(plan, profile, hp, trained_head) -> tuple[keras.Model, keras.Model]:
    """The best head on the backbone, end to end (compiled), with the head's trained weights copied in;
    and the backbone, for fine-tuning."""
    fixed = plan.fixed_hyperparameters
    run_backbone = fixed["backbone"].startswith(RUN_PREFIX)
    inputs, x, backbone = image_features(profile, fixed["backbone"], fixed["weights"], augment=not run_backbone,
                                         side=input_side(plan))
    freeze_all_but_top(backbone, 0)
    model = keras.Model(inputs, head(x, hp, profile), name="transfer")
    for layer in trained_head.layers:
        if layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())
    return compile_for_task(model, profile, FINE_TUNE_LEARNING_RATE), backbone


def _val_scores(model, *data) -> dict[str, float]:
    """model.evaluate on validation data (a dataset, or arrays x, y), as val_* scores."""
    return {f"val_{k}": float(v) for k, v in model.evaluate(*data, verbose=0, return_dict=True).items()}


def _better(after: dict, before: dict, objective: str) -> bool:
    if objective == "val_accuracy":
        return (after["val_accuracy"], -after["val_loss"]) > (before["val_accuracy"], -before["val_loss"])
    return after["val_loss"] < before["val_loss"]


def _fine_tune(model, backbone, dataset, profile, config, deadline, epoch_estimate, before, objective, head_values,
               progress):
    """Trains the backbone's top layers at a low rate; keeps the result only if validation improves.

    Returns:
        (trial record, phase), or None when fewer than two epochs fit before the deadline.
    """
    if deadline is not None and time.monotonic() + 2 * epoch_estimate > deadline:
        return None
    start = time.monotonic()
    augmented = any(layer.name.startswith("random_") for layer in model.layers)
    saved = model.get_weights()
    freeze_all_but_top(backbone, FINE_TUNE_LAYERS)
    compile_for_task(model, profile, FINE_TUNE_LEARNING_RATE)
    train = batched(dataset.train, profile, config.batch_size, Path(config.run_dir) / "cache" / "train",
                           seed=config.seed)
    val = batched(dataset.val, profile, config.batch_size, None)
    steps = -(-dataset.train.size // config.batch_size)
    progress.stage("fine-tune", f"top {FINE_TUNE_LAYERS} backbone layers at learning rate {FINE_TUNE_LEARNING_RATE:g}")
    history = model.fit(train, validation_data=val, epochs=config.epochs, verbose=0,
                        class_weight=profile.class_weight,
                        callbacks=[*training_callbacks(config.patience, deadline, steps),
                                   DeadlineStop(None, deadline)]).history
    after = _val_scores(model, val)
    kept = _better(after, before, objective)
    if not kept:
        model.set_weights(saved)
    freeze_all_but_top(backbone, 0)
    return _fine_tune_outcome(history, before, after, objective, kept, time.monotonic() - start, model,
                              {**head_values, "fine_tune_layers": FINE_TUNE_LAYERS,
                               "learning_rate": FINE_TUNE_LEARNING_RATE, "augment": augmented},
                              f"{FINE_TUNE_LEARNING_RATE:g}{' with flips and zooms' if augmented else ''}")


def _fine_tune_cached(model, backbone, features: dict, labels, profile, config, deadline, objective, head_values,
                      progress):
    """Fine-tuning on the cached activations below the backbone's top FINE_TUNE_LAYERS: the top and the head
    train (their layers are the end-to-end model's), on the training images and their mirror images; the
    result is kept only if validation improves.

    Returns:
        (trial record, phase), or None when fewer than two epochs fit before the deadline.
    """
    start = time.monotonic()
    split = split_top(backbone, FINE_TUNE_LAYERS)
    activations = keras.Input(shape=features["train_activations"].shape[1:], name="activations")
    x = split[1](activations, training=False)  # BatchNorm stays in inference mode, as in the end-to-end model
    for layer in model.layers[model.layers.index(model.get_layer("features")):]:  # pooling, then the head
        x = layer(x)
    tuned = keras.Model(activations, x, name="top_and_head")
    train_x, train_y = features["train_activations"], labels[0]
    if "train_flipped_activations" in features:
        train_x = np.concatenate([train_x, features["train_flipped_activations"]])
        train_y = np.concatenate([train_y, train_y])
    val = (features["val_activations"], labels[1])
    saved, rate = model.get_weights(), fine_tune_rate(len(labels[0]))
    freeze_all_but_top(backbone, FINE_TUNE_LAYERS)
    compile_for_task(tuned, profile, rate)
    before = _val_scores(tuned, *val)
    steps = -(-len(train_y) // config.batch_size)
    tuned.train_on_batch(train_x[:config.batch_size], train_y[:config.batch_size])  # traces the step
    timing = time.perf_counter()
    tuned.train_on_batch(train_x[:config.batch_size], train_y[:config.batch_size])
    epoch_estimate = (time.perf_counter() - timing) * steps
    model.set_weights(saved)  # the timing steps moved the weights
    if deadline is not None and time.monotonic() + 2 * epoch_estimate > deadline:
        freeze_all_but_top(backbone, 0)
        return None
    compile_for_task(tuned, profile, rate)  # a fresh optimizer state
    progress.stage("fine-tune", f"top {FINE_TUNE_LAYERS} backbone layers at learning rate {rate:g}, "
                                "on cached activations")
    keep_best = KeepBestEpoch(objective, before[objective], config.patience)
    annealing = [c for c in training_callbacks(config.patience, deadline, steps)
                 if not isinstance(c, keras.callbacks.EarlyStopping)]
    history = tuned.fit(train_x, train_y, validation_data=val, epochs=config.epochs, batch_size=config.batch_size,
                        shuffle=True, verbose=0, class_weight=profile.class_weight,
                        callbacks=[*annealing, keep_best, DeadlineStop(None, deadline)]).history
    after = _val_scores(tuned, *val)
    kept = _better(after, before, objective)
    if not kept:
        model.set_weights(saved)
    freeze_all_but_top(backbone, 0)
    compile_for_task(model, profile, FINE_TUNE_LEARNING_RATE)
    mirrored = "with" if "train_flipped_activations" in features else "without"
    return _fine_tune_outcome(history, before, after, objective, kept, time.monotonic() - start, model,
                              {**head_values, "fine_tune_layers": FINE_TUNE_LAYERS, "learning_rate": rate,
                               "cached_activations": True},
                              f"{rate:g} on the cached activations below them ({mirrored} mirror images), about "
                              f"{epoch_estimate:.0f}s an epoch")


def _fine_tune_outcome(history: dict, before: dict, after: dict, objective: str, kept: bool, seconds: float, model,
                       hyperparameters: dict, how: str) -> tuple[TrialRecord, Phase]:
    """The fine-tune's trial record and phase; `how` follows "at learning rate" in the phase's sentence."""
    record = TrialRecord(
        trial_id=FINE_TUNE_TRIAL_ID, hyperparameters=hyperparameters,
        score=after[objective], status="COMPLETED" if kept else "DISCARDED",
        epochs=len(history.get("loss", [])), params=model.count_params(), seconds=round(seconds, 2),
        history={k: [float(v) for v in values] for k, values in history.items()})
    verdict = "kept" if kept else "discarded (validation did not improve; the head-only model stays)"
    metric = objective.removeprefix("val_")
    phase = Phase(
        "fine-tuning", 1, round(seconds, 1), after[objective], kept,
        f"The top {FINE_TUNE_LAYERS} backbone layers trained for {record.epochs} epochs at learning rate {how}: "
        f"validation {metric} {before[objective]:.4g} → {after[objective]:.4g}, {verdict}.")
    return record, phase
