"""automl: Keras AutoML for image folders and tables — ingest, profile, select, search, diagnose,
report and export, in one call."""

from automl.config import RunConfig, load_config
from automl.errors import AutomlError, ConfigError, DataError


def run(config, progress=None, command: str = "", started=None):
    """Runs the whole pipeline (see automl.pipeline.run); imported lazily to keep `import automl` light."""
    from automl.pipeline import run as run_pipeline

    return run_pipeline(config, progress, command, started)


def __getattr__(name):
    if name == "RunResult":
        from automl.pipeline import RunResult

        return RunResult
    raise AttributeError(name)


__all__ = ["run", "RunConfig", "RunResult", "AutomlError", "ConfigError", "DataError", "load_config"]
