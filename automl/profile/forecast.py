"""Profile stage, forecasting part: series facts (length, frequency, season, missing values), guardrails,
and the model inputs: SeriesInputs (the series families' input layer, fed windows relative to their last
step) and ForecastInputs (lookback, horizon, columns, scales)."""

from __future__ import annotations

import numpy as np

from automl.profile.series import SeriesInputs, reference_sample
from automl.profile.guardrails import DONE, PASSED, Guardrail


# The reference sample is drawn from the first training windows (they overlap, so a few hundred cover much
# of the training stretch).
REFERENCE_WINDOWS = 500


def forecast_facts(dataset):
    """Facts and guardrails for a forecasting dataset, its SeriesInputs and its ForecastInputs."""
    facts_, spec = dataset.forecast, dataset.forecast.inputs
    windows = {split: len(origins) for split, origins in facts_.origins.items()}
    facts = [("Series", f"{spec.length} time steps from {facts_.times[0]} to {facts_.times[-1]}, frequency "
                        f"{spec.frequency!r}; value columns {', '.join(map(repr, spec.value_columns))}"),
             ("Season", f"{spec.season} steps: {spec.season_reason}"),
             ("Windows", f"the last {spec.lookback} steps of every value column → the next {spec.horizon} steps of "
                         f"{', '.join(map(repr, spec.target_columns))}; "
                         + ", ".join(f"{split} {n}" for split, n in windows.items()))]
    checks = [Guardrail("Missing values", DONE if facts_.missing else PASSED,
                        f"{facts_.missing} missing values (or empty time steps) were filled by linear interpolation "
                        "in time." if facts_.missing else "No missing values or time steps."),
              Guardrail("Chronological splits", PASSED,
                        "Validation and test windows forecast only time steps after every training target "
                        "(never shuffled across time).")]
    # The families see each window relative to its last step (anchored_forecast); so does the reference.
    windows_ = np.stack([x for x, _ in dataset.train.data.take(REFERENCE_WINDOWS).as_numpy_iterator()])
    inputs = SeriesInputs(length=spec.lookback, channels=len(spec.value_columns), mean=spec.centred_mean,
                          std=spec.centred_std,
                          reference=reference_sample(windows_ - windows_[:, -1:, :], spec.centred_mean,
                                                     spec.centred_std))
    return facts, checks, {"series_inputs": inputs, "forecast_inputs": spec}
