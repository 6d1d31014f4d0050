"""The named presets (`automl run --pipeline quick`): pyproject.toml installs this folder as `automl.pipelines`."""
