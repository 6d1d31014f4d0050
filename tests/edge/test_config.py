import pytest

from automl.config import RunConfig, load_config, parse_duration
from automl.errors import ConfigError


def test_defaults_then_preset_then_overrides(tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text('max_trials = 4\nepochs = 7\ntime_budget = "2m"\n')
    config = load_config(preset, data="d", epochs=9)
    assert (config.max_trials, config.epochs, config.time_budget, config.seed) == (4, 9, 120.0, 0)


def test_named_presets_load():
    for name in ("quick", "default", "thorough"):
        assert isinstance(load_config(name, data="d"), RunConfig)


def test_unknown_preset_key_suggests_the_nearest(tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text("max_trial = 3\n")
    with pytest.raises(ConfigError, match="Unknown key 'max_trial'.*Did you mean 'max_trials'"):
        load_config(preset, data="d")


def test_unknown_preset_name_lists_the_presets():
    with pytest.raises(ConfigError, match="quick"):
        load_config("nope", data="d")


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("10m", 600), ("1.5h", 5400), ("none", None)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_bad_duration_says_how_to_write_one():
    with pytest.raises(ConfigError, match="10m"):
        parse_duration("ten minutes")


@pytest.mark.parametrize("overrides, message", [
    ({"max_trials": 0}, "max-trials"), ({"epochs": 0}, "epochs"), ({"tuner": "grid"}, "tuner"),
    ({"time_budget": "2s"}, "too small"), ({"val_fraction": 0.7}, "val_fraction"),
])
def test_invalid_values_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(data="d", **overrides)
