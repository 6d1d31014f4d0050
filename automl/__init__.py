"""automl: Keras AutoML for image folders, texts, tables and series — ingest, profile, select, search,
diagnose, report and export, in one call:

    import automl
    result = automl.run("data/", time_budget="2m", target="y")
    result.predict("new.csv"); result.report_path; result.model_path
"""

from automl.config import RunConfig, load_config
from automl.errors import AutomlError, ConfigError, DataError


def run(data, *, pipeline=None, progress=None, **settings):
    """Searches for a model on data (a path, tfds:NAME, example:NAME, or a RunConfig) with any RunConfig setting
    by keyword, and returns the finished run (automl.api.Run: predict, report_path, model_path, metrics)."""
    from automl.api import run as run_api

    return run_api(data, pipeline=pipeline, progress=progress, **settings)


def __getattr__(name):
    if name == "RunResult":
        from automl.pipeline import RunResult

        return RunResult
    if name == "Run":
        from automl.api import Run

        return Run
    raise AttributeError(name)


__all__ = ["run", "Run", "RunConfig", "RunResult", "AutomlError", "ConfigError", "DataError", "load_config"]
