"""Hostile inputs: nothing outside the data folder is read unless asked (symbolic links), and files that are
valid but hold bad data end in one clear DataError or a recorded fix, never a traceback or a wrong dataset."""

from __future__ import annotations

import codecs
import os
import time

import numpy as np
import pandas as pd
import pytest

from automl.cli import main
from automl.errors import DataError
from automl.ingest import decode_text, load_dataset
from automl.profile import profile_dataset
from helpers import make_image_folder, make_text_folder, write_ts

OUTSIDE = "outside the data folder"
PLANTED = "zzplantedsecretword"


def _texts(dataset) -> list[str]:
    return [text.numpy().decode() for split in dataset.splits().values() for text, _ in split.data]


def _size(dataset) -> int:
    return sum(split.size for split in dataset.splits().values())


def _skipped(dataset) -> dict[str, str]:
    return {os.path.basename(s.path): s.reason for s in dataset.skipped}


def _no_traceback(capsys) -> str:
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return " ".join((out + err).split())  # rich wraps long lines


# --- symbolic links: nothing outside the data folder is read unless asked ---------------------------------

@pytest.fixture
def outside(tmp_path):
    """A folder beside the data, with a text file holding a word that must never reach the dataset."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "secret.txt").write_text(f"{PLANTED} private notes that are not training data", encoding="utf-8")
    return folder


def test_text_files_linked_outside_are_skipped_listed_and_read_only_when_asked(tmp_path, outside, config_for):
    data = make_text_folder(tmp_path / "data", per_class=6)
    os.symlink(outside / "secret.txt", data / "pos" / "secret.txt")
    os.symlink("/etc/passwd", data / "neg" / "passwd.txt")
    dataset = load_dataset(config_for(data))
    assert _size(dataset) == 12
    assert not any(PLANTED in text or "root:" in text for text in _texts(dataset))
    skipped = _skipped(dataset)
    assert OUTSIDE in skipped["secret.txt"] and "--follow-symlinks" in skipped["secret.txt"]
    assert OUTSIDE in skipped["passwd.txt"]
    profile = profile_dataset(dataset)
    assert PLANTED not in profile.text_inputs.words
    unreadable = next(g for g in profile.guardrails if g.name == "Unreadable files")
    assert unreadable.status == "Alerted" and "2 of them symbolic links" in unreadable.message

    followed = load_dataset(config_for(data, follow_symlinks=True))
    assert _size(followed) == 14 and any(PLANTED in text for text in _texts(followed))
    assert followed.skipped == ()


def test_class_folder_linked_outside_is_skipped(tmp_path, config_for):
    data = make_image_folder(tmp_path / "data", per_class=4)
    make_image_folder(tmp_path / "elsewhere", per_class=4, classes=("mid",))
    os.symlink(tmp_path / "elsewhere" / "mid", data / "mid", target_is_directory=True)
    dataset = load_dataset(config_for(data))
    assert dataset.class_names == ("bright", "dark") and _size(dataset) == 8
    assert OUTSIDE in _skipped(dataset)["mid"]
    followed = load_dataset(config_for(data, follow_symlinks=True))
    assert followed.class_names == ("bright", "dark", "mid") and _size(followed) == 12


def test_image_file_linked_outside_is_skipped(tmp_path, config_for):
    data = make_image_folder(tmp_path / "data", per_class=4)
    make_image_folder(tmp_path / "elsewhere", per_class=1, classes=("mid",))
    os.symlink(tmp_path / "elsewhere" / "mid" / "mid_0.png", data / "dark" / "stranger.png")
    dataset = load_dataset(config_for(data))
    assert _size(dataset) == 8 and OUTSIDE in _skipped(dataset)["stranger.png"]
    assert _size(load_dataset(config_for(data, follow_symlinks=True))) == 9


def test_links_that_stay_inside_the_folder_are_read(tmp_path, config_for):
    data = make_text_folder(tmp_path / "data", per_class=6)
    (data / ".store").mkdir()
    (data / ".store" / "kept.txt").write_text(f"{PLANTED} a good text kept in a hidden store", encoding="utf-8")
    os.symlink(data / ".store" / "kept.txt", data / "pos" / "kept.txt")
    dataset = load_dataset(config_for(data))
    assert _size(dataset) == 13 and any(PLANTED in text for text in _texts(dataset)) and dataset.skipped == ()


def test_a_data_path_that_is_itself_a_link_is_read(tmp_path, config_for):
    data = make_image_folder(tmp_path / "real" / "images", per_class=4)
    (tmp_path / "links").mkdir()
    os.symlink(data, tmp_path / "links" / "images", target_is_directory=True)
    dataset = load_dataset(config_for(tmp_path / "links" / "images"))
    assert _size(dataset) == 8 and dataset.skipped == ()


def test_table_split_file_linked_outside_is_skipped(tmp_path, config_for):
    rng = np.random.default_rng(0)

    def frame(n, offset):
        return pd.DataFrame({"x": rng.normal(size=n) + offset, "label": ["a", "b"] * (n // 2)})
    data = tmp_path / "data"
    data.mkdir()
    frame(40, 0).to_csv(data / "train.csv", index=False)
    frame(12, 100).to_csv(tmp_path / "elsewhere.csv", index=False)
    os.symlink(tmp_path / "elsewhere.csv", data / "test.csv")
    dataset = load_dataset(config_for(data))
    assert _size(dataset) == 40 and OUTSIDE in _skipped(dataset)["test.csv"]
    assert dataset.table.test["x"].max() < 50  # the outside rows (around 100) are not the test split
    followed = load_dataset(config_for(data, follow_symlinks=True))
    assert followed.test.size == 12 and followed.skipped == ()


def test_series_file_linked_outside_is_skipped_with_a_hint(tmp_path, config_for, capsys):
    write_ts(tmp_path / "elsewhere" / "Gen_TRAIN.ts", per_class=6)
    data = tmp_path / "data"
    data.mkdir()
    os.symlink(tmp_path / "elsewhere" / "Gen_TRAIN.ts", data / "Gen_TRAIN.ts")
    with pytest.raises(DataError, match="No training data found.*symbolic link.*--follow-symlinks"):
        load_dataset(config_for(data))
    assert main(["plan", str(data)]) == 1
    assert "--follow-symlinks" in _no_traceback(capsys)
    assert _size(load_dataset(config_for(data, follow_symlinks=True))) == 12


@pytest.mark.parametrize("follow", [False, True])
def test_symlink_loops_end_quickly(tmp_path, config_for, follow):
    data = make_text_folder(tmp_path / "data", per_class=6)
    os.symlink("..", data / "pos" / "parent", target_is_directory=True)
    os.symlink(data, data / "neg" / "root", target_is_directory=True)
    (data / "pos" / "deep").mkdir()
    os.symlink("../../neg", data / "pos" / "deep" / "cousin", target_is_directory=True)  # inside: read, no loop
    os.symlink("ping", data / "neg" / "pong")
    os.symlink("pong", data / "neg" / "ping")
    started = time.monotonic()
    dataset = load_dataset(config_for(data, follow_symlinks=follow))
    assert time.monotonic() - started < 20
    assert dataset.class_names == ("neg", "pos") and _size(dataset) == 18  # pos also holds neg's 6 via cousin
    skipped = _skipped(dataset)
    assert "loop" in skipped["parent"] and "loop" in skipped["root"] and "loop" in skipped["ping"]


def test_fifo_and_links_to_nothing_are_skipped_not_read(tmp_path, config_for):
    data = make_text_folder(tmp_path / "data", per_class=6)
    os.mkfifo(data / "pos" / "pipe.txt")  # reading it would block forever
    os.symlink(tmp_path / "gone.txt", data / "neg" / "gone.txt")
    dataset = load_dataset(config_for(data))
    skipped = _skipped(dataset)
    assert _size(dataset) == 12 and "not a regular file" in skipped["pipe.txt"] and "nothing" in skipped["gone.txt"]


def test_plan_lists_links_it_did_not_follow(tmp_path, outside, capsys):
    data = make_text_folder(tmp_path / "data", per_class=6)
    os.symlink(outside / "secret.txt", data / "pos" / "secret.txt")
    assert main(["plan", str(data)]) == 0
    text = _no_traceback(capsys)
    assert "1 file was skipped" in text and "symbolic link" in text and PLANTED not in text


# --- .npz arrays -------------------------------------------------------------------------------------------

def _images(n, side=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (n, side, side), dtype=np.uint8)


def test_npz_nan_labels_are_refused_with_their_count(tmp_path, config_for):
    y = (np.arange(30) % 2).astype(float)
    y[[3, 7]] = np.nan
    np.savez(tmp_path / "a.npz", x=_images(30), y=y)
    with pytest.raises(DataError, match="2 of the 30 labels in y are missing"):
        load_dataset(config_for(tmp_path / "a.npz"))


def test_npz_splits_of_different_image_sizes_are_resized_and_said_so(tmp_path, config_for):
    np.savez(tmp_path / "a.npz", x_train=_images(30, 8), y_train=np.arange(30) % 2,
             x_test=_images(10, 12, seed=1), y_test=np.arange(10) % 2)
    dataset = load_dataset(config_for(tmp_path / "a.npz"))
    shapes = {tuple(x.shape) for split in dataset.splits().values() for x, _ in split.data}
    assert shapes == {(8, 8, 1)} and dataset.test.size == 10
    assert any("x_test" in note and "resized to 8x8" in note for note in dataset.notes)


@pytest.mark.parametrize("x, message", [
    (np.array([["a", "b"] * 4] * 8 * 30).reshape(30, 8, 8), "pixels must be numbers"),
    (np.zeros((30, 8, 8, 7), np.uint8), "7 channels"),
])
def test_npz_pixels_that_are_not_images_are_refused(tmp_path, config_for, capsys, x, message):
    np.savez(tmp_path / "a.npz", x=x, y=np.arange(30) % 2)
    with pytest.raises(DataError, match=message):
        load_dataset(config_for(tmp_path / "a.npz"))
    assert main(["plan", str(tmp_path / "a.npz")]) == 1
    assert message in _no_traceback(capsys)


def test_npz_train_split_with_a_class_seen_once_still_splits(tmp_path, config_for):
    """Found by the .npz fuzzer: class 2 once in y_train (more of it in y_test) broke the stratified
    validation split with scikit-learn's ValueError; the validation split is then drawn unstratified."""
    y_train = np.arange(20) % 2
    y_train[0] = 2
    np.savez(tmp_path / "a.npz", x_train=_images(20), y_train=y_train, x_test=_images(9, seed=1),
             y_test=np.arange(9) % 3)
    dataset = load_dataset(config_for(tmp_path / "a.npz"))
    assert dataset.train.size + dataset.val.size == 20 and dataset.test.size == 9


def test_npz_train_split_too_small_to_hold_out_validation_is_refused(tmp_path, config_for, capsys):
    np.savez(tmp_path / "a.npz", x_train=_images(2), y_train=np.array([0, 1]), x_test=_images(9, seed=1),
             y_test=np.arange(9) % 2)
    assert main(["plan", str(tmp_path / "a.npz")]) == 1
    assert "examples are left to split off" in _no_traceback(capsys)


def test_npz_one_hot_labels_are_read_by_argmax_and_announced(tmp_path, config_for):
    labels = np.arange(30) % 3
    np.savez(tmp_path / "a.npz", x=_images(30), y=np.eye(3)[labels])
    dataset = load_dataset(config_for(tmp_path / "a.npz"))
    assert dataset.class_names == ("0", "1", "2") and _size(dataset) == 30
    assert any("one-hot" in note for note in dataset.notes)


def test_npz_splits_saved_differently_still_share_classes_and_shape(tmp_path, config_for):
    """One-hot y_train with float y_test (1.0 is class 1), grey (n, h, w) train with (n, h, w, 1) test."""
    np.savez(tmp_path / "a.npz", x_train=_images(30), y_train=np.eye(2)[np.arange(30) % 2],
             x_test=_images(10, seed=1)[..., None], y_test=(np.arange(10) % 2).astype(float))
    dataset = load_dataset(config_for(tmp_path / "a.npz"))
    assert dataset.class_names == ("0", "1") and dataset.test.size == 10
    assert sorted(np.bincount(dataset.test.labels)) == [5, 5]


def test_npz_multi_label_rows_are_refused(tmp_path, config_for):
    y = np.eye(3)[np.arange(30) % 3]
    y[0, 1] = 1
    np.savez(tmp_path / "a.npz", x=_images(30), y=y)
    with pytest.raises(DataError, match="not one-hot"):
        load_dataset(config_for(tmp_path / "a.npz"))


def test_npz_channels_first_and_float_scales_are_read_the_same_way_in_every_split(tmp_path, config_for):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (30, 3, 8, 8)).astype(np.float32)  # channels first, in -1..1
    np.savez(tmp_path / "a.npz", x=x, y=np.arange(30) % 2)
    dataset = load_dataset(config_for(tmp_path / "a.npz"))
    assert dataset.images.input_shape == (8, 8, 3)
    assert any("channels-first" in note for note in dataset.notes)
    assert any("rescaled" in note for note in dataset.notes)


# --- tables ------------------------------------------------------------------------------------------------

def _frame(n=30, **columns):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n), **columns,
                         "label": ["a", "b", "c"] * (n // 3)})


def test_parquet_nested_columns_are_dropped_and_said_so(tmp_path, config_for):
    frame = _frame(tags=[[i, i + 1] for i in range(30)], info=[{"k": i} for i in range(30)])
    frame.to_parquet(tmp_path / "t.parquet")
    dataset = load_dataset(config_for(tmp_path / "t.parquet"))
    assert set(dataset.table.keys) == {"x", "z"}
    assert any("nested" in note and "'tags'" in note and "'info'" in note for note in dataset.notes)
    profile_dataset(dataset)


def test_parquet_nested_target_is_refused(tmp_path, config_for):
    _frame(tags=[[i] for i in range(30)]).to_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match="target column 'tags'.*nested"):
        load_dataset(config_for(tmp_path / "t.parquet", target="tags"))


def test_parquet_repeated_column_names_are_refused(tmp_path, config_for):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table([pa.array(np.arange(30.0)), pa.array(np.arange(30.0)), pa.array(["a", "b", "c"] * 10)],
                     names=["x", "x", "label"])
    pq.write_table(table, tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"repeated column names: 'x' \(2 times\)"):
        load_dataset(config_for(tmp_path / "t.parquet"))


def test_csv_repeated_header_names_are_announced(tmp_path, config_for):
    frame = _frame()
    text = frame.to_csv(index=False).replace("x,z,label", "x,x,label", 1)
    (tmp_path / "t.csv").write_text(text)
    dataset = load_dataset(config_for(tmp_path / "t.csv"))
    assert set(dataset.table.keys) == {"x", "x.1"}
    assert any("Repeated column names" in note and "'x.1'" in note for note in dataset.notes)


def test_csv_repeated_target_name_is_refused(tmp_path, config_for, capsys):
    frame = _frame()
    frame["label2"] = frame["label"]
    (tmp_path / "t.csv").write_text(frame.to_csv(index=False).replace("label,label2", "label,label", 1))
    with pytest.raises(DataError, match="target column 'label' appears 2 times"):
        load_dataset(config_for(tmp_path / "t.csv"))
    assert main(["plan", str(tmp_path / "t.csv")]) == 1
    assert "appears 2 times" in _no_traceback(capsys)


def test_csv_in_utf16_with_a_bom_is_read(tmp_path, config_for):
    frame = _frame(city=["Zürich", "Genève", "Köln"] * 10)
    (tmp_path / "t.csv").write_bytes(frame.to_csv(index=False).encode("utf-16"))
    dataset = load_dataset(config_for(tmp_path / "t.csv"))
    assert dataset.target == "label" and set(dataset.table.keys) == {"x", "z", "city"}
    assert set(dataset.table.train["city"]) == {"Zürich", "Genève", "Köln"}


def test_feature_beyond_float32_is_refused_by_name(tmp_path, config_for):
    frame = _frame(huge=np.linspace(1, 2, 30))
    frame.loc[4, "huge"] = 1e300
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match="column 'huge'.*1e\\+300.*32-bit"):
        load_dataset(config_for(tmp_path / "t.csv"))


def test_feature_whose_variance_overflows_float32_is_refused_by_the_profile(tmp_path, config_for):
    frame = _frame(wide=np.linspace(-1e25, 1e25, 30))
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match="column 'wide' spreads too widely"):
        profile_dataset(load_dataset(config_for(tmp_path / "t.csv")))


def test_regression_target_beyond_float32_is_refused(tmp_path, config_for):
    frame = _frame().assign(label=np.linspace(0.5, 100.5, 30))
    frame.loc[2, "label"] = 1e300
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match="target column 'label'.*1e\\+300"):
        load_dataset(config_for(tmp_path / "t.csv"))


def test_forecast_values_beyond_float32_are_refused(tmp_path, config_for):
    values = np.sin(np.arange(60) / 3)
    values[10] = 1e300
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=60, freq="D"), "sales": values})
    frame.to_csv(tmp_path / "sales.csv", index=False)
    with pytest.raises(DataError, match="value column 'sales'.*1e\\+300"):
        load_dataset(config_for(tmp_path / "sales.csv", horizon=3))


def test_constant_regression_target_is_refused(tmp_path, config_for, capsys):
    _frame().assign(label=2.5).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match="same target value.*nothing to learn"):
        load_dataset(config_for(tmp_path / "t.csv"))
    assert main(["plan", str(tmp_path / "t.csv")]) == 1
    assert "nothing to learn" in _no_traceback(capsys)


# --- .ts series whose header disagrees with the data -------------------------------------------------------

def _ts_with(tmp_path, edit):
    path = write_ts(tmp_path / "gen.ts", per_class=4)
    text = path.read_text()
    path.write_text(edit(text, text.splitlines()))
    return path


TS_HEADERS = {
    "dimensions": (lambda t, _: t.replace("@univariate true", "@univariate false\n@dimensions 3"), "@dimensions 3"),
    "class labels": (lambda t, _: t.replace("@classLabel true up wave", "@classLabel true up down"),
                     "@classLabel lists 'up', 'down'.*'wave'"),
    "no class labels": (lambda t, _: t.replace("@classLabel true up wave", "@classLabel false"), "@classLabel false"),
    "series length": (lambda t, _: t.replace("@seriesLength 24", "@seriesLength 30"), "@seriesLength 30"),
    "not a number": (lambda t, lines: t.replace(lines[-1], "1,2,oops" + lines[-1][lines[-1].index(",", 10):]),
                     r"'oops' is not a number \(line 16\)"),
    "unequal lengths": (lambda t, lines: t.replace(lines[-1], lines[-1][lines[-1].index(",") + 1:]), "Channel 0"),
}


@pytest.mark.parametrize("case", sorted(TS_HEADERS))
def test_ts_header_that_disagrees_with_the_data_is_one_clear_error(case, tmp_path, config_for, capsys):
    edit, message = TS_HEADERS[case]
    path = _ts_with(tmp_path, edit)
    with pytest.raises(DataError, match=message) as raised:
        load_dataset(config_for(path))
    assert "gen.ts" in str(raised.value)
    assert main(["plan", str(path)]) == 1
    assert "gen.ts" in _no_traceback(capsys)


# --- text that is not UTF-8 --------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"])
def test_byte_order_marks_and_utf16_are_decoded(encoding):
    text = "naïve café, 日本 — fine"
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be", "utf-32-be"):  # Python writes no mark for these: add it
        data = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
                "utf-32-be": codecs.BOM_UTF32_BE}[encoding] + data
    assert decode_text(data) == (text, False)


def test_ascii_utf16_without_a_mark_is_decoded_and_latin1_still_counted():
    assert decode_text("plain words".encode("utf-16-le")) == ("plain words", False)
    assert decode_text("caf\xe9".encode("latin-1")) == ("caf\ufffd", True)


def test_text_folder_of_utf16_files_reads_their_words(tmp_path, config_for):
    data = make_text_folder(tmp_path / "data", per_class=6)
    (data / "pos" / "windows.txt").write_bytes(f"{PLANTED} written by notepad".encode("utf-16"))
    (data / "neg" / "latin.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    dataset = load_dataset(config_for(data))
    assert any(text.startswith(PLANTED) for text in _texts(dataset))
    assert dataset.text.undecodable == 1


def test_what_ingest_fixed_or_skipped_is_said_on_the_console_too(tmp_path, outside, config_for):
    """Found by benchmarks/reliability.py: skipped links and fixes were listed in the report only."""
    from automl.pipeline import _announce_fixes
    data = make_text_folder(tmp_path / "data", per_class=6)
    os.symlink(outside / "secret.txt", data / "pos" / "secret.txt")
    said = []

    class Progress:
        def note(self, text):
            said.append(text)
    _announce_fixes(load_dataset(config_for(data)), Progress())
    assert len(said) == 1 and "Skipped 1 file(s)" in said[0] and OUTSIDE in said[0] and "report" in said[0]
