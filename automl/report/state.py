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

from automl.errors import AutomlError, DataError
from automl.files import write_text_atomic

STATE_FILE = "report_state.json"
# Version 2 keeps one RunResult under "run"; version 1 (before the stage packages) kept its parts side by
# side under older module names, and is read through OLD_MODULES and _from_version_1.
STATE_VERSION = 2
# Where version 1's dataclasses live now (exact module names; their classes kept their names).
OLD_MODULES = {
    "automl.profiler": "automl.profile.profiler", "automl.columns": "automl.profile.columns",
    "automl.text_profile": "automl.profile.text", "automl.series_profile": "automl.profile.series",
    "automl.forecast_profile": "automl.profile.forecast", "automl.selector": "automl.select",
    "automl.search": "automl.search.result", "automl.ensemble": "automl.search.ensemble",
    "automl.diagnostics": "automl.diagnose.result", "automl.forecast_diagnostics": "automl.diagnose.result",
    "automl.calibration": "automl.diagnose.calibration", "automl.forecast_metrics": "automl.diagnose.forecast_metrics",
    "automl.export": "automl.export.savedmodel", "automl.export_formats": "automl.export.formats",
    "automl.latency": "automl.export.latency", "automl.measure": "automl.export.measure",
    "automl.report.gallery": "automl.diagnose.gallery",
}
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


def _dataclass_type(name: str, renamed: dict):
    module, _, qualname = name.rpartition(".")
    module = renamed.get(module, module)
    if not (module == "automl" or module.startswith("automl.")):
        raise DataError(f"The report state names the type '{name}', which is not part of automl. "
                        "Regenerate it with `automl run`.")
    cls = getattr(importlib.import_module(module), qualname, None)
    if cls is None or not dataclasses.is_dataclass(cls):
        raise DataError(f"The report state names '{name}', which this version of automl does not have. "
                        "Regenerate it with `automl run`.")
    return cls


def _decode(value, renamed: dict):
    if isinstance(value, list):
        return [_decode(v, renamed) for v in value]
    if not isinstance(value, dict):
        return value
    if TYPE in value:
        cls = _dataclass_type(value[TYPE], renamed)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: _decode(v, renamed) for k, v in value.items() if k in known})
    if TUPLE in value:
        return tuple(_decode(v, renamed) for v in value[TUPLE])
    if PATH in value:
        return Path(value[PATH])
    if PAIRS in value:
        return {_decode(k, renamed): _decode(v, renamed) for k, v in value[PAIRS]}
    if "__float__" in value:
        return float(value["__float__"])
    return {k: _decode(v, renamed) for k, v in value.items()}


def save_state(run_dir: Path, run) -> Path:
    """Writes the run (config, profile, plan, search result without its model, …) as JSON."""
    path = Path(run_dir) / STATE_FILE
    kept = dataclasses.replace(run, search=dataclasses.replace(run.search, model=None), report=None)
    state = {"version": STATE_VERSION, "run": _encode(kept)}
    write_text_atomic(path, json.dumps(state, ensure_ascii=False))  # a failed write keeps the previous state
    return path


def _from_version_1(state: dict) -> dict:
    """Version 1's parts as one RunResult; its gallery moves from the measurements to the diagnosis."""
    measurements, diagnosis = state.get("measurements"), dict(state["diagnosis"])
    if isinstance(measurements, dict) and "gallery" in measurements:
        measurements = dict(measurements)
        diagnosis["gallery"] = measurements.pop("gallery")
    return {TYPE: "automl.report.run_result.RunResult", "config": state["config"], "profile": state["profile"],
            "plan": state["plan"], "search": state["result"], "diagnostics": diagnosis, "export": state["export"],
            "measurements": measurements, "command": state.get("command") or ""}


def load_state(run_dir: Path):
    """The RunResult save_state wrote (or an older version's state, converted), without a model.

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
    version = state.get("version") if isinstance(state, dict) else None
    parts = ("config", "profile", "plan", "result", "diagnosis", "export") if version == 1 else ("run",)
    if version in (1, STATE_VERSION) and not all(isinstance(state.get(part), dict) for part in parts):
        raise DataError(f"'{path}' lacks part of the run ({', '.join(parts)}). Regenerate it with `automl run`.")
    if version not in (1, STATE_VERSION):
        raise DataError(f"'{path}' has state version {version!r}; this automl reads versions 1 and "
                        f"{STATE_VERSION}. Regenerate the run with `automl run`.")
    try:
        run = _decode(_from_version_1(state), OLD_MODULES) if version == 1 else _decode(state["run"], {})
    except AutomlError:
        raise  # already says what is wrong (a type outside automl, a setting that no longer validates)
    except (TypeError, KeyError, ValueError, AttributeError) as error:  # a part missing, or of the wrong shape
        raise DataError(f"'{path}' is damaged or incomplete ({type(error).__name__}: {error}), so the report "
                        "cannot be written from it. Run `automl run` again to rebuild it.") from None
    _check_parts(run, path)
    return run


def _check_parts(run, path: Path) -> None:
    """The decoded state must be a whole RunResult: each stage's part is the dataclass it names (an edited
    or truncated file could leave a list or a number where a profile belongs)."""
    from automl.report.run_result import RunResult

    if not isinstance(run, RunResult):
        raise DataError(f"'{path}' does not hold a run (it holds {type(run).__name__}). Run `automl run` again "
                        "to rebuild it.")
    wrong = [name for name in ("config", "profile", "plan", "search", "diagnostics", "export")
             if not dataclasses.is_dataclass(getattr(run, name))]
    if wrong:
        raise DataError(f"'{path}' is damaged: its {', '.join(wrong)} part{'s are' if len(wrong) > 1 else ' is'} "
                        "missing or not what automl wrote. Run `automl run` again to rebuild it.")
