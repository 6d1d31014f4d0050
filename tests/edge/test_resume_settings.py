"""`automl run --resume RUN_DIR` alone continues with the settings run.json stored, and with what is
left of the time budget; a flag that differs is refused with the difference named; --time-budget given
on resume adds that much time."""

from __future__ import annotations

import json
import os

import pytest

from automl.cli import main
from automl.config import load_config
from automl.errors import ConfigError
from automl.rundir import RECORD, record_run, resumed_config


def _stopped_run(tmp_path, spent_in_session: float, spent_before: float = 0.0, **settings):
    """A run directory as a run stopped SPENT_IN_SESSION seconds after it started leaves it."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = load_config(data=str(tmp_path / "data.csv"), run_dir=str(run_dir), **settings)
    record_run(config, "fingerprint")
    record = json.loads((run_dir / RECORD).read_text())
    record["started_at"] -= 1000  # the session began 1000 s ago ...
    record["spent_before"] = spent_before
    (run_dir / RECORD).write_text(json.dumps(record))
    log = run_dir / "trial_log.json"  # ... and the search last wrote SPENT_IN_SESSION s after it began
    log.write_text("{}")
    os.utime(log, (record["started_at"] + spent_in_session,) * 2)
    return run_dir


def test_resume_alone_takes_the_stored_settings_and_what_is_left_of_the_budget(tmp_path):
    run_dir = _stopped_run(tmp_path, 100, spent_before=20, max_trials=5, epochs=4, time_budget="10m")
    config, note = resumed_config(run_dir, str(tmp_path / "data.csv"), {})
    assert (config.max_trials, config.epochs, config.resume) == (5, 4, True)
    assert config.time_budget == pytest.approx(600 - 120, abs=1)
    assert "2m00s of the 10m00s budget were spent" in note and "8m00s" in note


def test_a_flag_that_differs_is_refused_with_the_difference_named(tmp_path):
    run_dir = _stopped_run(tmp_path, 10, max_trials=5)
    with pytest.raises(ConfigError, match=r"max_trials 5 → 8") as error:
        resumed_config(run_dir, "data.csv", {"max_trials": 8, "epochs": 20})  # epochs as stored: no complaint
    assert "epochs" not in str(error.value)
    config, _ = resumed_config(run_dir, "data.csv", {"max_trials": 5})
    assert config.max_trials == 5


def test_a_time_budget_given_on_resume_adds_that_time(tmp_path):
    run_dir = _stopped_run(tmp_path, 590, time_budget="10m")
    config, note = resumed_config(run_dir, "data.csv", {"time_budget": "2m"})
    assert config.time_budget == 120 and "2m00s more" in note


def test_a_spent_budget_is_refused_with_how_to_add_time(tmp_path, capsys):
    run_dir = _stopped_run(tmp_path, 700, time_budget="10m")
    with pytest.raises(ConfigError, match="budget is spent"):
        resumed_config(run_dir, "data.csv", {})
    assert main(["run", "--resume", str(run_dir)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "--time-budget" in err and "Traceback" not in err


def test_a_record_from_an_older_version_resumes_as_before(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / RECORD).write_text(json.dumps({"data": "x.csv", "fingerprint": "f", "settings": {}}))
    assert resumed_config(run_dir, "x.csv", {"max_trials": 3}) is None
