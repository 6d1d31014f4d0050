"""Transfer learning with the real MobileNet v1 (alpha 0.25) ImageNet weights from ../shared/data,
copied into a temporary KERAS_HOME; and the fallback when no weights are present."""

import shutil
from pathlib import Path

import pytest

from automl.errors import ConfigError
from automl.families.transfer import available_backbones, backbone_for_file
from automl.ingest import load_dataset
from automl.profiler import profile_dataset
from automl.selector import choose_family
from conftest import make_image_folder

WEIGHTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "keras-weights" / "mobilenet_2_5_224_tf_no_top.h5"
needs_weights = pytest.mark.skipif(not WEIGHTS.exists(), reason=f"real weights not found at {WEIGHTS}")


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


@pytest.fixture
def photos(tmp_path):
    return make_image_folder(tmp_path / "photos", per_class=8, sizes=((40, 48), (36, 36)))


def _plan(config):
    return choose_family(profile_dataset(load_dataset(config)), config)


@needs_weights
def test_photos_with_weights_choose_transfer_and_say_why(keras_home, photos, config_for):
    shutil.copy(WEIGHTS, keras_home / "models")
    plan = _plan(config_for(photos))
    assert plan.family == "transfer"
    assert "mobilenet_0.25" in plan.reason and "per class" in plan.reason
    assert plan.fixed_hyperparameters == {"backbone": "mobilenet_0.25",
                                          "weights": str(keras_home / "models" / WEIGHTS.name)}


def test_without_weights_the_cnn_is_used_and_the_user_is_told_how(keras_home, photos, config_for):
    plan = _plan(config_for(photos))
    assert plan.family == "cnn"
    assert "no ImageNet weights" in plan.reason and str(keras_home / "models") in plan.reason
    assert "--weights FILE" in plan.reason


def test_forcing_transfer_without_weights_is_a_clear_error(keras_home, photos, config_for):
    with pytest.raises(ConfigError, match="--family transfer needs ImageNet weights.*--family cnn"):
        _plan(config_for(photos, family="transfer"))


@needs_weights
def test_a_weights_file_can_be_given_directly(keras_home, photos, config_for):
    plan = _plan(config_for(photos, weights=str(WEIGHTS)))
    assert plan.family == "transfer" and plan.fixed_hyperparameters["weights"] == str(WEIGHTS)


def test_small_or_gray_images_stay_with_the_cnn(keras_home, tmp_path, config_for):
    if WEIGHTS.exists():
        shutil.copy(WEIGHTS, keras_home / "models")
    gray = make_image_folder(tmp_path / "gray", modes=("L",), sizes=((40, 40),))
    assert "grayscale" in _plan(config_for(gray)).reason
    tiny = make_image_folder(tmp_path / "tiny", sizes=((16, 16),))
    assert _plan(config_for(tiny)).family == "cnn"


def test_backbones_are_found_by_their_keras_file_names(keras_home):
    assert backbone_for_file(Path("x/efficientnetb0_notop.h5")) == "efficientnetb0"
    assert backbone_for_file(Path("unknown.h5")) is None
    assert available_backbones() == {}
    (keras_home / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5").write_bytes(b"")
    assert list(available_backbones()) == ["mobilenet_v2"]


@needs_weights
def test_a_run_on_photos_uses_the_backbone_end_to_end(keras_home, photos, tmp_path):
    import json

    from automl.cli import main

    shutil.copy(WEIGHTS, keras_home / "models")
    run_dir = tmp_path / "run"
    argv = ["run", str(photos), "--output", str(run_dir), "--max-trials", "2", "--epochs", "1",
            "--batch-size", "8", "--time-budget", "none", "--tuner", "random"]
    assert main(argv) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["family"] == "transfer"
    assert all(t["hyperparameters"]["backbone"] == "mobilenet_0.25" for t in summary["trials"])
    assert (run_dir / "model" / "saved_model.pb").exists()


def test_building_without_weights_is_a_clear_error_not_a_random_backbone(keras_home, photos, config_for):
    import keras_tuner as kt

    from automl.families import transfer

    profile = profile_dataset(load_dataset(config_for(photos)))
    with pytest.raises(ConfigError, match="No ImageNet weights file for the mobilenet_0.25 backbone"):
        transfer.build_model(kt.HyperParameters(), profile)
