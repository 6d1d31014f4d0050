"""Fuzzing ingest with hypothesis: any table (or text folder) ends in a Dataset and a Profile, or in
an AutomlError with a message, never in another exception. Example counts are small to stay fast."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automl.config import load_config
from automl.errors import AutomlError
from automl.pipeline import plan_run

# Cells with these are quoted by real writers; unquoted, they are a different (ragged) table.
QUOTES_AND_NEWLINES = '"\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029'
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)

_cells = st.one_of(
    st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "NA", "nan", "inf", "-inf", "null", "007", "07", "1,5", "1e309", "TRUE", "yes", '"',
                     "a,b", "é", "\ufeff", "表", "  ", "0x1F"]),
    st.text(string.printable, max_size=12), st.text(max_size=8))


@st.composite
def csv_texts(draw) -> tuple[str, str]:
    """A table as people write them: a header, odd cells and numbers, any delimiter, now and then a
    ragged row; mostly readable, so that profiling and selection are fuzzed too, not only the reader."""
    columns = draw(st.integers(1, 5))
    rows = draw(st.integers(0, 40))
    sep = draw(st.sampled_from([",", ",", ";", "\t", "|"]))
    header = draw(st.lists(st.text(string.ascii_letters + " _é", min_size=0, max_size=6), min_size=columns,
                           max_size=columns))
    lines = [sep.join(header)]
    labels = draw(st.lists(st.sampled_from(["a", "b", "1", "2", "", "c"]), min_size=rows, max_size=rows))
    ragged = draw(st.integers(-1, rows * 4))  # the row with one cell too many, if any
    cells = _cells.filter(lambda cell: sep not in cell and not set(cell) & set(QUOTES_AND_NEWLINES))
    for row, label in enumerate(labels):
        width = columns - 1 + (row == ragged)
        lines.append(sep.join([*draw(st.lists(cells, min_size=width, max_size=width)), label]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"])), encoding


def _plan_or_clear_error(path: Path, **overrides) -> None:
    config = load_config(data=str(path), run_dir=str(path.parent / "run"), time_budget=None, **overrides)
    try:
        dataset, profile, plan = plan_run(config)
    except AutomlError as error:
        assert str(error).strip() and "Traceback" not in str(error)
        return
    assert dataset.train.size > 0 and dataset.val.size > 0 and dataset.test.size > 0
    assert plan.family


@FUZZ
@given(table=csv_texts())
def test_any_csv_ends_in_a_dataset_or_a_clear_error(table):
    text, encoding = table
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        path.write_text(text, encoding=encoding, errors="replace")
        _plan_or_clear_error(path)


@FUZZ
@given(data=st.binary(max_size=600), suffix=st.sampled_from([".csv", ".tsv", ".parquet", ".npz"]))
def test_any_bytes_end_in_a_dataset_or_a_clear_error(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"table{suffix}"
        path.write_bytes(data)
        _plan_or_clear_error(path)


@FUZZ
@given(texts=st.lists(st.tuples(st.sampled_from(["pos", "neg", "neu"]), st.one_of(st.binary(max_size=80),
                                                                                  st.text(max_size=80).map(str.encode))),
                      min_size=0, max_size=24))
def test_any_text_folder_ends_in_a_dataset_or_a_clear_error(texts):
    pytest.importorskip("automl.ingest.text")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "data"
        root.mkdir()
        for i, (label, data) in enumerate(texts):
            (root / label).mkdir(exist_ok=True)
            (root / label / f"{i}.txt").write_bytes(data)
        _plan_or_clear_error(root)
