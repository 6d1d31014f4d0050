"""Starting `automl serve`: uvicorn (an ASGI server) running automl.serve.app on one address."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import uvicorn

from automl.errors import ConfigError
from automl.serve.app import ServeLimits, build_app, load_served_model

DEFAULT_PORT = 8501  # TensorFlow Serving's REST port


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve(run_dir: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT, name: str = "automl",
          limits: ServeLimits = ServeLimits(), announce=print) -> None:
    """Loads the run's model and serves it until interrupted (Ctrl-C or SIGTERM).

    Raises:
        DataError: run_dir holds no servable model.
        ConfigError: The address cannot be listened on.
    """
    served = load_served_model(Path(run_dir), name)
    app = build_app(served, limits)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            limit_concurrency=256, timeout_keep_alive=5)
    server = uvicorn.Server(config)
    announce(f"Serving '{name}' ({served.meta['modality']} {served.meta['task']}) from {run_dir} on "
             f"http://{host}:{port}: POST /v1/models/{name}:predict, GET /healthz; loaded in "
             f"{served.cold_start_seconds:.1f}s. Ctrl-C stops it.")
    if not is_loopback(host):
        announce(f"Listening on {host}, beyond this machine: the server has no authentication, so keep it behind "
                 "a firewall or a proxy that adds it.")
    try:
        server.run()
    except OSError as error:
        raise ConfigError(f"Cannot listen on {host}:{port} ({error.strerror or error}). Choose another --port, or "
                          "stop what is using it.") from None
