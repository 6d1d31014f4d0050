"""Families: each builds a compiled Keras model from Keras Tuner hyperparameters and a Profile.

FAMILIES is the one extension point; every entry must pass tests/test_families.py (the contract).
"""

from automl.families import cnn, mlp, ngram, rnn, series_cnn, series_rnn, series_transformer, transfer, transformer

FAMILIES = {
    "cnn": cnn.build_model,
    "transfer": transfer.build_model,
    "mlp": mlp.build_model,
    "ngram": ngram.build_model,
    "rnn": rnn.build_model,
    "transformer": transformer.build_model,
    "series_cnn": series_cnn.build_model,
    "series_rnn": series_rnn.build_model,
    "series_transformer": series_transformer.build_model,
}
# Which data each family can take, for the selector and for --family checks.
MODALITIES = {"cnn": "image", "transfer": "image", "mlp": "table",
              "ngram": "text", "rnn": "text", "transformer": "text",
              "series_cnn": "series", "series_rnn": "series", "series_transformer": "series"}
