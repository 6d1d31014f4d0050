"""The Python API for notebooks and scripts: `automl.run("data/", time_budget="2m", target="y")`.

    import automl
    result = automl.run("data/", time_budget="2m", target="y")   # any RunConfig setting, by keyword
    result                       # shows a summary table in a notebook (_repr_html_)
    result.predict("new.csv")    # raw inputs → a DataFrame of predictions
    result.report_path, result.model_path

The run is the same as `automl run` (automl.pipeline.run); the library keeps TensorFlow's and Keras's
start-up lines and warnings out of the caller's output, and prints nothing itself unless given a progress.
"""

from __future__ import annotations

import contextlib
import html
import os
import warnings
from pathlib import Path

import pandas as pd

from automl.config import RunConfig, load_config


def run(data: str | os.PathLike | RunConfig, *, pipeline: str | None = None, progress=None, **settings) -> "Run":
    """Searches for a model on data and returns the finished run.

    Args:
        data: A folder, a table file, an .npz, "tfds:NAME" or "example:NAME"; or a whole RunConfig.
        pipeline: A preset ("quick", "default", "thorough") or a .toml file, as --pipeline.
        progress: Receives stage and search events (automl.progress.NullProgress's methods); none by default.
        **settings: Any RunConfig setting: time_budget="2m", target="y", max_trials=10, run_dir=..., task=...

    Raises:
        ConfigError, DataError: Bad settings or data (the same messages as the command line's).
    """
    config = data if isinstance(data, RunConfig) else load_config(pipeline, data=os.fspath(data), **settings)
    with quiet_libraries():
        from automl.pipeline import run as run_pipeline

        return Run(run_pipeline(config, progress))


@contextlib.contextmanager
def quiet_libraries():
    """TensorFlow's C++ log lines below errors, absl's and Python's warnings held back, for the block."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import absl.logging

        previous = absl.logging.get_verbosity()
        absl.logging.set_verbosity(absl.logging.ERROR)
        try:
            yield
        finally:
            absl.logging.set_verbosity(previous)


class Run:
    """A finished run: its figures, where its report and model are, and predict() on new raw inputs.

    Attributes:
        result: Everything every stage returned (automl.pipeline.RunResult).
    """

    def __init__(self, result):
        self.result = result
        self._loaded = None  # the SavedModel and its metadata, loaded by the first predict()

    @property
    def run_dir(self) -> Path:
        return Path(self.result.config.run_dir)

    @property
    def report_path(self) -> Path:
        return self.result.report.html

    @property
    def model_path(self) -> Path:
        """The SavedModel folder (raw inputs in, probabilities or values out)."""
        return self.result.export.model_dir

    @property
    def metrics(self) -> dict:
        """split → metric → value (test accuracy, or MAE/RMSE/R², …)."""
        return self.result.diagnostics.metrics

    def predict(self, inputs) -> pd.DataFrame:
        """Predictions for new raw inputs, one row each: a file or folder (as `automl predict` reads it), a
        DataFrame of table rows, a list of texts, or a list (or array) of images or series.

        Raises:
            DataError: The inputs are not something this run's model reads.
        """
        from automl.predict import load_run_model, predict_frame, predict_instances

        with quiet_libraries():
            self._loaded = self._loaded or load_run_model(self.run_dir)
            if isinstance(inputs, (str, os.PathLike)):
                return predict_frame(*self._loaded, Path(inputs))[0]
            if isinstance(inputs, pd.DataFrame):
                frame, instances = inputs.copy(), inputs.to_dict("records")
            else:
                instances = list(inputs)
                frame = pd.DataFrame(index=range(len(instances)))
            predictions = predict_instances(*self._loaded, instances).set_index(frame.index)
            return pd.concat([frame, predictions], axis=1)

    def __repr__(self) -> str:
        diagnosis = self.result.diagnostics
        from automl.modalities import task_named

        score = task_named(diagnosis.task).score_sentence(diagnosis.metrics["test"], diagnosis.baseline)
        return (f"<automl run {self.result.profile.name}: {self.result.plan.family}, {score}, verdict "
                f"{diagnosis.verdict} → {self.report_path}>")

    def _repr_html_(self) -> str:
        """A summary for notebooks: the test figures against the baseline, the verdict and the paths."""
        diagnosis, plan = self.result.diagnostics, self.result.plan
        rows = "".join(f"<tr><th>{html.escape(name)}</th><td>{value:.4g}</td>"
                       f"<td>{'' if diagnosis.baseline.get(name) is None else format(diagnosis.baseline[name], '.4g')}"
                       f"</td></tr>" for name, value in diagnosis.metrics["test"].items())
        note = f"<p><strong>{html.escape(diagnosis.baseline_note)}</strong></p>" if diagnosis.baseline_note else ""
        return (f"<div><p><strong>{html.escape(self.result.profile.name)}</strong>: family "
                f"<code>{html.escape(plan.family)}</code>, verdict <em>{html.escape(diagnosis.verdict)}</em> — "
                f"{html.escape(diagnosis.verdict_reason)}</p>{note}"
                f"<table><tr><th>test</th><th>model</th><th>baseline</th></tr>{rows}</table>"
                f"<p>report: <code>{html.escape(str(self.report_path))}</code>; model: "
                f"<code>{html.escape(str(self.model_path))}</code></p></div>")
