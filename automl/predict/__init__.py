"""Using a finished run: its SavedModel applied to new raw files or table rows → a CSV."""

from automl.predict.predictor import load_run_model, predict_to_csv

__all__ = ["predict_to_csv", "load_run_model"]
