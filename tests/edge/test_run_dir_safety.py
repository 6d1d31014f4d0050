"""Nothing of the user's is deleted: --overwrite removes only a recognisable run directory that holds none
of the data being read; a run directory is locked while a run writes to it; an interrupt says how to go on;
--time-budget 0 is refused rather than read as no limit."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from automl.cli import main
from automl.config import load_config
from automl.errors import ConfigError
from automl.rundir import LOCK, MARKER, acquire_run_dir, is_run_dir, lock_holder, prepare_run_dir, release_run_dir

from helpers import FAST_CLI_FLAGS as FAST, FIXTURES, no_traceback as _no_traceback, snapshot as _snapshot


def _config(data, run_dir, **overrides):
    return load_config(data=str(data), run_dir=str(run_dir), max_trials=1, epochs=1, time_budget=None, **overrides)


@pytest.fixture
def sleeper():
    """A live process that is not this one (its pid holds a lock), stopped at the end."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# --- --overwrite -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["file inside", "folder is the data", "run dir inside the data", "link to data"])
def test_overwrite_never_deletes_the_data_being_read(table_csv, tmp_path, capsys, layout):
    victim = tmp_path / "victim"
    victim.mkdir()
    shutil.copy(table_csv, victim / "table.csv")
    (victim / MARKER).touch()  # even a folder that looks like ours
    data, output = {
        "file inside": (victim / "table.csv", victim),
        "folder is the data": (victim, victim),
        "run dir inside the data": (victim, victim / "run"),
        "link to data": (victim / "table.csv", tmp_path / "link"),
    }[layout]
    if layout == "link to data":
        os.symlink(victim, tmp_path / "link")
    if layout == "run dir inside the data":
        (victim / "run").mkdir()
        (victim / "run" / MARKER).touch()
    before = _snapshot(victim)
    assert main(["run", str(data), "--output", str(output), "--overwrite", *FAST]) == 1
    text = _no_traceback(capsys)
    assert "Refusing to --overwrite" in text and ("holds the data" in text or "inside the data" in text)
    assert _snapshot(victim) == before


def test_overwrite_never_deletes_the_backbone_run_it_reads(tmp_path):
    backbone = tmp_path / "earlier"
    backbone.mkdir()
    (backbone / "model.keras").write_bytes(b"weights")
    (backbone / MARKER).touch()
    config = _config("example:digits", backbone, backbone=str(backbone), overwrite=True)
    with pytest.raises(ConfigError, match="the --backbone run"):
        prepare_run_dir(config)
    assert (backbone / "model.keras").read_bytes() == b"weights"


def test_overwrite_refuses_a_folder_that_is_not_a_run_directory(table_csv, tmp_path, capsys):
    mine = tmp_path / "my-notes"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    (mine / "figures").mkdir()
    (mine / "figures" / "plot.png").write_bytes(b"\x89PNG")
    before = _snapshot(mine)
    assert main(["run", str(table_csv), "--output", str(mine), "--overwrite", *FAST]) == 1
    text = _no_traceback(capsys)
    assert "does not look like an automl run directory" in text and "--output" in text
    assert _snapshot(mine) == before and not (mine / LOCK).exists() and not (mine / MARKER).exists()


@pytest.mark.parametrize("kind", ["marked", "older run", "stopped early"])
def test_overwrite_replaces_a_run_directory_of_ours(table_csv, tmp_path, kind):
    run_dir = tmp_path / "run"
    (run_dir / "search" / "trial_0").mkdir(parents=True)
    (run_dir / "search" / "trial_0" / "trial.json").write_text("{}")
    if kind == "marked":
        (run_dir / MARKER).touch()
    elif kind == "older run":  # made before the marker: run.json beside search/
        (run_dir / "run.json").write_text("{}")
    else:  # only what a run writes before its record
        shutil.rmtree(run_dir / "search")
        (run_dir / "example-data").mkdir()
    assert is_run_dir(run_dir)
    config = prepare_run_dir(_config(table_csv, run_dir, overwrite=True))
    try:
        assert {p.name for p in run_dir.iterdir()} == {MARKER, LOCK}
        assert (run_dir / LOCK).read_text() == str(os.getpid())
    finally:
        release_run_dir(config.run_dir)
    assert not (run_dir / LOCK).exists()


def test_example_data_kept_inside_the_run_directory_may_be_overwritten(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "example-data").mkdir(parents=True)
    (run_dir / "run.json").write_text("{}")
    (run_dir / "report_state.json").write_text("{}")
    config = prepare_run_dir(_config("example:breast_cancer", run_dir, overwrite=True))
    release_run_dir(config.run_dir)
    assert not (run_dir / "example-data").exists()


# --- the lock ---------------------------------------------------------------------------------------------


def test_a_second_run_on_a_locked_directory_is_refused_with_the_holders_pid(table_csv, tmp_path, capsys, sleeper):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / MARKER).touch()
    (run_dir / LOCK).write_text(str(sleeper.pid))
    for args in (["run", str(table_csv), "--output", str(run_dir), *FAST],
                 ["run", str(table_csv), "--output", str(run_dir), "--resume", *FAST],
                 ["run", str(table_csv), "--output", str(run_dir), "--overwrite", *FAST]):
        assert main(args) == 1
        text = _no_traceback(capsys)
        assert f"pid {sleeper.pid}" in text and "is writing to it" in text
    assert (run_dir / LOCK).read_text() == str(sleeper.pid) and (run_dir / MARKER).exists()


def test_report_export_and_predict_are_refused_while_a_run_holds_the_lock(tmp_path, capsys, sleeper):
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURES / "run_v0_table", run_dir)
    (run_dir / LOCK).write_text(str(sleeper.pid))
    before = _snapshot(run_dir)
    (tmp_path / "new.csv").write_text("x1,x2,color\n1.0,0.5,red\n")
    for args in (["report", str(run_dir)], ["export", str(run_dir), "--format", "tflite"],
                 ["predict", str(run_dir), str(tmp_path / "new.csv"), "-o", str(tmp_path / "out.csv")]):
        assert main(args) == 1, args
        text = _no_traceback(capsys)
        assert f"pid {sleeper.pid}" in text, text
    assert _snapshot(run_dir) == before and not (tmp_path / "out.csv").exists()


def test_a_stale_lock_of_a_killed_run_does_not_block(table_csv, tmp_path, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURES / "run_v0_table", run_dir)
    (run_dir / LOCK).write_text(str(_dead_pid()))
    assert lock_holder(run_dir) is None
    assert main(["report", str(run_dir)]) == 0
    assert not (run_dir / LOCK).exists()  # taken over, then released
    # A run killed while reading its data left only the marker and its lock: --resume starts it.
    early = tmp_path / "early"
    early.mkdir()
    (early / MARKER).touch()
    (early / LOCK).write_text(str(_dead_pid()))
    config = prepare_run_dir(_config(table_csv, early, resume=True))
    assert (early / LOCK).read_text() == str(os.getpid())
    release_run_dir(config.run_dir)


def test_only_one_of_two_processes_gets_the_lock(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    acquire_run_dir(run_dir)
    try:
        code = ("import sys; from pathlib import Path; from automl.rundir import acquire_run_dir\n"
                "try:\n    acquire_run_dir(Path(sys.argv[1]))\nexcept Exception as e:\n    print(e); sys.exit(3)")
        other = subprocess.run([sys.executable, "-c", code, str(run_dir)], capture_output=True, text=True, timeout=60)
        assert other.returncode == 3 and f"pid {os.getpid()}" in other.stdout, other.stdout + other.stderr
    finally:
        release_run_dir(run_dir)
    assert not (run_dir / LOCK).exists()


def test_a_lock_being_created_counts_as_held(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / LOCK).write_text("")  # O_EXCL-created, its pid not yet written
    with pytest.raises(ConfigError, match="starting now"):
        acquire_run_dir(run_dir)
    old = time.time() - 3600
    os.utime(run_dir / LOCK, (old, old))  # an empty lock left long ago is stale
    acquire_run_dir(run_dir)
    release_run_dir(run_dir)


def test_a_run_holds_the_lock_and_releases_it_when_it_fails(table_csv, tmp_path, capsys, monkeypatch):
    import automl.pipeline

    run_dir = tmp_path / "run"
    real_plan_run, seen = automl.pipeline.plan_run, {}

    def plan_run(config):
        seen["lock"] = (run_dir / LOCK).read_text()
        return real_plan_run(config)
    monkeypatch.setattr(automl.pipeline, "plan_run", plan_run)
    assert main(["run", str(table_csv), "--output", str(run_dir), "--target", "nope", *FAST]) == 1
    assert "nope" in _no_traceback(capsys) and seen["lock"] == str(os.getpid())
    assert not run_dir.exists()  # it failed before writing anything: the folder it made is gone
    run_dir.mkdir()  # a folder the user made is kept
    assert main(["run", str(table_csv), "--output", str(run_dir), "--target", "nope", *FAST]) == 1
    assert run_dir.is_dir() and not (run_dir / LOCK).exists()


def test_two_processes_taking_over_one_stale_lock_do_not_both_get_it(tmp_path, sleeper):
    from automl.rundir import _remove_stale

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    lock = run_dir / LOCK
    lock.write_text(str(sleeper.pid))  # another process already replaced the stale lock it saw
    with pytest.raises(ConfigError, match=f"pid {sleeper.pid}"):
        _remove_stale(lock, _dead_pid(), run_dir, "run in")
    assert lock.read_text() == str(sleeper.pid) and [p.name for p in run_dir.iterdir()] == [LOCK]


def test_a_refused_resume_leaves_no_folder_behind(table_csv, tmp_path, capsys):
    run_dir = tmp_path / "typo"
    assert main(["run", str(table_csv), "--output", str(run_dir), "--resume", *FAST]) == 1
    assert "Nothing to resume" in _no_traceback(capsys) and not run_dir.exists()


# --- interrupts -------------------------------------------------------------------------------------------


def test_ctrl_c_while_reading_the_data_prints_a_resume_command_that_works(table_csv, tmp_path, capsys, monkeypatch):
    import automl.pipeline

    run_dir = tmp_path / "my run"

    def interrupted(config):
        raise KeyboardInterrupt
    monkeypatch.setattr(automl.pipeline, "plan_run", interrupted)
    assert main(["run", str(table_csv), "--output", str(run_dir), "--seed", "3", *FAST]) == 128 + signal.SIGINT
    err = _no_traceback(capsys)
    assert not (run_dir / LOCK).exists() and not (run_dir / "run.json").exists()
    command = err[err.index("continue with: ") + len("continue with: "):].strip()
    assert command.startswith("automl run --resume") and str(table_csv) in command and "--seed 3" in command

    seen = {}

    def reached(config):
        seen["config"] = config
        raise KeyboardInterrupt
    monkeypatch.setattr(automl.pipeline, "plan_run", reached)
    assert main(shlex.split(command)[1:]) == 128 + signal.SIGINT  # gets past "No data given" and "Nothing to resume"
    config = seen["config"]
    assert config.resume and config.data == str(table_csv) and config.seed == 3 and config.max_trials == 1


def test_ctrl_c_after_the_record_prints_a_resume_that_needs_no_flags(table_csv, tmp_path, capsys, monkeypatch):
    import automl.pipeline
    import automl.search

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(automl.pipeline, "search_models", interrupted)
    run_dir = tmp_path / "run"
    assert main(["run", str(table_csv), "--output", str(run_dir), "--epochs", "1", "--max-trials", "1",
                 "--time-budget", "none", "--batch-size", "8"]) == 128 + signal.SIGINT
    err = _no_traceback(capsys)
    assert (run_dir / "run.json").exists() and not (run_dir / LOCK).exists()
    command = err[err.index("continue with: ") + len("continue with: "):].strip()
    assert command == f"automl run --resume {run_dir}"  # data and settings come from run.json
    seen = {}

    def reached(plan, dataset, profile, config, *args):
        seen["config"] = config
        raise KeyboardInterrupt
    monkeypatch.setattr(automl.pipeline, "search_models", reached)
    assert main(shlex.split(command)[1:]) == 128 + signal.SIGINT  # settings unchanged: record_run lets it on
    config = seen["config"]
    assert config.resume and (config.epochs, config.batch_size, config.time_budget) == (1, 8, None)


def test_ctrl_c_before_the_run_started_says_nothing_can_be_resumed(table_csv, tmp_path, capsys, monkeypatch):
    import automl.cli

    def interrupted():
        raise KeyboardInterrupt
    monkeypatch.setattr(automl.cli, "_quiet_libraries", interrupted)
    run_dir = tmp_path / "run"
    assert main(["run", str(table_csv), "--output", str(run_dir)]) == 128 + signal.SIGINT
    err = _no_traceback(capsys)
    assert "nothing to resume" in err and f"automl run {table_csv} --output {run_dir}" in err
    assert "--resume" not in err and not run_dir.exists()


# --- --time-budget 0 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("budget", ["0", "0s", "0m", "0.0h", ""])
def test_a_zero_or_empty_time_budget_is_refused_not_read_as_no_limit(table_csv, tmp_path, capsys, budget):
    assert main(["run", str(table_csv), "--output", str(tmp_path / "run"), "--time-budget", budget]) == 1
    text = _no_traceback(capsys)
    assert "--time-budget none" in text or "none for no time limit" in text
    assert not (tmp_path / "run").exists()


def test_a_zero_time_budget_in_a_preset_is_refused_and_none_is_no_limit(table_csv, tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text("time_budget = 0\n")
    with pytest.raises(ConfigError, match="--time-budget none"):
        load_config(preset, data=str(table_csv))
    with pytest.raises(ConfigError, match="--time-budget none"):
        load_config(data=str(table_csv), time_budget=0.0)
    assert load_config(data=str(table_csv), time_budget="none").time_budget is None
    preset.write_text('time_budget = "none"\n')
    assert load_config(preset, data=str(table_csv)).time_budget is None
