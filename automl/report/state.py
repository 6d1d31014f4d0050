"""Report stage, state: everything the report is made from, kept as JSON in RUN_DIR/report_state.json so
`automl report RUN_DIR` can write the report again without retraining.

Dataclasses are stored with their type name and rebuilt only if that type lives in the automl package
(a run directory from elsewhere can name no other code to run); tuples, Paths and dicts with non-string
keys are tagged so they come back as they were. Models are not stored (the search result's `model` is None).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from pathlib import Path

import numpy as np

from automl.errors import DataError

STATE_FILE = "report_state.json"
STATE_VERSION = 1
TYPE, TUPLE, PATH, PAIRS = "__type__", "__tuple__", "__path__", "__pairs__"


def _encode(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {TYPE: f"{type(value).__module__}.{type(value).__qualname__}", **fields}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {PAIRS: [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {TUPLE: [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, Path):
        return {PATH: str(value)}
    if isinstance(value, np.ndarray):
        return [_encode(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return None  # models and other live objects are not part of the state


def _dataclass_type(name: str):
    module, _, qualname = name.rpartition(".")
    if not (module == "automl" or module.startswith("automl.")):
        raise DataError(f"The report state names the type '{name}', which is not part of automl. "
                        "Regenerate it with `automl run`.")
    cls = getattr(importlib.import_module(module), qualname, None)
    if cls is None or not dataclasses.is_dataclass(cls):
        raise DataError(f"The report state names '{name}', which this version of automl does not have. "
                        "Regenerate it with `automl run`.")
    return cls


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if TYPE in value:
        cls = _dataclass_type(value[TYPE])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: _decode(v) for k, v in value.items() if k in known})
    if TUPLE in value:
        return tuple(_decode(v) for v in value[TUPLE])
    if PATH in value:
        return Path(value[PATH])
    if PAIRS in value:
        return {_decode(k): _decode(v) for k, v in value[PAIRS]}
    if "__float__" in value:
        return float(value["__float__"])
    return {k: _decode(v) for k, v in value.items()}


def save_state(run_dir: Path, **objects) -> Path:
    """Writes the report's inputs (config, profile, plan, search result without its model, …)."""
    path = Path(run_dir) / STATE_FILE
    state = {"version": STATE_VERSION, **{name: _encode(obj) for name, obj in objects.items()}}
    path.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    return path


def load_state(run_dir: Path) -> dict:
    """The objects save_state wrote, rebuilt.

    Raises:
        DataError: The directory holds no report state, or one this version cannot read.
    """
    path = Path(run_dir) / STATE_FILE
    if not path.is_file():
        raise DataError(f"No {STATE_FILE} in '{run_dir}'. Expected the directory of a finished `automl run` "
                        "(runs made before this version cannot be re-reported; run again).")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"'{path}' is not valid JSON ({error}). Regenerate the run with `automl run`.") from None
    if state.get("version") != STATE_VERSION:
        raise DataError(f"'{path}' has state version {state.get('version')!r}; this automl reads version "
                        f"{STATE_VERSION}. Regenerate the run with `automl run`.")
    return {name: _decode(value) for name, value in state.items() if name != "version"}
