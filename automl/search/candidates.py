"""Search stage, the final choice: gathers every candidate — the simple models, the best trials — with outputs
on the same examples (validation, or out-of-fold on train + validation when validation is small) and hands
them to the leaderboard (search.leaderboard), which alone decides what ships."""

from __future__ import annotations

import time

import numpy as np

from automl.modalities.batching import batched
from automl.search.crossval import out_of_fold, subset
from automl.search.leaderboard import CANDIDATE_SETS, Candidate, Leaderboard, measure_for, rank
from automl.search.simple import SimpleFit

# Batch size for the simple models' predictions (they are linear: large batches are cheap).
PREDICT_BATCH = 256


def fit_simple_models(fitters: dict, split, progress) -> list[SimpleFit]:
    """Each simple model fitted on split (skipping those that cannot take the data)."""
    fits = []
    for name, fit in fitters.items():
        fitted = fit(split)
        if fitted is not None:
            fits.append(fitted)
            progress.note(f"Simple model {name}: fitted in {fitted.seconds:.1f}s; it goes on the leaderboard.")
    return fits


def _params(model) -> int:
    try:
        return int(model.count_params())
    except ValueError:  # a layer not built: the count is unknown
        return 0


def simple_candidates(fits: list[SimpleFit], data, profile) -> list[Candidate]:
    """The simple models as candidates, with their outputs on data (an unbatched split)."""
    batches = batched(data, profile, PREDICT_BATCH, None)
    return [Candidate(f.name, "simple", f.model, f.model.predict(batches, verbose=0), f.seconds, _params(f.model))
            for f in fits]


def trial_candidates(trial_models, ranked, count: int) -> list[Candidate]:
    """The best `count` finished trials (and the best trial even if the deadline cut it), with their validation
    outputs: each loaded trial is one candidate."""
    chosen = [t for t in ranked if t.status != "CUT_AT_DEADLINE"][:count]
    if ranked and ranked[0] not in chosen:
        chosen = [ranked[0], *chosen[:max(count - 1, 0)]]
    return [Candidate(f"trial {t.trial_id}", "trial", trial_models.model(t.trial_id), trial_models.outputs(t.trial_id),
                      t.seconds, t.params) for t in chosen]


def eligibility(config, plan) -> tuple[tuple[str, ...], str]:
    """The kinds that may ship, and the option that restricted them ("" when none did): --candidates, or a
    --family the user named (they asked for that family's best)."""
    if config.candidates != "all":
        return CANDIDATE_SETS[config.candidates], f"--candidates {config.candidates}"
    if config.family != "auto":
        return CANDIDATE_SETS["deep"], f"--family {plan.family}"
    return CANDIDATE_SETS["all"], ""


def choose_on_validation(candidates: list[Candidate], labels, profile, config, plan, members: int) -> Leaderboard:
    """The leaderboard of candidates scored on the validation split."""
    kinds, restricted_by = eligibility(config, plan)
    measure = measure_for(plan.task, bool(profile.class_weight))
    return rank(candidates, labels, plan.task, measure, kinds, members, restricted_by)


def choose_on_folds(folded, tuner_trials, fitters: dict, profile, config, plan, progress) -> Leaderboard:
    """The leaderboard scored on out-of-fold outputs of the same folds of train + validation: the trials the
    folds scored (only the refit one can ship), and each simple model fitted on every fold, then refit on all."""
    candidates = []
    for trial_id, outputs in folded.outputs.items():
        record = next(t for t in tuner_trials if t.trial_id == trial_id)
        refit = folded.model if trial_id == folded.record.chosen else None
        note = "" if refit is not None else "not refit (only the folds' best trial is refit on train + validation)"
        candidates.append(Candidate(f"trial {trial_id}", "trial", refit, outputs, record.seconds, record.params,
                                    note=note))
    everything = subset(folded.pool_x, folded.pool_y, np.arange(len(folded.pool_y)))
    for name, fit in fitters.items():
        start = time.perf_counter()
        fold_outputs = []
        for train, val in folded.folds:
            fitted = fit(subset(folded.pool_x, folded.pool_y, train))
            if fitted is None:
                break
            fold_outputs.append(fitted.model.predict(batched(subset(folded.pool_x, folded.pool_y, val), profile,
                                                             PREDICT_BATCH, None), verbose=0))
        final = fit(everything) if len(fold_outputs) == len(folded.folds) else None
        if final is not None:
            candidates.append(Candidate(name, "simple", final.model, out_of_fold(fold_outputs, folded.folds),
                                        time.perf_counter() - start, _params(final.model)))
            progress.note(f"Simple model {name}: scored on {len(folded.folds)} folds and refit on train + "
                          "validation; it goes on the leaderboard.")
    kinds, restricted_by = eligibility(config, plan)
    measure = measure_for(plan.task, bool(profile.class_weight))
    return rank(candidates, folded.pool_y, plan.task, measure, kinds, len(candidates), restricted_by,
                f"{len(folded.folds)}-fold out-of-fold predictions on train + validation")
