"""`automl serve RUN_DIR`: a finished run's SavedModel behind an HTTP server that speaks TensorFlow Serving's
REST predict API, so clients can move to TF Serving unchanged (app: the routes; server: starting it; load: the
load benchmark of `automl serve --benchmark`)."""

from automl.serve.app import ServeLimits, build_app, load_served_model
from automl.serve.load import benchmark, benchmark_into_report
from automl.serve.server import serve

__all__ = ["serve", "build_app", "load_served_model", "ServeLimits", "benchmark", "benchmark_into_report"]
