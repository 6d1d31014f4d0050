"""Every write failure is one clear message and exit 1, never a traceback: a full disk (ENOSPC) during a
run, `report`, `export` or `predict`; a read-only run directory; `-o` naming a folder, a missing folder or
the input. Run-directory files are written atomically, so a failed write leaves the previous whole file."""

from __future__ import annotations

import builtins
import errno
import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import automl.files
from automl.cli import main
from automl.files import atomic_path, is_temporary, write_text_atomic
from automl.report import load_state
from automl.rundir import LOCK

from helpers import FAST_CLI_FLAGS as FAST, FIXTURES, no_traceback as _no_traceback, snapshot as _snapshot


def _no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if is_temporary(p.name)]


@pytest.fixture
def finished_run(tmp_path):
    """A finished table run (report.html and summary.json written) and a table of new rows."""
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURES / "run_v0_table", run_dir)
    assert main(["report", str(run_dir)]) == 0
    rng = np.random.default_rng(3)
    pd.DataFrame({"x1": rng.normal(size=5), "x2": rng.normal(size=5), "color": ["red", "blue"] * 2 + ["red"]}
                 ).to_csv(tmp_path / "new.csv", index=False)
    return run_dir


def _full_disk_at(monkeypatch, name: str):
    """The disk fills up when a file called name is written (its temporary file cannot be renamed)."""
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst, *args, **kwargs)
    monkeypatch.setattr(os, "replace", replace)


def _read_only(monkeypatch, folder: Path, number: int = errno.EROFS):
    """Every write under folder fails as on a read-only file system, or with EACCES as in a folder without
    write permission (chmod does not stop root)."""
    folder = str(folder.resolve())
    inside = lambda path: str(Path(os.fspath(path)).resolve()).startswith(folder)  # noqa: E731
    refuse = lambda path: OSError(number, os.strerror(number), os.fspath(path))  # noqa: E731
    real_open, real_os_open, real_replace, real_mkdir = builtins.open, os.open, os.replace, os.mkdir

    def open_(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and set(mode) & set("wax+") and inside(file):
            raise refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(path):
            raise refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def replace(src, dst, *args, **kwargs):
        if inside(dst):
            raise refuse(dst)
        return real_replace(src, dst, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        if inside(path):
            raise refuse(path)
        return real_mkdir(path, *args, **kwargs)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "mkdir", mkdir)


# --- the atomic writes ------------------------------------------------------------------------------------


def test_a_write_that_fails_midway_keeps_the_previous_whole_file(tmp_path, monkeypatch):
    path = tmp_path / "report_state.json"
    write_text_atomic(path, '{"version": 2}')

    class FullFile:
        def __init__(self, fd, mode):
            os.close(fd)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a write() names no file
    monkeypatch.setattr(automl.files.os, "fdopen", FullFile)
    with pytest.raises(OSError) as caught:
        write_text_atomic(path, '{"version": 2, "run": "much longer"}')
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
    assert path.read_text() == '{"version": 2}' and _no_temporaries(tmp_path)


def test_a_writer_that_fails_inside_atomic_path_leaves_no_half_file(tmp_path):
    path = tmp_path / "parity_samples.npz"
    with atomic_path(path) as temporary:
        np.savez_compressed(temporary, x=np.arange(3))
    with pytest.raises(KeyboardInterrupt), atomic_path(path) as temporary:
        temporary.write_bytes(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt
    with np.load(path) as data:
        assert list(data["x"]) == [0, 1, 2]
    assert _no_temporaries(tmp_path) and sorted(p.name for p in tmp_path.iterdir()) == ["parity_samples.npz"]


# --- a full disk ------------------------------------------------------------------------------------------


def test_a_full_disk_during_report_is_one_message_and_corrupts_nothing(finished_run, capsys, monkeypatch):
    capsys.readouterr()
    before = _snapshot(finished_run)
    _full_disk_at(monkeypatch, "summary.json")
    assert main(["report", str(finished_run)]) == 1
    text = _no_traceback(capsys)
    assert "disk is full" in text and str(finished_run / "summary.json") in text and "free some space" in text
    monkeypatch.undo()
    assert _snapshot(finished_run) == before and _no_temporaries(finished_run)
    assert load_state(finished_run).plan.family == "mlp" and not (finished_run / LOCK).exists()


def test_a_full_disk_during_export_is_one_message(finished_run, capsys, monkeypatch):
    capsys.readouterr()
    before = json.loads((finished_run / "summary.json").read_text())
    _full_disk_at(monkeypatch, "report.html")
    assert main(["export", str(finished_run), "--format", "tflite"]) == 1
    text = _no_traceback(capsys)
    assert "disk is full" in text and "report.html" in text
    assert not (finished_run / LOCK).exists() and _no_temporaries(finished_run)
    load_state(finished_run)  # the state written before the failure is whole
    assert json.loads((finished_run / "summary.json").read_text())["family"] == before["family"]


def test_a_full_disk_during_predict_keeps_the_earlier_predictions(finished_run, capsys, monkeypatch):
    new = finished_run.parent / "new.csv"
    assert main(["predict", str(finished_run), str(new)]) == 0
    earlier = (finished_run / "predictions.csv").read_bytes()
    capsys.readouterr()
    _full_disk_at(monkeypatch, "predictions.csv")
    assert main(["predict", str(finished_run), str(new)]) == 1
    assert "disk is full" in _no_traceback(capsys)
    assert (finished_run / "predictions.csv").read_bytes() == earlier and _no_temporaries(finished_run)


@pytest.mark.parametrize("how", ["OSError", "TensorFlow"])
def test_a_full_disk_during_a_run_is_one_message_and_releases_the_lock(table_csv, tmp_path, capsys, monkeypatch, how):
    import tensorflow as tf

    import automl.pipeline

    def full(*args, **kwargs):
        if how == "OSError":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "run" / "search" / "trial.json"))
        raise tf.errors.ResourceExhaustedError(None, None, "trial.json.tmp; No space left on device")
    monkeypatch.setattr(automl.pipeline, "search_models", full)
    data_before = table_csv.read_bytes()
    assert main(["run", str(table_csv), "--output", str(tmp_path / "run"), *FAST]) == 1
    text = _no_traceback(capsys)
    assert "disk is full" in text and "automl run --resume" in text
    assert not (tmp_path / "run" / LOCK).exists() and json.loads((tmp_path / "run" / "run.json").read_text())
    assert table_csv.read_bytes() == data_before


def test_other_errors_are_not_mistaken_for_a_full_disk(table_csv, tmp_path, monkeypatch):
    import automl.pipeline

    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(automl.pipeline, "search_models", broken)
    with pytest.raises(OSError, match="Input/output"):
        main(["run", str(table_csv), "--output", str(tmp_path / "run"), *FAST])
    assert not (tmp_path / "run" / LOCK).exists()


# --- a read-only run directory ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["report", "export", "predict"])
def test_a_read_only_run_directory_is_one_message(finished_run, capsys, monkeypatch, command):
    capsys.readouterr()
    before = _snapshot(finished_run)
    _read_only(monkeypatch, finished_run)
    args = {"report": ["report", str(finished_run)], "export": ["export", str(finished_run), "--format", "tflite"],
            "predict": ["predict", str(finished_run), str(finished_run.parent / "new.csv")]}[command]
    assert main(args) == 1
    text = _no_traceback(capsys)
    assert "read-only" in text and str(finished_run) in text and "writable" in text
    monkeypatch.undo()
    assert _snapshot(finished_run) == before


def test_predict_from_a_read_only_run_directory_writes_elsewhere(finished_run, tmp_path, capsys, monkeypatch):
    _read_only(monkeypatch, finished_run)
    out = tmp_path / "elsewhere.csv"
    assert main(["predict", str(finished_run), str(finished_run.parent / "new.csv"), "-o", str(out)]) == 0
    assert len(pd.read_csv(out)) == 5


def test_a_run_directory_without_write_permission_is_one_message(finished_run, capsys, monkeypatch):
    capsys.readouterr()
    _read_only(monkeypatch, finished_run, errno.EACCES)
    assert main(["predict", str(finished_run), str(finished_run.parent / "new.csv")]) == 1
    text = _no_traceback(capsys)
    assert "permission denied" in text and "predictions.csv" in text and "pass -o" in text


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_a_chmod_read_only_run_directory_is_one_message(finished_run, capsys):
    capsys.readouterr()
    finished_run.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert main(["report", str(finished_run)]) == 1
    finally:
        finished_run.chmod(stat.S_IRWXU)
    assert "permission denied" in _no_traceback(capsys)


# --- predict -o -------------------------------------------------------------------------------------------


def test_predict_output_that_is_a_folder_or_in_a_missing_folder_is_one_message(finished_run, tmp_path, capsys):
    new = finished_run.parent / "new.csv"
    (tmp_path / "folder").mkdir()
    assert main(["predict", str(finished_run), str(new), "-o", str(tmp_path / "folder")]) == 1
    assert "is a folder" in _no_traceback(capsys)
    assert main(["predict", str(finished_run), str(new), "-o", str(tmp_path / "missing" / "p.csv")]) == 1
    assert "does not exist" in _no_traceback(capsys) and not (tmp_path / "missing").exists()


def test_predict_never_overwrites_its_input_or_the_runs_files(finished_run, capsys):
    new = finished_run.parent / "new.csv"
    data, state = new.read_bytes(), (finished_run / "report_state.json").read_bytes()
    assert main(["predict", str(finished_run), str(new), "-o", str(new)]) == 1
    assert "would overwrite the input" in _no_traceback(capsys) and new.read_bytes() == data
    assert main(["predict", str(finished_run), str(new), "-o", str(finished_run / "report_state.json")]) == 1
    assert "would overwrite a file of the run" in _no_traceback(capsys)
    assert (finished_run / "report_state.json").read_bytes() == state


# --- values predict cannot read ---------------------------------------------------------------------------


def test_predict_warns_about_values_that_are_not_numbers(finished_run, tmp_path, capsys):
    rows = pd.DataFrame({"x1": ["1.5", "abc", "-0.3", "n/a?", ""], "x2": ["0.1", "0.2", "three", "0.4", "0.5"],
                         "color": ["red", "blue", "red", "blue", "red"]})
    rows.to_csv(tmp_path / "messy.csv", index=False)
    capsys.readouterr()
    assert main(["predict", str(finished_run), str(tmp_path / "messy.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    out = _no_traceback(capsys)
    assert "2 values in column 'x1' were not numbers" in out and "treated as missing" in out
    assert "1 value in column 'x2' was not a number" in out and "'color'" not in out
    assert len(pd.read_csv(tmp_path / "p.csv")) == 5
    capsys.readouterr()
    new = finished_run.parent / "new.csv"
    assert main(["predict", str(finished_run), str(new), "-o", str(tmp_path / "q.csv")]) == 0
    assert "not a number" not in capsys.readouterr().out
