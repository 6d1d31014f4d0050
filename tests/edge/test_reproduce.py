"""`automl reproduce RUN_DIR`: the same data (fingerprint checked), settings and seed in a new run directory,
the new test metrics beside the old; the original run is left as it was."""

from __future__ import annotations

import json
import shutil

import pytest

from automl.cli import main
from automl.errors import DataError
from automl.pipeline import reproduce


@pytest.mark.slow  # 10 s on 2 cores: a second whole run
def test_a_run_reproduced_gives_the_same_test_metrics(finished_table_run, tmp_path, capsys):
    _, run_dir = finished_table_run
    summary_before = (run_dir / "summary.json").read_text()
    assert main(["reproduce", str(run_dir), "-o", str(tmp_path / "again")]) == 0
    out = capsys.readouterr().out
    record = json.loads((tmp_path / "again" / "reproduction.json").read_text())
    assert record["before"]["accuracy"] == pytest.approx(record["after"]["accuracy"], abs=1e-9)
    assert "test accuracy:" in out and "(same)" in out
    assert (run_dir / "summary.json").read_text() == summary_before  # the original is untouched
    assert json.loads((tmp_path / "again" / "run.json").read_text())["fingerprint"] == record["fingerprint"]


def test_changed_data_is_refused_before_training(finished_table_run, tmp_path):
    table, run_dir = finished_table_run
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    record = json.loads((copy / "run.json").read_text())
    record["fingerprint"] = "0" * 16  # as if the data had been edited since
    (copy / "run.json").write_text(json.dumps(record))
    with pytest.raises(DataError, match="The data changed since"):
        reproduce(copy, tmp_path / "new")
    assert not (tmp_path / "new" / "report.html").exists()
