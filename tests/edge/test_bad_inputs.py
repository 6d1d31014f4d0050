"""A catalogue of bad and odd inputs: each ends in one clear message (exit 1, no traceback), or in a
skip / note recorded for the report, never in a traceback or a silently wrong dataset.

Most cases go through ingest and profiling only (`plan_run`), so the catalogue stays fast.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from automl.cli import main
from automl.errors import AutomlError, DataError
from automl.ingest import load_dataset
from automl.pipeline import plan_run
from helpers import make_image_folder, write_image


def _png_bytes(value=128, size=(16, 16), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((*size, 3), value, np.uint8), "RGB").convert(mode).save(buffer, "PNG")
    return buffer.getvalue()


def _no_traceback(capsys) -> str:
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return out + err


def _all_pixels(dataset):
    """Decodes every example of every split: a file that slipped through would fail here."""
    return [image.numpy() for split in dataset.splits().values() for image, _ in split.data]


# --- images: unreadable files are skipped and listed, the rest of the folder still trains -------

def _bomb(path):
    # A PNG whose header claims 20000x20000 pixels (400 M, over the cap) but whose data is tiny.
    Image.new("1", (20000, 20000)).save(path)


SKIPPED_IMAGES = {
    "corrupt": ("broken.png", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20), "cannot be decoded"),
    "truncated png": ("half.png", lambda p: p.write_bytes(_png_bytes()[:60]), "cannot be decoded"),
    "truncated jpeg": ("half.jpg", lambda p: p.write_bytes(_jpeg_bytes()[: len(_jpeg_bytes()) // 2]), "cannot be decoded"),
    "zero bytes": ("empty.jpg", lambda p: p.write_bytes(b""), "cannot be decoded"),
    "text named .png": ("notes.png", lambda p: p.write_text("just some text, not pixels\n"), "cannot be decoded"),
    "html named .jpg": ("page.jpg", lambda p: p.write_text("<html><body>404</body></html>"), "cannot be decoded"),
    "pdf named .gif": ("doc.gif", lambda p: p.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), "cannot be decoded"),
    "decompression bomb": ("bomb.png", _bomb, "too large|cannot be decoded"),
    "unsupported extension": ("scan.tiff", lambda p: Image.new("RGB", (16, 16)).save(p, "TIFF"), "not an image"),
    "no extension": ("README", lambda p: p.write_text("about this data"), "not an image"),
    "webp named .bmp": ("pic.bmp", lambda p: Image.new("RGB", (16, 16)).save(p, "WEBP"), "a WEBP file despite"),
    # TensorFlow fails on 1-bit BMPs and reads 8-bit palette BMPs as grey levels (wrong colours).
    "1-bit bmp": ("mono.bmp", lambda p: Image.new("1", (16, 16), 1).save(p), "convert it to PNG"),
    "palette bmp": ("palette.bmp", lambda p: Image.new("RGB", (16, 16), (200, 9, 9)).convert("P").save(p),
                    "convert it to PNG"),
}


def _jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("case", sorted(SKIPPED_IMAGES))
def test_unreadable_image_files_are_skipped_and_listed(case, image_folder, config_for):
    name, make, reason = SKIPPED_IMAGES[case]
    make(image_folder / "dark" / name)
    dataset, profile, _ = plan_run(config_for(image_folder))
    skipped = {os.path.basename(s.path): s.reason for s in profile.skipped}
    assert list(skipped) == [name]
    assert re.search(reason, skipped[name])
    assert sum(split.size for split in dataset.splits().values()) == 16
    assert len(_all_pixels(dataset)) == 16
    assert any(g.name == "Unreadable files" and g.status == "Alerted" for g in profile.guardrails)


# --- images: unusual colour modes and bit depths are decoded, not skipped -----------------------

def _cmyk_jpeg(path):
    Image.new("RGB", (16, 16), (200, 30, 30)).convert("CMYK").save(path, "JPEG")


def _png16(path):
    Image.fromarray(np.full((16, 16), 40000, np.uint16)).save(path)  # 16-bit grey PNG (mode I;16)


ODD_MODES = {
    "cmyk jpeg": ("cmyk.jpg", _cmyk_jpeg),
    "16-bit png": ("deep.png", _png16),
    "rgba png": ("alpha.png", lambda p: Image.new("RGBA", (16, 16), (10, 200, 10, 100)).save(p)),
    "palette png": ("palette.png", lambda p: Image.new("RGB", (16, 16), (9, 9, 200)).convert("P").save(p)),
    "palette gif animated": ("anim.gif", lambda p: Image.new("P", (16, 16), 3).save(
        p, save_all=True, append_images=[Image.new("P", (16, 16), 7)])),
    "grey bmp": ("grey.bmp", lambda p: Image.new("L", (16, 16), 90).save(p)),
    "grey+alpha png": ("la.png", lambda p: Image.new("LA", (16, 16), (90, 255)).save(p)),
    "odd size": ("tall.png", lambda p: Image.new("RGB", (3, 500), (1, 2, 3)).save(p)),
}


@pytest.mark.parametrize("case", sorted(ODD_MODES))
def test_unusual_image_modes_are_decoded_to_the_common_input(case, image_folder, config_for):
    name, make = ODD_MODES[case]
    make(image_folder / "dark" / name)
    dataset = load_dataset(config_for(image_folder))
    assert dataset.skipped == ()
    pixels = _all_pixels(dataset)
    assert len(pixels) == 17
    assert {p.shape for p in pixels} == {dataset.images.input_shape}
    assert {p.dtype for p in pixels} == {np.dtype(np.uint8)}


def test_sixteen_bit_pixels_keep_their_brightness(tmp_path, config_for):
    """A 16-bit image must not wrap around or come out black when converted to 8 bits."""
    make_image_folder(tmp_path / "data", per_class=3)
    for i in range(3):
        Image.fromarray(np.full((16, 16), 60000, np.uint16)).save(tmp_path / "data" / "dark" / f"deep{i}.png")
    dataset = load_dataset(config_for(tmp_path / "data"))
    deep = [img for split in dataset.splits().values() for img, _ in split.data if float(img.numpy().std()) == 0.0]
    assert deep and all(200 <= int(img.numpy().mean()) <= 255 for img in deep)


# --- image folders: names and files that are not data ------------------------------------------

def _symlink_loop(root):
    os.symlink(root, root / "dark" / "loop")
    os.symlink(root / "dark" / "self", root / "dark" / "self")


FOLDER_ODDITIES = {
    "hidden files": lambda r: [(r / "dark" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1"),
                               (r / "bright" / "._bright_0.png").write_bytes(b"\0\5\26\7"),
                               (r / ".hidden").mkdir(), (r / ".hidden" / "x.png").write_bytes(_png_bytes())],
    "Thumbs.db and desktop.ini": lambda r: [(r / "dark" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0"),
                                            (r / "dark" / "desktop.ini").write_text("[.ShellClassInfo]")],
    "symlink loops": _symlink_loop,
    "unicode and spaces": lambda r: [write_image(r / "dark" / "fotó 1 — ñ.png", 40, seed=77),
                                     write_image(r / "dark" / "写真 2.png", 40, seed=78)],
    "class folder with spaces": lambda r: make_image_folder(r, per_class=4, classes=("mid",)) and
                                          (r / "mid").rename(r / "very dark ☾"),
}


@pytest.mark.parametrize("case", sorted(FOLDER_ODDITIES))
def test_folder_oddities_neither_crash_nor_become_data(case, image_folder, config_for):
    FOLDER_ODDITIES[case](image_folder)
    dataset, profile, _ = plan_run(config_for(image_folder))
    _all_pixels(dataset)
    names = set(dataset.class_names)
    assert names <= {"bright", "dark", "very dark ☾"}
    assert not any(os.path.basename(s.path).startswith(".") for s in dataset.skipped)


def test_symlink_loop_is_not_followed_forever(image_folder, config_for):
    _symlink_loop(image_folder)
    dataset = load_dataset(config_for(image_folder))
    assert sum(split.size for split in dataset.splits().values()) == 16


# --- tables: clear errors -----------------------------------------------------------------------

def _csv(tmp_path, text: str | bytes, name="table.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _rows(n=30, **columns):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n), "label": ["a", "b", "c"] * (n // 3)})
    return frame.assign(**columns)


BAD_TABLES = {
    "ragged rows": (lambda t: _csv(t, "a,b,label\n1,2,x\n1,2,3,y\n" + "1,2,x\n" * 20), "Cannot read the table"),
    "empty file": (lambda t: _csv(t, ""), "Cannot read the table"),
    "header only": (lambda t: _csv(t, "a,b,label\n"), "at least 10 rows"),
    "binary garbage": (lambda t: _csv(t, bytes(range(256)) * 8), "Cannot read the table"),
    "one class": (lambda t: _rows().assign(label="a").to_csv(t / "t.csv", index=False) or t / "t.csv", "Found 1 class"),
    "class with one sample": (lambda t: _rows().assign(label=["a"] * 29 + ["b"]).to_csv(t / "t.csv", index=False)
                              or t / "t.csv", "Class 'b'.* 1 row"),
    "all-missing target": (lambda t: _rows().assign(label=np.nan).to_csv(t / "t.csv", index=False) or t / "t.csv",
                           "at least 10 rows"),
    "only the target": (lambda t: _rows()[["label"]].to_csv(t / "t.csv", index=False) or t / "t.csv",
                        "at least one feature column"),
    "only constant features": (lambda t: _rows().assign(x=1, z="k").to_csv(t / "t.csv", index=False) or t / "t.csv",
                               "No usable feature column"),
    "parquet that is not": (lambda t: _csv(t, "a,b\n1,2\n", "t.parquet"), "Cannot read the table"),
    "directory named .csv": (lambda t: (t / "d.csv").mkdir() or t / "d.csv", "No training data found|Cannot read"),
    "npz not a zip": (lambda t: _csv(t, "x,y\n", "a.npz"), "not a valid .npz"),
    "npz without y": (lambda t: np.savez(t / "a.npz", x=np.zeros((20, 3))) or t / "a.npz", "needs 'x' and 'y'"),
    "npz lengths differ": (lambda t: np.savez(t / "a.npz", x=np.zeros((20, 3)), y=np.zeros(19)) or t / "a.npz",
                           "must match"),
    "npz 5-d x": (lambda t: np.savez(t / "a.npz", x=np.zeros((20, 2, 2, 2, 2)), y=np.arange(20) % 2) or t / "a.npz",
                  "expected"),
    "npz truncated": (lambda t: _truncated_npz(t), "Cannot read|not a valid"),
}


def _truncated_npz(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, x=np.zeros((20, 3)), y=np.arange(20) % 2)
    path.write_bytes(path.read_bytes()[:150])
    return path


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_bad_tables_end_in_one_clear_error(case, tmp_path, config_for, capsys):
    make, message = BAD_TABLES[case]
    data = make(tmp_path)
    with pytest.raises(AutomlError, match=message):
        plan_run(config_for(data))
    assert main(["plan", str(data)]) == 1
    text = _no_traceback(capsys)
    assert "Error:" in text and len(text.strip().splitlines()) <= 3


# --- tables: odd but usable data is read correctly ----------------------------------------------

def _frame_csv(tmp_path, frame, **to_csv):
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False, **to_csv)
    return path


def test_a_byte_order_mark_does_not_rename_the_first_column(tmp_path, config_for):
    path = _frame_csv(tmp_path, _rows(), encoding="utf-8-sig")
    dataset = load_dataset(config_for(path))
    assert list(dataset.table.keys) == ["x", "z"] and dataset.target == "label"


def test_non_utf8_bytes_are_replaced_not_fatal(tmp_path, config_for):
    path = _csv(tmp_path, ("name,x,label\n" + "caf\xe9,1,a\nna\xefve,2,b\n" * 10).encode("latin-1"))
    dataset = load_dataset(config_for(path))
    assert dataset.table is not None or dataset.modality == "text"
    assert dataset.class_names == ("a", "b")


def test_semicolon_delimited_csv(tmp_path, config_for):
    path = _frame_csv(tmp_path, _rows().assign(x=lambda f: f.x.round(3)), sep=";")
    dataset = load_dataset(config_for(path))
    assert list(dataset.table.keys) == ["x", "z"] and dataset.class_names == ("a", "b", "c")


def test_semicolon_csv_with_decimal_commas(tmp_path, config_for):
    path = _frame_csv(tmp_path, _rows(), sep=";", decimal=",")
    dataset = load_dataset(config_for(path))
    assert pd.api.types.is_float_dtype(dataset.table.train["x"])


def test_nan_and_inf_features_are_filled_inside_the_model(tmp_path, config_for):
    frame = _rows(x=[np.inf, -np.inf, np.nan] + list(np.linspace(0, 1, 27)))
    _, profile, _ = plan_run(config_for(_frame_csv(tmp_path, frame)))
    column = next(c for c in profile.column_inputs if c.name == "x")
    assert np.isfinite([column.mean, column.variance, column.fill]).all()


def test_inf_in_a_regression_target_is_dropped_and_noted(tmp_path, config_for):
    target = list(np.linspace(0.5, 40.5, 40))
    target[3], target[7] = np.inf, -np.inf
    frame = pd.DataFrame({"x": np.arange(40.0) % 7, "y": target})
    dataset = load_dataset(config_for(_frame_csv(tmp_path, frame)))
    labels = np.concatenate([split.labels for split in dataset.splits().values()])
    assert dataset.task == "regression" and len(labels) == 38 and np.isfinite(labels).all()
    assert any("2" in note and "target" in note for note in dataset.notes)


def test_an_all_missing_column_is_dropped_with_a_reason(tmp_path, config_for):
    _, profile, _ = plan_run(config_for(_frame_csv(tmp_path, _rows(empty=np.nan))))
    empty = next(c for c in profile.columns if c.name == "empty")
    assert empty.role == "dropped" and "constant" in empty.note
    assert "empty" not in {c.name for c in profile.column_inputs}


def test_numeric_looking_string_labels_are_classes_in_numeric_order(tmp_path, config_for):
    frame = _rows(label=["1", "2", "10"] * 10)
    dataset = load_dataset(config_for(_frame_csv(tmp_path, frame)))
    assert dataset.task == "classification" and dataset.class_names == ("1", "2", "10")


def test_zero_padded_labels_keep_their_spelling(tmp_path, config_for):
    """'007' and '07' are different labels: reading them as the number 7 would merge the classes."""
    frame = _rows(label=["007", "07", "100"] * 10)
    dataset = load_dataset(config_for(_frame_csv(tmp_path, frame)))
    assert dataset.class_names == ("007", "07", "100") or set(dataset.class_names) == {"007", "07", "100"}


def test_duplicated_rows_are_flagged(tmp_path, config_for):
    frame = pd.concat([_rows()] * 3, ignore_index=True)
    _, profile, _ = plan_run(config_for(_frame_csv(tmp_path, frame)))
    alerts = {g.name for g in profile.guardrails if g.status == "Alerted"}
    assert "Duplicates in train" in alerts and "Leakage into test" in alerts


def test_very_long_texts_in_a_column_are_read(tmp_path, config_for):
    rng = np.random.default_rng(1)
    words = ["alpha", "beta", "gamma", "delta"]
    long = [" ".join(rng.choice(words, 20_000)) for _ in range(30)]
    dataset, profile, _ = plan_run(config_for(_frame_csv(tmp_path, _rows(notes=long))))
    # Either a text column (text ingest) or a categorical column; all 30 rows are kept either way.
    assert profile.modality == "text" or "notes" in {c.name for c in profile.columns}
    assert sum(split.size for split in dataset.splits().values()) == 30


def test_unicode_and_spaces_in_column_names_and_file_name(tmp_path, config_for):
    frame = _rows().rename(columns={"x": "température (°C)", "z": "größe m²"})
    path = tmp_path / "mes données 表.csv"
    frame.to_csv(path, index=False)
    dataset = load_dataset(config_for(path))
    assert all(key.isidentifier() and key.isascii() for key in dataset.table.keys.values())


# --- flags, presets and the output directory ---------------------------------------------------

@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "expected 1 or more"),
    (["--batch-size", "-4"], "expected 1 or more"),
    (["--max-trials", "2.5"], "expected a whole number"),
    (["--image-size", "4"], "--image-size must be between 8 and 1024"),
    (["--image-size", "100000"], "--image-size must be between 8 and 1024"),
    (["--time-budget", "1s"], "too small to train even one model"),
    (["--time-budget=-5m"], "Cannot read the duration"),
    (["--seed", "-1"], "--seed must be"),
    (["--seed", "99999999999"], "--seed must be"),
    (["--tuner", "grid"], "invalid choice"),
    (["--family", "resnet"], "invalid choice"),
    (["--weights", "/no/such/weights.h5"], "no such file"),
    (["--bogus-flag"], "unrecognized arguments"),
])
def test_out_of_range_flags_exit_1(flags, message, image_folder, tmp_path, capsys):
    assert main(["run", str(image_folder), "--output", str(tmp_path / "run"), *flags]) == 1
    assert message in _no_traceback(capsys)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("preset, message", [
    ("max_trial = 3\n", "Did you mean 'max_trials'?"),
    ("wibble = 1\n", "Valid keys:"),
    ("epochs = 'ten'\n", "epochs"),
    ("epochs = 0\n", "--epochs must be at least 1"),
    ("val_fraction = 0.9\n", "val_fraction must be in"),
    ("epochs = [\n", "Cannot parse"),
    ("time_budget = true\n", "time_budget"),
])
def test_bad_presets_exit_1(preset, message, image_folder, tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text(preset)
    assert main(["plan", str(image_folder), "--pipeline", str(path)]) == 1
    text = _no_traceback(capsys)
    assert message in text and "Invalid settings: '" not in text


def test_read_only_output_directory_exits_1(image_folder, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    # root writes through permission bits; sysfs is read-only for everyone.
    output = locked / "run" if os.geteuid() != 0 else "/sys/automl-test-run"
    try:
        assert main(["run", str(image_folder), "--output", str(output), "--max-trials", "1"]) == 1
    finally:
        locked.chmod(stat.S_IRWXU)
    assert "Choose a writable --output" in _no_traceback(capsys)


def test_an_existing_folder_that_cannot_be_written_exits_1(image_folder, tmp_path, capsys, monkeypatch):
    import tempfile

    (tmp_path / "run").mkdir()
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda **kw: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    assert main(["run", str(image_folder), "--output", str(tmp_path / "run"), "--max-trials", "1"]) == 1
    assert "Cannot create or write to the run directory" in _no_traceback(capsys)


@pytest.mark.parametrize("inside", [False, True])
def test_output_that_is_a_file_exits_1(image_folder, tmp_path, capsys, inside):
    (tmp_path / "taken").write_text("a file")
    output = tmp_path / "taken" / "run" if inside else tmp_path / "taken"
    assert main(["run", str(image_folder), "--output", str(output), "--max-trials", "1"]) == 1
    assert "--output" in _no_traceback(capsys)


def test_unreadable_data_folder_exits_1(image_folder, capsys):
    if os.geteuid() == 0:
        pytest.skip("root can read unreadable folders")
    (image_folder / "dark").chmod(0)
    try:
        assert main(["plan", str(image_folder)]) == 1
    finally:
        (image_folder / "dark").chmod(stat.S_IRWXU)
    assert "Error:" in _no_traceback(capsys)


def test_npz_with_nan_pixels_is_not_silently_black(tmp_path, config_for):
    x = np.random.default_rng(0).random((30, 8, 8)).astype(np.float32)
    x[0, 0, 0] = np.nan
    np.savez(tmp_path / "a.npz", x=x, y=np.arange(30) % 2)
    dataset = load_dataset(config_for(tmp_path / "a.npz"))
    pixels = np.concatenate([img.numpy().ravel() for split in dataset.splits().values() for img, _ in split.data])
    assert pixels.max() > 200  # values in [0, 1] are scaled to [0, 255], NaN or not


def test_zip_archive_is_refused_with_the_layouts(tmp_path, config_for):
    with zipfile.ZipFile(tmp_path / "data.zip", "w") as archive:
        archive.writestr("cats/1.png", _png_bytes())
    with pytest.raises(DataError, match="extension '.zip'"):
        load_dataset(config_for(tmp_path / "data.zip"))


# --- text folders --------------------------------------------------------------------------------

def _text_folder(root, per_class=6):
    for label, word in (("pos", "good great fine"), ("neg", "bad awful poor")):
        for i in range(per_class):
            path = root / label / f"{i}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{word} text number {i}", encoding="utf-8")
    return root


TEXT_ODDITIES = {
    "empty file": (lambda r: (r / "neg" / "empty.txt").write_bytes(b""), "empty.txt", "empty text file"),
    "whitespace only": (lambda r: (r / "pos" / "blank.txt").write_text(" \n\t \n"), "blank.txt", "empty text file"),
    "not a .txt": (lambda r: (r / "pos" / "notes.md").write_text("# notes"), "notes.md", "not a .txt file"),
}


@pytest.mark.parametrize("case", sorted(TEXT_ODDITIES))
def test_text_files_that_hold_no_text_are_skipped_and_listed(case, tmp_path, config_for):
    make, name, reason = TEXT_ODDITIES[case]
    root = _text_folder(tmp_path / "texts")
    make(root)
    (root / "pos" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    dataset, profile, _ = plan_run(config_for(root))
    skipped = {os.path.basename(s.path): s.reason for s in profile.skipped}
    assert list(skipped) == [name] and reason in skipped[name]
    assert sum(split.size for split in dataset.splits().values()) == 12


def test_non_utf8_text_is_kept_with_replacement_characters_and_counted(tmp_path, config_for):
    root = _text_folder(tmp_path / "texts")
    (root / "neg" / "latin.txt").write_bytes("caf\xe9 tr\xe8s mauvais".encode("latin-1"))
    dataset = load_dataset(config_for(root))
    texts = [t.numpy().decode() for split in dataset.splits().values() for t, _ in split.data]
    assert any("caf\ufffd" in text for text in texts) and dataset.text.undecodable == 1


def test_a_text_folder_of_only_empty_files_exits_1(tmp_path, capsys):
    for label in ("pos", "neg"):
        (tmp_path / "texts" / label).mkdir(parents=True)
        for i in range(4):
            (tmp_path / "texts" / label / f"{i}.txt").write_bytes(b"")
    assert main(["plan", str(tmp_path / "texts")]) == 1
    assert "non-empty text files" in _no_traceback(capsys)
