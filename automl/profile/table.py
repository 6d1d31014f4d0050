"""Profile stage, tables: column facts, the dropped / missing / leaking column guardrails, and the
columns the MLP's input layers are built from (their statistics in automl.profile.columns)."""

from __future__ import annotations

from collections import Counter

from automl.errors import DataError
from automl.modalities import task_named
from automl.profile.columns import profile_columns
from automl.profile.guardrails import ALERTED, DONE, PASSED, Guardrail


def table_facts(dataset):
    regression = task_named(dataset.task).standardised_target  # a numeric target: leaks judged by R²
    columns, inputs, leaks = profile_columns(dataset.table, dataset.train.labels, dataset.val.labels, regression)
    if not inputs:
        raise DataError(f"No usable feature column in {dataset.source}: every column is constant or ID-like. "
                        "Add feature columns that vary.")
    dropped = [c for c in columns if c.role == "dropped"]
    missing = [c for c in columns if c.role == "feature" and c.missing_fraction > 0]
    kinds = Counter(c.kind for c in columns if c.role == "feature")
    facts = [("Columns", f"{len(columns)} features ({', '.join(f'{n} {k}' for k, n in kinds.items())}), "
                         f"{len(dropped)} dropped; target {dataset.target!r}")]
    checks = [
        Guardrail("Constant / ID-like columns", DONE if dropped else PASSED,
                  "Dropped " + ", ".join(f"{c.name!r} ({c.note})" for c in dropped) + "." if dropped
                  else "No constant or ID-like column."),
        Guardrail("Missing values", DONE if missing else PASSED,
                  "Missing values in " + ", ".join(f"{c.name!r} ({c.missing_fraction:.0%})" for c in missing)
                  + " are filled inside the model (train median; empty category)." if missing else "No missing values."),
        Guardrail("Target leakage", ALERTED if leaks else PASSED,
                  f"Column(s) {', '.join(map(repr, leaks))} alone predict the target almost perfectly: check they are "
                  "known before the target is; drop them if not." if leaks else "No single column predicts the target almost perfectly."),
    ]
    return facts, checks, {"column_inputs": inputs, "columns": tuple(columns)}
