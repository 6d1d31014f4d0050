"""Report stage, input: RunResult — one run, whole, as `automl run` returns it and as
RUN_DIR/report_state.json keeps it (without the model), so the report can be written again later."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the stages' types, for readers; the report only reads their fields
    from automl.config import RunConfig
    from automl.diagnose import Diagnostics
    from automl.export import ExportResult, Measurements
    from automl.profile import Profile
    from automl.search import SearchResult
    from automl.select import Plan


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    summary: Path


@dataclass(frozen=True)
class RunResult:
    """What every stage returned for one run.

    Attributes:
        search: The search result; its model is None once read back from report_state.json.
        measurements: Latency, trial costs and extra formats (None when not measured).
        command: The exact command line that started the run ("" when called from Python).
        seconds: Wall-clock time of the whole run.
        report: Where the report was written (None until it is).
    """

    config: RunConfig
    profile: Profile
    plan: Plan
    search: SearchResult
    diagnostics: Diagnostics
    export: ExportResult
    measurements: Measurements | None = None
    command: str = ""
    seconds: float = 0.0
    report: ReportPaths | None = None
