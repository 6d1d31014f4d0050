import pytest

from automl.errors import ConfigError
from automl.ingest import load_dataset
from automl.profile import profile_dataset
from automl.select import choose_family


def test_images_get_a_cnn_with_a_reason(image_folder, config_for):
    config = config_for(image_folder)
    plan = choose_family(profile_dataset(load_dataset(config)), config)
    assert plan.family == "cnn" and "Images" in plan.reason and "16×16×3" in plan.reason
    assert plan.task == "classification" and "2 distinct classes" in plan.task_reason


def test_tables_get_an_mlp(table_csv, config_for):
    config = config_for(table_csv)
    plan = choose_family(profile_dataset(load_dataset(config)), config)
    assert plan.family == "mlp" and "3 feature columns" in plan.reason


def test_a_forced_family_must_fit_the_data(table_csv, config_for):
    config = config_for(table_csv, family="cnn")
    with pytest.raises(ConfigError, match="--family cnn takes image data.*--family mlp"):
        choose_family(profile_dataset(load_dataset(config)), config)


@pytest.mark.parametrize("epochs", [2, 5, 20, 30])
def test_hyperband_trial_count_matches_keras_tuner(epochs):
    import keras_tuner as kt

    from automl.select import hyperband_trials

    oracle = kt.oracles.HyperbandOracle(objective=kt.Objective("val_loss", "min"), max_epochs=epochs, factor=3)
    expected = sum(oracle._get_size(b, r) for b in range(oracle._get_num_brackets()) for r in range(b + 1))
    assert hyperband_trials(epochs) == expected


def test_a_trial_cap_below_one_hyperband_iteration_is_kept_and_the_search_is_random(image_folder, config_for):
    config = config_for(image_folder, tuner="hyperband", max_trials=10, epochs=20)
    plan = choose_family(profile_dataset(load_dataset(config)), config)
    assert plan.max_trials == 10 and plan.tuner == "random"
    assert "Hyperband needs 30 trials" in plan.reason and "random with at most 10 trials" in plan.reason
