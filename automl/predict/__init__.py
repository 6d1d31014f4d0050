"""Using a finished run: its SavedModel applied to new raw files or table rows → a CSV."""

from automl.predict.predictor import (drift_report, load_run_metadata, load_run_model, predict_frame,
                                     predict_instances, predict_to_csv, prediction_columns)

__all__ = ["drift_report", "predict_to_csv", "predict_frame", "predict_instances", "prediction_columns",
           "load_run_model", "load_run_metadata"]
