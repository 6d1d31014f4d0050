"""Report stage: one self-contained report.html and a machine-readable summary.json per run."""

from automl.report.writer import ReportPaths, rewrite_report, write_report

__all__ = ["ReportPaths", "rewrite_report", "write_report"]
