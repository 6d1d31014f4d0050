"""The HTTP routes of `automl serve`, on Starlette (an ASGI framework; uvicorn runs it), in TensorFlow Serving's
REST form:

    GET  /v1/models/NAME            the model's status (TF Serving's model status response)
    GET  /v1/models/NAME/metadata   metadata.json: inputs, outputs, class names
    POST /v1/models/NAME:predict    {"instances": [...]} (or "inputs") → {"predictions": [...]}
    GET  /healthz                   200 once the model is loaded, with its cold-start time

An instance is one raw example, as the run's modality reads it (automl.modalities: an image as
{"b64": "<base64 of the file>"}, a text as a string, a table row as an object of column → value, a series
as a list of numbers). Every mistake in a request is a 4xx with a JSON {"error": "..."} that says what was
wrong; an unexpected failure is a 500 with no traceback in the response (it goes to the server's log).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from automl.errors import DataError
from automl.export import load_samples
from automl.modalities import Modality, modality_of
from automl.modalities.drift import warning_line
from automl.predict import drift_report, load_run_model, prediction_columns

LOG = logging.getLogger("automl.serve")


@dataclass(frozen=True)
class ServeLimits:
    """What one request may hold: bigger bodies get 413, longer batches 400 (a client splits them)."""

    max_body_bytes: int = 10 * 1024 * 1024
    max_instances: int = 1024


class ServedModel:
    """A run's SavedModel, its metadata and modality, loaded once and called once (so the first client does not
    pay for the first call); predict_with_drift() takes request instances."""

    def __init__(self, run_dir: Path, name: str):
        started = time.perf_counter()
        self.model, self.meta = load_run_model(Path(run_dir))
        self.modality = modality_of(self.meta)
        self.name, self.run_dir = name, Path(run_dir)
        try:  # one of the held-out samples the run kept; a run without them is served all the same
            samples = load_samples(Path(run_dir))
            self.model.serve(self.modality.to_serving_input(samples))
        except Exception as error:  # noqa: BLE001 - a warm-up that fails costs only the first client's time
            LOG.info("No warm-up call (%s)", error)
        self.cold_start_seconds = time.perf_counter() - started

    def predict_with_drift(self, instances: list) -> tuple[list, dict | None]:
        """One prediction per instance (class probabilities in metadata.json's class order and the class, or
        the predicted value), and the instances' drift from the training data (None without a reference).

        Raises:
            DataError: An instance is not something this model reads.
        """
        batches = self.modality.serve_inputs(instances, self.meta)
        outputs = [self.model.serve(batch) for batch in batches]
        drift = drift_report(self.meta, [self.modality.drift_features(batch, self.meta) for batch in batches])
        columns = prediction_columns(self.meta, outputs)
        if "anomaly_score" in columns:
            return [{"anomaly_score": float(score), "is_anomaly": bool(flag)}
                    for score, flag in zip(columns["anomaly_score"], columns["is_anomaly"])], drift
        if "predicted_labels" in columns:  # multi-label: the label set and every label's probability, in class order
            probabilities = np.stack([columns[f"probability_{name}"] for name in self.meta["class_names"]], axis=1)
            return [{"predicted_labels": [label for label in labels.split("|") if label],
                     "probabilities": [float(p) for p in row]}
                    for labels, row in zip(columns["predicted_labels"], probabilities)], drift
        if "predicted_class" not in columns:
            return [{"prediction": float(value)} for value in columns["prediction"]], drift
        names = self.meta["class_names"]
        probabilities = np.stack([columns[f"probability_{name}"] for name in names], axis=1)
        return [{"predicted_class": predicted, "probabilities": [float(p) for p in row]}
                for predicted, row in zip(columns["predicted_class"], probabilities)], drift


DRIFT_HEADER = "X-Automl-Drift"  # the drifted features of a request's batch, comma-separated


def load_served_model(run_dir: Path, name: str = "automl") -> ServedModel:
    """Loads a run for serving.

    Raises:
        DataError: run_dir is not a finished run, or its model is damaged, or it is a forecast (served by
            `automl predict` on a table, not per instance).
    """
    served = ServedModel(run_dir, name)
    if type(served.modality).serve_inputs is Modality.serve_inputs:
        raise DataError(f"The {served.meta['modality']} model in '{run_dir}' reads a whole table, not instances, so it "
                        "is not served over HTTP. Use `automl predict RUN_DIR TABLE`.")
    return served


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request, limits: ServeLimits) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise HTTPException(413, f"The request body is {int(declared)} bytes; this server takes at most "
                                 f"{limits.max_body_bytes} (--max-body-mb). Send fewer instances per request.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise HTTPException(413, f"The request body is over {limits.max_body_bytes} bytes (--max-body-mb). "
                                     "Send fewer instances per request.")
        chunks.append(chunk)
    return b"".join(chunks)


def _instances(payload, served: ServedModel, limits: ServeLimits) -> list:
    """The request's instances: TF Serving's row form {"instances": [...]}, or its columnar form {"inputs": ...}
    (a list, or for a table an object of column → list of values)."""
    if not isinstance(payload, dict) or ("instances" not in payload and "inputs" not in payload):
        raise HTTPException(400, 'The body must be a JSON object with "instances": a list of examples, e.g. '
                                 '{"instances": [...]} (TensorFlow Serving\'s predict request).')
    signature = payload.get("signature_name", "serve")
    if signature not in ("serve", "serving_default"):
        raise HTTPException(400, f"No signature {signature!r}: the model has one, \"serve\".")
    instances = payload.get("instances", payload.get("inputs"))
    if isinstance(instances, dict) and "instances" not in payload:  # columnar table input
        lengths = {len(v) for v in instances.values() if isinstance(v, list)}
        if len(lengths) != 1 or not all(isinstance(v, list) for v in instances.values()):
            raise HTTPException(400, '"inputs" as an object must map every column to a list of the same length.')
        instances = [dict(zip(instances, row)) for row in zip(*instances.values())]
    if not isinstance(instances, list) or not instances:
        raise HTTPException(400, '"instances" must be a non-empty list of examples.')
    if len(instances) > limits.max_instances:
        raise HTTPException(400, f"{len(instances)} instances in one request; this server takes at most "
                                 f"{limits.max_instances} (--max-batch). Split the request.")
    return instances


def build_app(served: ServedModel, limits: ServeLimits = ServeLimits()) -> Starlette:
    """The Starlette application serving one loaded model."""
    counts = {"requests": 0, "errors": 0}

    def check_name(name: str) -> None:
        if name.endswith(":predict"):  # a GET (or other method) on the predict route
            raise HTTPException(405, f"{name} takes POST with a JSON body {{\"instances\": [...]}}.")
        if name != served.name:
            raise HTTPException(404, f"No model named {name!r} here; this server serves {served.name!r}.")

    async def predict(request: Request):
        check_name(request.path_params["name"])
        body = await _body(request, limits)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise HTTPException(400, f"The body is not valid JSON ({error}).") from None
        instances = _instances(payload, served, limits)
        try:
            predictions, drift = await run_in_threadpool(served.predict_with_drift, instances)
        except DataError as error:
            raise HTTPException(400, str(error)) from None
        headers = {}
        if drift is not None and drift["drifted"]:  # per batch: a header for the client, a line in the log
            headers[DRIFT_HEADER] = ",".join(drift["drifted"])
            LOG.warning("%s", warning_line(drift, f"{len(instances)} instance(s) on {request.url.path}"))
        return JSONResponse({"predictions": predictions}, headers=headers)

    async def status(request: Request):
        check_name(request.path_params["name"])
        return JSONResponse({"model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})

    async def metadata(request: Request):
        check_name(request.path_params["name"])
        return JSONResponse({"model_spec": {"name": served.name, "version": "1"}, "metadata": served.meta})

    async def health(request: Request):
        return JSONResponse({"status": "ok", "model": served.name, "modality": served.meta["modality"],
                             "cold_start_seconds": round(served.cold_start_seconds, 3), **counts})

    async def http_error(request: Request, error: HTTPException):
        counts["errors"] += 1
        return _error(error.status_code, error.detail)

    async def unexpected(request: Request, error: Exception):
        counts["errors"] += 1
        LOG.exception("Unexpected error serving %s", request.url.path)
        return _error(500, f"The server failed on this request ({type(error).__name__}); its log has the details.")

    return Starlette(routes=[
        Route("/v1/models/{name}:predict", predict, methods=["POST"]),
        Route("/v1/models/{name}/metadata", metadata, methods=["GET"]),
        Route("/v1/models/{name}", status, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
    ], exception_handlers={HTTPException: http_error, Exception: unexpected},
        middleware=[Middleware(_CountRequests, counts=counts)])


class _CountRequests:
    """Counts every HTTP request before routing (so 404s and 405s count too), for /healthz."""

    def __init__(self, app, counts: dict):
        self.app, self.counts = app, counts

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.counts["requests"] += 1
        await self.app(scope, receive, send)
