"""Image regression: a folder of images beside a labels.csv of file names and numbers — ingest and its
guardrails (missing, unreadable, unnamed and outside files; values that are not numbers), and one run end to
end whose SavedModel reloads in a fresh process with plain TensorFlow.

Each tiny image is noise around one brightness, and its value is that brightness (scaled to 0-1).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from automl import cli
from automl.errors import DataError
from automl.ingest import load_dataset
from automl.profile import profile_dataset
from automl.select import choose_family
from helpers import FAST_CLI_FLAGS, no_traceback, write_image

IMAGES = 30


def make_photos(root, extra_rows=()):
    """IMAGES 16×16 images img_I.png whose value is their brightness / 255, and labels.csv naming them."""
    rows = []
    for i in range(IMAGES):
        brightness = 20 + 7 * i
        write_image(root / f"img_{i}.png", brightness, seed=i)
        rows.append((f"img_{i}.png", brightness / 255))
    pd.DataFrame([*rows, *extra_rows], columns=["filename", "value"]).to_csv(root / "labels.csv", index=False)
    return root


def test_folder_with_labels_csv_is_image_regression(tmp_path, config_for):
    dataset = load_dataset(config_for(make_photos(tmp_path / "photos")))
    assert (dataset.modality, dataset.task, dataset.class_names) == ("image", "regression", ())
    assert sum(split.size for split in dataset.splits().values()) == IMAGES
    assert dataset.train.labels.dtype == np.float32 and "Seeded random split" in dataset.split_note
    image, value = next(iter(dataset.train.data))
    assert image.shape == (16, 16, 3) and image.dtype.name == "uint8" and value.dtype.name == "float32"
    profile = profile_dataset(dataset)
    assert profile.target_std > 0
    assert choose_family(profile, config_for(tmp_path)).family == "cnn"


def test_bad_rows_and_files_are_skipped_and_listed_and_nothing_outside_is_read(tmp_path, config_for):
    outside = write_image(tmp_path / "outside.png", 100)
    root = make_photos(tmp_path / "photos", extra_rows=[
        ("../outside.png", 0.5), (str(outside), 0.5), ("gone.png", 0.5), ("broken.png", 0.5), ("img_x.png", "tall")])
    (root / "broken.png").write_bytes(b"not a png")
    write_image(root / "img_x.png", 90)
    write_image(root / "unnamed.png", 90)
    dataset = load_dataset(config_for(root))
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in dataset.skipped}
    assert len([s for s in dataset.skipped if "outside the data folder" in s.reason]) == 2  # ../ and absolute
    assert "no such image" in reasons["gone.png"] and "cannot be decoded" in reasons["broken.png"]
    assert "not a number" in reasons["img_x.png"] and "no row" in reasons["unnamed.png"]
    assert sum(split.size for split in dataset.splits().values()) == IMAGES


def test_target_names_the_value_column_and_bad_ones_are_refused(tmp_path, config_for):
    root = make_photos(tmp_path / "photos")
    frame = pd.read_csv(root / "labels.csv").assign(other=1.0)
    frame.to_csv(root / "labels.csv", index=False)
    with pytest.raises(DataError, match="--target COLUMN"):
        load_dataset(config_for(root))
    assert load_dataset(config_for(root, target="value")).task == "regression"
    with pytest.raises(DataError, match="no such value column"):
        load_dataset(config_for(root, target="height"))
    frame.assign(value=frame["value"].astype(str) + "x").to_csv(root / "labels.csv", index=False)
    with pytest.raises(DataError, match="readable image with a value"):
        load_dataset(config_for(root, target="value"))


FRESH_PROCESS = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    from PIL import Image
    model = tf.saved_model.load(sys.argv[1])
    pixels = np.stack([np.asarray(Image.open(path).convert("RGB")) for path in sys.argv[2:]])
    print(json.dumps(model.serve(tf.constant(pixels))["prediction"].numpy().tolist()))
""")


def test_run_predict_and_fresh_process_reload(tmp_path, capsys):
    root = make_photos(tmp_path / "photos")
    run_dir = tmp_path / "run"
    assert cli.main(["run", str(root), "--output", str(run_dir), "--no-cross-validation", *FAST_CLI_FLAGS]) == 0
    out = no_traceback(capsys)
    assert "test MAE" in out and "R²" in out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["task"] == "regression" and {"mae", "rmse", "r2"} <= set(summary["metrics"]["test"])
    assert summary["baseline"]["mae"] > 0
    meta = json.loads((run_dir / "model" / "metadata.json").read_text())
    assert meta["outputs"] == ["prediction"] and meta["modality"] == "image"
    assert cli.main(["predict", str(run_dir), str(root), "-o", str(tmp_path / "predictions.csv")]) == 0
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    assert len(predictions) == IMAGES and np.isfinite(predictions["prediction"]).all()
    files = [str(root / f"img_{i}.png") for i in (0, 29)]
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(run_dir / "model"), *files],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    fresh = json.loads(done.stdout.strip().splitlines()[-1])
    expected = predictions.set_index("path").loc[files, "prediction"].to_numpy()
    np.testing.assert_allclose(fresh, expected, atol=1e-4)
