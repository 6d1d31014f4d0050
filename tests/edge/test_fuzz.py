"""Fuzzing ingest with hypothesis: any table, .npz arrays, .ts file or text folder ends in a Dataset and a Profile, or in
an AutomlError with a message, never in another exception. Example counts are small to stay fast."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import numpy as np
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


_array_cells = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.integers(-300, 300))


@st.composite
def npz_arrays(draw) -> dict:
    """Arrays as people save them: images with or without channels, labels as numbers, strings, NaNs or
    one-hot rows, now and then train/test splits whose sizes, shapes or dtypes disagree."""
    arrays = {}
    for suffix in draw(st.sampled_from([("",), ("_train", "_test"), ("_train",), ("_train", "_val", "_test")])):
        rows = draw(st.integers(0, 14))
        side = draw(st.integers(1, 6))
        shape = draw(st.sampled_from([(rows, side, side), (rows, side, side, 1), (rows, side, side, 3), (rows, side),
                                      (rows,)]))
        x = np.array(draw(st.lists(_array_cells, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
                     dtype="float64").reshape(shape)
        kind = draw(st.sampled_from(["uint8", "float", "object", "str"]))
        if kind == "uint8":
            x = np.nan_to_num(x).clip(0, 255).astype("uint8")
        elif kind in ("object", "str"):
            x = x.astype(str).astype(object if kind == "object" else str)
        labels = draw(st.sampled_from(["int", "str", "float_nan", "one_hot", "wrong_length"]))
        classes = draw(st.lists(st.integers(0, 3), min_size=rows, max_size=rows))
        y = {"int": np.array(classes, dtype="int64"), "str": np.array([f"c{c}" for c in classes]),
             "float_nan": np.array([np.nan if c == 3 else c for c in classes], dtype="float64"),
             "one_hot": np.eye(4, dtype="float32")[classes] if rows else np.zeros((0, 4), "float32"),
             "wrong_length": np.array(classes[:-1] + [0, 1], dtype="int64")}[labels]
        arrays[f"x{suffix}"], arrays[f"y{suffix}"] = x, y
    return arrays


@FUZZ
@given(arrays=npz_arrays())
def test_any_npz_arrays_end_in_a_dataset_or_a_clear_error(arrays):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "arrays.npz"
        np.savez(path, **arrays)
        _plan_or_clear_error(path)


_ts_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-99, 99).map(str),
                       st.sampled_from(["?", "NaN", "", "1e400", "x", "1,5", " "]))


@st.composite
def ts_texts(draw) -> str:
    """A .ts file (aeon/sktime format) whose header may disagree with its data: dimensions, equal
    length, the class labels, missing values; series of any length, now and then a malformed line."""
    dimensions = draw(st.integers(1, 3))
    header_dimensions = draw(st.sampled_from([dimensions, dimensions + 1]))
    classes = draw(st.sampled_from([["a", "b"], ["a", "b", "c"], ["1", "2"]]))
    header_classes = draw(st.sampled_from([classes, classes[:1], classes + ["z"]]))
    lines = ["@problemName fuzz", "@timeStamps false", f"@missing {draw(st.booleans())}".lower(),
             f"@univariate {str(header_dimensions == 1).lower()}", f"@dimensions {header_dimensions}",
             f"@equalLength {str(draw(st.booleans())).lower()}",
             f"@classLabel true {' '.join(header_classes)}", "@data"]
    for _ in range(draw(st.integers(0, 16))):
        length = draw(st.integers(0, 8))
        channels = [",".join(draw(st.lists(_ts_values, min_size=length, max_size=length)))
                    for _ in range(dimensions)]
        lines.append(":".join([*channels, draw(st.sampled_from(classes))]))
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from(["garbage", ":", "1,2,3", "@data", "1:2:3:4:5:a"])))
    return "\n".join(lines) + "\n"


@FUZZ
@given(text=ts_texts())
def test_any_ts_file_ends_in_a_dataset_or_a_clear_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "series.ts"
        path.write_text(text)
        _plan_or_clear_error(path)
