"""`automl serve RUN_DIR`: a finished run's SavedModel behind an HTTP server that speaks TensorFlow Serving's
REST predict API, so clients can move to TF Serving unchanged (app: the routes; server: starting it)."""

from automl.serve.app import ServeLimits, build_app, load_served_model
from automl.serve.server import serve

__all__ = ["serve", "build_app", "load_served_model", "ServeLimits"]
