"""Transfer learning with the real MobileNet v1 (alpha 0.25) ImageNet weights from ../shared/data,
copied into a temporary KERAS_HOME; and the fallback when no weights are present."""

import shutil
from pathlib import Path

import pytest

from automl.errors import ConfigError
from automl.families.transfer import available_backbones, backbone_for_file
from automl.ingest import load_dataset
from automl.profile import profile_dataset
from automl.select import choose_family
from helpers import WEIGHTS, make_image_folder

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
    assert plan.fixed_hyperparameters == {"backbone": "mobilenet_0.25", "input_side": 224,
                                          "weights": str(keras_home / "models" / WEIGHTS.name)}


V2_WEIGHTS = WEIGHTS.parent / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


@pytest.mark.skipif(not (WEIGHTS.exists() and V2_WEIGHTS.exists()), reason="real MobileNet weights not found")
def test_with_two_backbones_the_most_accurate_that_fits_the_budget_is_chosen(keras_home, photos, config_for,
                                                                           monkeypatch):
    from automl import select
    shutil.copy(WEIGHTS, keras_home / "models")
    shutil.copy(V2_WEIGHTS, keras_home / "models")
    plan = _plan(config_for(photos))  # no budget: the most accurate
    assert plan.fixed_hyperparameters["backbone"] == "mobilenet_v2" and "71.3% ImageNet top-1" in plan.reason
    measured = select.seconds_per_image("mobilenet_v2", str(keras_home / "models" / V2_WEIGHTS.name))
    assert 0 < measured < 5  # a real pass through the real backbone
    costs = {"mobilenet_v2": 0.5, "mobilenet_0.25": 0.01}  # seconds an image at 224 px, as if measured
    monkeypatch.setattr(select, "seconds_per_image", lambda name, weights: costs[name])
    sizes = profile_dataset(load_dataset(config_for(photos))).split_sizes
    images = 2 * sizes["train"] + sizes["val"] + sizes["test"]  # train twice: its flipped copies
    v2_pass = images * costs["mobilenet_v2"]
    fits_v2 = _plan(config_for(photos, time_budget=v2_pass / select.BACKBONE_SHARE + 1))
    assert fits_v2.fixed_hyperparameters["backbone"] == "mobilenet_v2" and "fits the budget" in fits_v2.reason
    assert fits_v2.fixed_hyperparameters["input_side"] == 224 and "at 224 px" in fits_v2.reason
    # Short of 224 px, a smaller side at a quarter of the pixels (and cost) still fits: 112 px → 96 in the grid.
    smaller = _plan(config_for(photos, time_budget=v2_pass / select.BACKBONE_SHARE * 0.3))
    assert smaller.fixed_hyperparameters["backbone"] == "mobilenet_v2"
    assert smaller.fixed_hyperparameters["input_side"] == 96 and "at 96 px" in smaller.reason
    too_short = _plan(config_for(photos, time_budget=v2_pass / select.BACKBONE_SHARE * (96 / 224) ** 2 * 0.9))
    assert too_short.fixed_hyperparameters["backbone"] == "mobilenet_0.25"
    assert "fits the budget" in too_short.reason and "50.6% ImageNet top-1" in too_short.reason
    forced = _plan(config_for(photos, family="transfer", weights=str(WEIGHTS)))  # a --weights file is kept
    assert forced.fixed_hyperparameters["backbone"] == "mobilenet_0.25" and "given with --weights" in forced.reason


@needs_weights
def test_many_photos_go_to_transfer_when_the_budget_affords_their_features(keras_home, photos, config_for,
                                                                        monkeypatch):
    from automl import select
    shutil.copy(WEIGHTS, keras_home / "models")
    monkeypatch.setattr(select, "FEW_IMAGES_PER_CLASS", 2)  # these 8 photos a class count as many
    monkeypatch.setattr(select, "seconds_per_image", lambda name, weights: 1.0)  # at 224 px, as if measured
    sizes = profile_dataset(load_dataset(config_for(photos))).split_sizes
    at_224 = (2 * sizes["train"] + sizes["val"] + sizes["test"]) * 1.0
    affordable = _plan(config_for(photos, time_budget=at_224 / select.BACKBONE_SHARE + 1))
    assert affordable.family == "transfer" and "budget affords" in affordable.reason
    assert affordable.fixed_hyperparameters["input_side"] == 224
    short = _plan(config_for(photos, time_budget=at_224 * (96 / 224) ** 2 / select.BACKBONE_SHARE * 0.5))
    assert short.family == "cnn" and "no backbone's feature pass fits" in short.reason
    assert "--time-budget" in short.reason


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
@pytest.mark.slow  # 35 s; the head-search test runs the same search and test_contract exports the family
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


@needs_weights  # 37 s: the one default test of the transfer search on cached features and activations
def test_the_head_is_searched_on_cached_features_then_fine_tuned(keras_home, photos, config_for, monkeypatch):
    import numpy as np

    from automl.search import transfer as transfer_search
    from automl.pipeline import run
    from automl.progress import NullProgress

    shutil.copy(WEIGHTS, keras_home / "models")
    config = config_for(photos, max_trials=2, epochs=2)
    result = run(config)
    head_phase, fine_tune = result.search.phases
    assert head_phase.name == "head search on cached features" and head_phase.trials == 2
    assert fine_tune.name == "fine-tuning" and head_phase.kept != fine_tune.kept
    assert (result.search.best_trial_id == "fine-tune") == fine_tune.kept
    assert [t.trial_id for t in result.search.trials][-1] == "fine-tune"

    cache = Path(config.run_dir) / "cache" / "transfer_features.npz"
    dataset = load_dataset(config)
    with np.load(cache) as saved:
        assert saved["train"].shape == saved["train_flipped"].shape == (dataset.train.size, 8 * 32)
        assert saved["val"].shape[0] == dataset.val.size
        assert not np.allclose(saved["train"], saved["train_flipped"])  # mirrored images, other features
        # The activations below the backbone's top 30 layers were cached with them, for fine-tuning.
        assert saved["train_activations"].shape[0] == dataset.train.size
        assert saved["train_flipped_activations"].shape == saved["train_activations"].shape
    assert "on the cached activations below them" in fine_tune.note

    # A resumed run reads the cache instead of running the backbone again.
    monkeypatch.setattr(transfer_search, "image_features", lambda *a, **k: pytest.fail("features recomputed"))
    again, _ = transfer_search.cached_features(dataset, result.profile, result.plan, result.config,
                                               Path(config.run_dir), NullProgress())
    assert np.array_equal(again["val"], np.load(cache)["val"])


@pytest.mark.slow  # 22 s on 2 cores: a whole run; the kept/discarded choice is also checked by the test above
@needs_weights
def test_a_fine_tune_that_hurts_validation_is_discarded(keras_home, photos, config_for, monkeypatch):
    from automl.search import transfer as transfer_search
    from automl.pipeline import run

    shutil.copy(WEIGHTS, keras_home / "models")
    monkeypatch.setattr(transfer_search, "FINE_TUNE_LEARNING_RATE", 50.0)  # wrecks the pretrained features
    result = run(config_for(photos, max_trials=1, epochs=2))
    head_phase, fine_tune = result.search.phases
    assert not fine_tune.kept and head_phase.kept and "discarded" in fine_tune.note
    assert result.search.best_trial_id == "0"
    assert result.search.trials[-1].status == "DISCARDED"
    # The model that goes on is the head-only one: its validation accuracy is the head trial's.
    assert result.diagnostics.metrics["val"]["accuracy"] == pytest.approx(head_phase.val_score)


@pytest.mark.slow  # 19 s on 2 cores: a whole run training the backbone in every trial (cache_features off)
@needs_weights
def test_whole_network_trials_remain_available(keras_home, photos, config_for):
    from automl.pipeline import run

    shutil.copy(WEIGHTS, keras_home / "models")
    result = run(config_for(photos, max_trials=1, epochs=1, cache_features=False))
    assert result.search.phases == ()
    assert "fine_tune_layers" in result.search.trials[0].hyperparameters


@pytest.mark.slow  # 38 s on 2 cores: two whole runs (a CNN, then transfer from it)
def test_an_earlier_run_serves_as_the_backbone(keras_home, photos, tmp_path, config_for):
    from automl.pipeline import run

    first = run(config_for(photos, family="cnn", run_dir=str(tmp_path / "first"), max_trials=1, epochs=1))
    second = run(config_for(photos, backbone=first.config.run_dir, run_dir=str(tmp_path / "second"), epochs=1))
    assert second.plan.family == "transfer" and "earlier run" in second.plan.reason
    assert second.plan.fixed_hyperparameters["backbone"] == f"run:{first.config.run_dir}"
    assert [p.name for p in second.search.phases] == ["head search on cached features", "fine-tuning"]
    assert second.export.parity_max_abs_diff < 1e-4

    gray = make_image_folder(tmp_path / "gray", modes=("L",))
    with pytest.raises(ConfigError, match="takes 3-channel images, but these have 1"):
        _plan(config_for(gray, backbone=first.config.run_dir))
    with pytest.raises(ConfigError, match="no model.keras there"):
        config_for(photos, backbone=str(tmp_path))
