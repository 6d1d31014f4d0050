"""Report stage: one self-contained report.html and summary.json from a RunResult, which is also kept in
report_state.json so `automl report RUN_DIR` writes them again without retraining.

`writer` renders, `sections`, `deploy_sections` and `forecast_section` format rows, `plots` draws,
`state` saves and reads the run (and runs of older versions).
"""

from automl.report.run_result import ReportPaths, RunResult
from automl.report.sections import shipped_text
from automl.report.state import load_state
from automl.report.writer import rewrite_report, write_report

__all__ = ["write_report", "rewrite_report", "load_state", "RunResult", "ReportPaths", "shipped_text"]
