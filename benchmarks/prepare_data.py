"""Prepare the benchmark datasets in layouts `automl run` reads, with fixed, repeatable test splits.

Writes mnist.npz and fashion_mnist.npz (official test splits, from the IDX files in shared/data),
digits.npz (scikit-learn digits, stratified 75/25, seed 0) and breast_cancer/{train,test}.csv
(scikit-learn breast_cancer, stratified 80/20, seed 0), hymenoptera, imdb/aclImdb (official test split),
sst2/{train,test}.tsv (GLUE dev as test), fsdd/{train,test}/<digit>/*.wav (spoken digits, official test
split), and the AutoGluon side-by-side's tables (wine, digits_table, diabetes, fair, anes96:
{train,test}.csv, 80/20, seed 0). Files already there are left alone.

    python benchmarks/prepare_data.py [--output /tmp/automl-bench-data] [--shared-data ../shared/data]
"""

from __future__ import annotations

import argparse
import shutil
import tarfile
import gzip
import os
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = Path("/tmp/automl-bench-data")
DEFAULT_SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
# (output name, folder under shared/data) for the two IDX datasets.
IDX_DATASETS = (("mnist", "mnist"), ("fashion_mnist", "fashion-mnist"))
IDX_FILES = {"x_train": "train-images-idx3-ubyte.gz", "y_train": "train-labels-idx1-ubyte.gz",
             "x_test": "t10k-images-idx3-ubyte.gz", "y_test": "t10k-labels-idx1-ubyte.gz"}
# The splits PEERS.md measured AutoKeras on; changing them makes the comparison meaningless.
SPLIT_SEED = 0
DIGITS_TEST_SIZE = 0.25
BREAST_CANCER_TEST_SIZE = 0.20
TABLE_TEST_SIZE = 0.20


def read_idx(path: Path) -> np.ndarray:
    """Reads one gzipped IDX file: images as (n, 28, 28) uint8, labels as (n,) uint8."""
    raw = gzip.open(path).read()
    if "images" in path.name:
        return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
    return np.frombuffer(raw, np.uint8, offset=8)


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Writes an .npz via a temporary file, so an interrupted run never leaves a half file behind."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as handle:
        np.savez(handle, **arrays)
    os.replace(partial, path)


def missing_idx_files(shared_data: Path) -> list[Path]:
    """The IDX files this script needs that are absent under shared_data."""
    wanted = [shared_data / folder / name for _, folder in IDX_DATASETS for name in IDX_FILES.values()]
    return [path for path in wanted if not path.is_file()]


def prepare_idx(name: str, folder: Path, output: Path) -> Path:
    """mnist.npz / fashion_mnist.npz with x_train, y_train, x_test, y_test (official splits)."""
    target = output / f"{name}.npz"
    if target.is_file():
        print(f"{target}: already there, skipped")
        return target
    arrays = {key: read_idx(folder / file) for key, file in IDX_FILES.items()}
    save_npz(target, arrays)
    print(f"{target}: train {arrays['x_train'].shape}, test {arrays['x_test'].shape}")
    return target


def prepare_digits(output: Path) -> Path:
    """digits.npz: 8x8 uint8 images (0..16 scaled to 0..255), stratified 75/25 split, seed 0."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    target = output / "digits.npz"
    if target.is_file():
        print(f"{target}: already there, skipped")
        return target
    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=DIGITS_TEST_SIZE, stratify=digits.target, random_state=SPLIT_SEED)
    save_npz(target, {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test})
    print(f"{target}: train {x_train.shape}, test {x_test.shape}")
    return target


def _write_table(folder: Path, frame, classify: bool, test_size: float = TABLE_TEST_SIZE) -> Path:
    """folder/{train,test}.csv from FRAME (features + "target"), TEST_SIZE held out (stratified for
    classes), seed 0; left alone when both files are there."""
    from sklearn.model_selection import train_test_split

    if (folder / "train.csv").is_file() and (folder / "test.csv").is_file():
        print(f"{folder}: already there, skipped")
        return folder
    train, test = train_test_split(frame, test_size=test_size, random_state=SPLIT_SEED,
                                   stratify=frame["target"] if classify else None)
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in (("test.csv", test), ("train.csv", train)):  # train.csv last: it marks "done"
        partial = folder / (name + ".partial")
        part.to_csv(partial, index=False)
        os.replace(partial, folder / name)
    print(f"{folder}: train {train.shape}, test {test.shape}")
    return folder


def prepare_breast_cancer(output: Path) -> Path:
    """breast_cancer/train.csv and test.csv (features + target), stratified 80/20, seed 0."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame  # feature columns + "target"
    return _write_table(output / "breast_cancer", frame, True, BREAST_CANCER_TEST_SIZE)


def prepare_hymenoptera(shared_data: Path, output: Path) -> Path:
    """hymenoptera/hymenoptera_data/{train,val}/{ants,bees} unpacked, plus keras_home/models/ holding every
    Keras no-top weights file in shared/data/keras-weights (MobileNet 0.25 and MobileNetV2 1.0; the
    benchmarks point KERAS_HOME there, and the selector picks among them). Skipped if absent."""
    folder = output / "hymenoptera"
    archive = shared_data / "hymenoptera" / "hymenoptera_data.tar.gz"
    if not (folder / "hymenoptera_data").is_dir() and archive.is_file():
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")  # refuses paths outside the folder
        print(f"{folder}: unpacked")
    models = output / "keras_home" / "models"
    for weights in sorted((shared_data / "keras-weights").glob("*.h5")):
        if not (models / weights.name).is_file():
            models.mkdir(parents=True, exist_ok=True)
            shutil.copy(weights, models)
    return folder


def prepare_imdb(shared_data: Path, output: Path) -> Path:
    """imdb/aclImdb/{train,test}/{neg,pos}/*.txt unpacked (the official 25k/25k split). Skipped if absent."""
    folder = output / "imdb"
    archive = shared_data / "imdb" / "aclImdb_labeled.tar.gz"
    if not (folder / "aclImdb").is_dir() and archive.is_file():
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
        print(f"{folder}: unpacked")
    return folder


def prepare_sst2(shared_data: Path, output: Path) -> Path:
    """sst2/train.tsv and sst2/test.tsv (GLUE dev, the canonical labelled held-out split). Skipped if absent."""
    folder = output / "sst2"
    source = shared_data / "sst2"
    if (source / "dev.tsv").is_file() and not (folder / "train.tsv").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / "dev.tsv", folder / "test.tsv")
        shutil.copy(source / "train.tsv", folder / "train.tsv.partial")
        os.replace(folder / "train.tsv.partial", folder / "train.tsv")  # train.tsv last: it marks "done"
        print(f"{folder}: train.tsv and test.tsv (dev)")
    return folder


def prepare_fsdd(shared_data: Path, output: Path) -> Path:
    """fsdd/{train,test}/<digit>/*.wav: the Free Spoken Digit Dataset at 8 kHz, unpacked with its official split
    (test = recordings 0-4 of every digit and speaker). Unpacked beside itself and renamed when whole, so an
    interrupted unpack is not taken for data. Skipped if absent."""
    folder = output / "fsdd"
    archive = shared_data / "fsdd" / "fsdd_8khz.tar.gz"
    if not folder.is_dir() and archive.is_file():
        partial = output / "fsdd.partial"
        shutil.rmtree(partial, ignore_errors=True)
        with tarfile.open(archive) as tar:
            tar.extractall(partial, filter="data")  # members are fsdd/...; refuses paths outside the folder
        os.replace(partial / "fsdd", folder)
        shutil.rmtree(partial, ignore_errors=True)
        print(f"{folder}: unpacked")
    return folder


def prepare_intel_scenes(shared_data: Path, output: Path) -> Path:
    """intel_scenes/{train,test}/<class>/*.jpg: the Intel scene photos at 96 px (official seg_train / seg_test),
    both archives unpacked beside the folder and renamed when whole. Skipped if absent."""
    folder = output / "intel_scenes"
    archives = [shared_data / "intel_scenes" / f"intel_scenes_{split}.tar.gz" for split in ("train", "test")]
    if not folder.is_dir() and all(archive.is_file() for archive in archives):
        partial = output / "intel_scenes.partial"
        shutil.rmtree(partial, ignore_errors=True)
        for archive in archives:
            with tarfile.open(archive) as tar:
                tar.extractall(partial, filter="data")  # members are intel_scenes/...
        os.replace(partial / "intel_scenes", folder)
        shutil.rmtree(partial, ignore_errors=True)
        print(f"{folder}: unpacked")
    return folder


def prepare_co2(output: Path) -> Path:
    """co2.csv: statsmodels' Mauna Loa CO2 (weekly, 1958–2001) as monthly means (date, co2); the few
    months with no reading stay empty for automl to interpolate. Skipped if statsmodels is absent."""
    path = output / "co2.csv"
    try:
        import statsmodels.api as sm
    except ImportError:
        print(f"{path}: skipped (pip install statsmodels)")
        return path
    if not path.is_file():
        weekly = sm.datasets.co2.load_pandas().data["co2"]
        monthly = weekly.resample("MS").mean().rename_axis("date").reset_index()
        monthly.to_csv(path, index=False, date_format="%Y-%m-%d")
        print(f"{path}: {len(monthly)} months")
    return path


def prepare_tables(output: Path) -> list[Path]:
    """The tables automl and AutoGluon meet on (benchmarks/tables_side_by_side.py), each
    NAME/{train,test}.csv with a "target" column: scikit-learn's wine, digits as a 64-column table and
    diabetes (regression); statsmodels' fair (had an affair: affairs > 0, the count itself dropped) and
    anes96 (1996 US presidential vote). The statsmodels two are skipped if it is absent."""
    from sklearn.datasets import load_diabetes, load_digits, load_wine

    folders = [_write_table(output / "wine", load_wine(as_frame=True).frame, True),
               _write_table(output / "digits_table", load_digits(as_frame=True).frame, True),
               _write_table(output / "diabetes", load_diabetes(as_frame=True).frame, False)]
    try:
        import statsmodels.api as sm
    except ImportError:
        print("fair, anes96: skipped (pip install statsmodels)")
        return folders
    fair = sm.datasets.fair.load_pandas().data
    fair = fair.drop(columns="affairs").assign(target=(fair["affairs"] > 0).astype(int))
    anes = sm.datasets.anes96.load_pandas().data
    anes = anes.drop(columns="vote").assign(target=anes["vote"].astype(int))
    return folders + [_write_table(output / "fair", fair, True), _write_table(output / "anes96", anes, True)]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"folder to write the datasets into (default: {DEFAULT_OUTPUT})")
    parser.add_argument("--shared-data", type=Path, default=DEFAULT_SHARED_DATA,
                        help=f"folder holding mnist/ and fashion-mnist/ IDX files (default: {DEFAULT_SHARED_DATA})")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    missing = missing_idx_files(args.shared_data)
    if missing:
        print(f"Missing {len(missing)} IDX file(s) under '{args.shared_data}', e.g. '{missing[0]}'. "
              "Point --shared-data at the folder holding mnist/ and fashion-mnist/ "
              "(see shared/data/SOURCES.md).", file=sys.stderr)
        return 1
    args.output.mkdir(parents=True, exist_ok=True)
    for name, folder in IDX_DATASETS:
        prepare_idx(name, args.shared_data / folder, args.output)
    prepare_digits(args.output)
    prepare_breast_cancer(args.output)
    prepare_hymenoptera(args.shared_data, args.output)
    prepare_imdb(args.shared_data, args.output)
    prepare_sst2(args.shared_data, args.output)
    prepare_fsdd(args.shared_data, args.output)
    prepare_intel_scenes(args.shared_data, args.output)
    prepare_co2(args.output)
    prepare_tables(args.output)
    print(f"Datasets ready in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
