"""The run directory: default naming, refusing silent reuse, and the record resume checks against."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from automl.errors import ConfigError, DataError

RECORD = "run.json"
# Settings that change what the search means; resuming with other values is refused.
RESUME_KEYS = ("target", "family", "tuner", "max_trials", "epochs", "batch_size", "seed",
               "val_fraction", "test_fraction", "image_size", "backbone", "cache_features")

# What a run writes before its record: an example's data, and a record being written.
EARLY_OUTPUTS = {"example-data", "run.partial"}


def default_run_dir(data: str, root: Path = Path("reports")) -> Path:
    prefixed = data.startswith(("tfds:", "example:"))
    name = data.split(":", 1)[1] if prefixed else Path(data.rstrip("/")).stem or "data"
    return root / f"{name.replace('/', '_')}-{time.strftime('%Y%m%d-%H%M%S')}"


def prepare_run_dir(config):
    """Returns config with run_dir set, and makes the directory, refusing to reuse a non-empty one
    unless the user asked to resume or overwrite."""
    run_dir = Path(config.run_dir) if config.run_dir else default_run_dir(config.data)
    config = dataclasses.replace(config, run_dir=str(run_dir))
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"The run directory '{run_dir}' is a file. Choose a folder with --output.")
    busy = run_dir.exists() and any(run_dir.iterdir())
    if busy and config.overwrite:
        shutil.rmtree(run_dir)
    elif busy and not config.resume:
        raise ConfigError(f"The run directory '{run_dir}' is not empty. Pass --resume to continue that run, "
                          "--overwrite to replace it, or choose another --output.")
    elif config.resume and not (run_dir / RECORD).exists() and not _stopped_before_record(run_dir):
        raise ConfigError(f"Nothing to resume in '{run_dir}': it has no {RECORD}. Start a new run without --resume.")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=run_dir).close()  # an existing but read-only folder fails here, not mid-run
    except OSError as error:
        raise ConfigError(f"Cannot create or write to the run directory '{run_dir}' ({error.strerror}). "
                          "Choose a writable --output.") from None
    return config


def _stopped_before_record(run_dir: Path) -> bool:
    """A run stopped while reading its data has made its folder but no record yet: nothing finished
    was lost, so resuming it simply starts it."""
    return run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= EARLY_OUTPUTS


def record_run(config, fingerprint: str) -> None:
    """Writes run.json, or on resume checks that data and settings are unchanged."""
    path = Path(config.run_dir) / RECORD
    settings = {key: getattr(config, key) for key in RESUME_KEYS}
    if config.resume and path.exists():
        saved = json.loads(path.read_text())
        if saved["fingerprint"] != fingerprint:
            raise DataError(f"The data changed since the run in '{config.run_dir}' started (fingerprint "
                            f"{saved['fingerprint']} → {fingerprint}). Start a new run with another --output.")
        changed = [k for k in RESUME_KEYS if saved["settings"].get(k) != settings[k]]
        if changed:
            raise ConfigError(f"Settings changed since the run started ({', '.join(changed)}). "
                              "Resume with the same settings, or start a new run.")
        return
    partial = path.with_suffix(".partial")  # written aside and renamed, so a killed run leaves no half record
    partial.write_text(json.dumps({"data": config.data, "fingerprint": fingerprint, "settings": settings}, indent=1))
    os.replace(partial, path)
