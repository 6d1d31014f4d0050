"""Using a finished run: its SavedModel applied to new raw files or table rows → a CSV."""

from automl.predict.predictor import predict_to_csv

__all__ = ["predict_to_csv"]
