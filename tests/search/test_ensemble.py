import keras
import numpy as np
import pytest

from automl.search.ensemble import average_models, select_members, validation_loss


def test_members_are_added_only_while_validation_loss_falls():
    labels = np.array([0, 1, 0, 1])
    outputs = {  # "a" is right but unsure, "b" is confident on the first half, "c" is wrong everywhere
        "a": np.array([[0.6, 0.4], [0.4, 0.6], [0.6, 0.4], [0.4, 0.6]]),
        "b": np.array([[0.99, 0.01], [0.01, 0.99], [0.5, 0.5], [0.5, 0.5]]),
        "c": np.array([[0.1, 0.9], [0.9, 0.1], [0.1, 0.9], [0.9, 0.1]]),
    }
    choice = select_members("classification", labels, outputs)
    assert choice.members == ("a", "b") and choice.ensemble_loss < choice.single_loss
    assert select_members("classification", labels, outputs, max_members=1).members == ("a",)


def test_a_single_good_model_stays_alone():
    labels = np.array([0, 1])
    outputs = {"a": np.array([[0.99, 0.01], [0.01, 0.99]]), "b": np.array([[0.5, 0.5], [0.5, 0.5]])}
    assert select_members("classification", labels, outputs).members == ("a",)


def test_regression_loss_is_mse():
    assert validation_loss("regression", np.array([1.0, 3.0]), np.array([[2.0], [3.0]])) == 0.5


@pytest.mark.parametrize("dict_inputs", [False, True])
def test_the_average_model_averages_and_saves(tmp_path, dict_inputs):
    def member(seed):
        keras.utils.set_random_seed(seed)
        inputs = {"x": keras.Input((3,), name="x")} if dict_inputs else keras.Input((3,), name="x")
        tensor = inputs["x"] if dict_inputs else inputs
        return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="probabilities")(tensor), name="mlp")
    models = {"00": member(1), "01": member(2)}
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    feed = {"x": x} if dict_inputs else x
    ensemble = average_models(models)
    expected = (models["00"].predict(feed, verbose=0) + models["01"].predict(feed, verbose=0)) / 2
    np.testing.assert_allclose(ensemble.predict(feed, verbose=0), expected, atol=1e-6)
    ensemble.save(tmp_path / "e.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "e.keras").predict(feed, verbose=0), expected, atol=1e-6)
