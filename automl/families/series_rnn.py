"""RNN family for series: stacked LSTM or GRU layers, optionally bidirectional, over the normalised
values; padding steps are masked, so shorter series end where their values end."""

from __future__ import annotations

import keras
from keras import layers

from automl.families.common import compile_model, output_head
from automl.families.series_common import series_input


def build_model(hp, profile) -> keras.Model:
    """Normalised series → 1-2 (bidirectional) LSTM/GRU layers, last state → dropout → head."""
    inputs, x, mask = series_input(profile)
    cell = {"gru": layers.GRU, "lstm": layers.LSTM}[hp.Choice("cell", ["lstm", "gru"], default="lstm")]
    units = hp.Choice("units", [64, 32, 128], default=64)
    bidirectional = hp.Boolean("bidirectional", default=True)
    count = hp.Int("layers", 1, 2, default=1)
    for i in range(count):
        recurrent = cell(units, return_sequences=i < count - 1)
        x = (layers.Bidirectional(recurrent) if bidirectional else recurrent)(x, mask=mask)
    x = layers.Dropout(hp.Choice("dropout", [0.2, 0.0, 0.4], default=0.2))(x)
    return compile_model(keras.Model(inputs, output_head(x, profile), name="series_rnn"), hp, profile)
