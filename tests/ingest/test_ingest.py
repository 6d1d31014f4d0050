import numpy as np
import pandas as pd
import pytest

from automl.errors import DataError
from automl.ingest import load_dataset
from helpers import make_image_folder, write_image


def test_image_folder_is_split_stratified_and_streamed(image_folder, config_for):
    dataset = load_dataset(config_for(image_folder))
    assert dataset.modality == "image" and dataset.class_names == ("bright", "dark")
    sizes = {name: split.size for name, split in dataset.splits().items()}
    assert sum(sizes.values()) == 16 and all(size >= 2 for size in sizes.values())
    for split in dataset.splits().values():  # stratified: both classes in every split
        assert set(split.labels) == {0, 1}
    image, label = next(iter(dataset.train.data))
    assert image.dtype.name == "uint8" and tuple(image.shape) == (16, 16, 3)
    assert "stratified" in dataset.split_note


def test_mixed_sizes_and_modes_become_one_input(tmp_path, config_for):
    root = make_image_folder(tmp_path / "mixed", sizes=((16, 16), (20, 12), (40, 40)), modes=("RGB", "L", "RGBA", "P"))
    dataset = load_dataset(config_for(root))
    assert dataset.images.input_shape[2] == 3
    shapes = {tuple(x.shape) for x, _ in dataset.train.data}
    assert len(shapes) == 1


def test_grayscale_folder_has_one_channel(tmp_path, config_for):
    root = make_image_folder(tmp_path / "gray", modes=("L",))
    assert load_dataset(config_for(root)).images.input_shape[2] == 1


def test_split_folders_are_honoured_and_val_becomes_test(tmp_path, config_for):
    for split in ("train", "val"):
        make_image_folder(tmp_path / "data" / split, per_class=6 if split == "train" else 3)
    dataset = load_dataset(config_for(tmp_path / "data"))
    assert dataset.test.size == 6  # val/ is the held-out test split
    assert dataset.train.size + dataset.val.size == 12
    assert "val/" in dataset.split_note


def test_train_val_test_folders_are_all_honoured(tmp_path, config_for):
    for split, n in (("train", 6), ("validation", 3), ("test", 4)):
        make_image_folder(tmp_path / "data" / split, per_class=n)
    dataset = load_dataset(config_for(tmp_path / "data"))
    assert (dataset.train.size, dataset.val.size, dataset.test.size) == (12, 6, 8)


def test_corrupt_files_are_skipped_and_listed(image_folder, config_for):
    (image_folder / "dark" / "broken.png").write_bytes(b"\x89PNG not really")
    (image_folder / "dark" / "empty.jpg").write_bytes(b"")
    (image_folder / "dark" / "notes.txt").write_text("hello")
    (image_folder / "dark" / ".DS_Store").write_bytes(b"\0")
    dataset = load_dataset(config_for(image_folder))
    skipped = {p.split("/")[-1]: reason for p, reason in ((s.path, s.reason) for s in dataset.skipped)}
    assert set(skipped) == {"broken.png", "empty.jpg", "notes.txt"}
    assert "cannot be decoded" in skipped["broken.png"]
    assert dataset.train.size + dataset.val.size + dataset.test.size == 16


@pytest.mark.parametrize("make, message", [
    (lambda root: None, "No such file or folder"),
    (lambda root: root.mkdir(), "No training data found"),
    (lambda root: make_image_folder(root, classes=("dark",)), "Found 1 class"),
    (lambda root: [make_image_folder(root), write_image(root / "mid" / "only.png", 125)], "Class 'mid'.* 1 readable image"),
])
def test_bad_image_folders_get_clear_errors(tmp_path, config_for, make, message):
    root = tmp_path / "data"
    make(root)
    with pytest.raises(DataError, match=message):
        load_dataset(config_for(root))


def test_folder_of_only_corrupt_images(tmp_path, config_for):
    for name in ("a", "b"):
        (tmp_path / "data" / name).mkdir(parents=True)
        (tmp_path / "data" / name / "x.jpg").write_bytes(b"garbage")
    with pytest.raises(DataError, match="None of the 2 image files"):
        load_dataset(config_for(tmp_path / "data"))


def test_table_target_is_guessed_and_announced(table_csv, config_for):
    dataset = load_dataset(config_for(table_csv))
    assert dataset.modality == "table" and dataset.target == "label" and dataset.task == "classification"
    assert any("guessed: 'label'" in note for note in dataset.notes)
    features, _ = next(iter(dataset.train.data))
    assert set(features) == {"id", "x1", "x2", "colour", "constant"}
    assert features["colour"].dtype.name == "string"


def test_table_last_column_is_the_fallback_target(tmp_path, config_for):
    frame = pd.DataFrame({"a": range(30), "b": np.tile([1.5, 2.5, 3.5], 10), "kind": ["p", "q", "r"] * 10})
    frame.to_csv(tmp_path / "t.csv", index=False)
    dataset = load_dataset(config_for(tmp_path / "t.csv"))
    assert dataset.target == "kind" and dataset.class_names == ("p", "q", "r")


def test_unknown_target_lists_columns(table_csv, config_for):
    with pytest.raises(DataError, match="No column 'nope'.*x1.*--target"):
        load_dataset(config_for(table_csv, target="nope"))


def test_regression_target_is_detected(tmp_path, config_for):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=50)})
    frame["price"] = frame["x"] * 3 + rng.normal(size=50)
    frame.to_csv(tmp_path / "r.csv", index=False)
    dataset = load_dataset(config_for(tmp_path / "r.csv", target="price"))
    assert dataset.task == "regression" and dataset.class_names == ()


@pytest.mark.parametrize("suffix, sep", [(".tsv", "\t"), (".csv", ";")])
def test_delimiters(table_csv, tmp_path, config_for, suffix, sep):
    path = tmp_path / f"other{suffix}"
    pd.read_csv(table_csv).to_csv(path, sep=sep, index=False)
    assert load_dataset(config_for(path)).target == "label"


def test_parquet_and_split_files(table_csv, tmp_path, config_for):
    frame = pd.read_csv(table_csv)
    folder = tmp_path / "splits"
    folder.mkdir()
    frame.iloc[:45].to_parquet(folder / "train.parquet")
    frame.iloc[45:].to_parquet(folder / "test.parquet")
    dataset = load_dataset(config_for(folder))
    assert dataset.test.size == 15 and dataset.train.size + dataset.val.size == 45


def test_glue_layout_dev_is_validation_and_an_unlabelled_test_is_refused(table_csv, tmp_path, config_for):
    """GLUE's folders (SST-2: train.tsv, dev.tsv, and a test.tsv without labels) as people download them;
    with train + dev only, dev is the held-out test split (as for train/ + val/ image folders)."""
    frame = pd.read_csv(table_csv)
    folder = tmp_path / "glue"
    folder.mkdir()
    frame.iloc[:40].to_csv(folder / "train.tsv", sep="\t", index=False)
    frame.iloc[40:50].to_csv(folder / "dev.tsv", sep="\t", index=False)
    frame.iloc[50:].drop(columns="label").to_csv(folder / "test.tsv", sep="\t", index=False)
    with pytest.raises(DataError, match="test table has no target column 'label'.*unlabelled test table"):
        load_dataset(config_for(folder))
    (folder / "test.tsv").unlink()
    dataset = load_dataset(config_for(folder))
    assert dataset.test.size == 10 and dataset.train.size + dataset.val.size == 40


def test_npz_images_with_official_test_split(tmp_path, config_for):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (40, 12, 12), dtype=np.uint8)
    y = np.repeat([3, 7], 20)
    np.savez(tmp_path / "d.npz", x_train=x[:30], y_train=y[::1][:30] % 2 + 3, x_test=x[30:], y_test=np.array([3, 4] * 5))
    dataset = load_dataset(config_for(tmp_path / "d.npz"))
    assert dataset.modality == "image" and dataset.test.size == 10
    assert dataset.class_names == ("3", "4") and dataset.images.input_shape == (12, 12, 1)


def test_npz_table(tmp_path, config_for):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "t.npz", x=rng.normal(size=(40, 3)), y=np.repeat([0, 1], 20))
    dataset = load_dataset(config_for(tmp_path / "t.npz"))
    assert dataset.modality == "table" and dataset.target == "y"


def test_npz_object_arrays_are_refused_not_unpickled(tmp_path, config_for):
    np.savez(tmp_path / "o.npz", x=np.array([{"a": 1}] * 10, dtype=object), y=np.zeros(10))
    with pytest.raises(DataError, match="unpickling"):
        load_dataset(config_for(tmp_path / "o.npz"))


def test_tfds_reads_a_dataset_without_downloading(config_for):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12):
        dataset = load_dataset(config_for("tfds:mnist"))
    assert dataset.modality == "image" and len(dataset.class_names) == 10
    assert dataset.train.size == 12 and dataset.test.size == 12
    image, _ = next(iter(dataset.train.data))
    assert tuple(image.shape) == (28, 28, 1)


def test_examples_write_real_data(config_for):
    dataset = load_dataset(config_for("example:breast_cancer"))
    assert dataset.modality == "table" and dataset.target == "target"
    assert sum(s.size for s in dataset.splits().values()) == 569
