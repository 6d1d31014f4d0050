"""The frozen part of a backbone run once: its top layers rebuilt as a model of their own, so fine-tuning them
trains on cached activations instead of running the whole backbone every epoch.

MobileNetV2 at 96 px spends about 85 % of a forward pass below its last 30 layers (the top three blocks run
on a 3×3 grid), so an epoch of fine-tuning on cached activations costs a fraction of one through the whole
network. The top is rebuilt from the backbone's own layers (shared weights: training it trains the backbone
in the end-to-end model) by following the saved graph's inbound layers; a backbone whose top cannot be cut
there (more than one tensor entering it) or whose rebuilt top does not reproduce its output is not cached.
"""

from __future__ import annotations

import keras
import numpy as np

# The cache must fit in memory beside everything else: past this many bytes of activations, fine-tuning runs
# the whole backbone as before.
MAX_CACHE_BYTES = 2 * 1024**3


def _inbound_names(layer_config: dict) -> list[list[str]]:
    """For each call of the layer (its inbound nodes), the names of the layers whose outputs it takes."""
    def names(value):
        if isinstance(value, dict):
            history = value.get("config", {}).get("keras_history")
            if history:
                return [history[0]]
            return [n for v in value.values() for n in names(v)]
        if isinstance(value, (list, tuple)):
            return [n for v in value for n in names(v)]
        return []
    return [names(node.get("args", [])) for node in layer_config.get("inbound_nodes", [])]


def split_top(backbone: keras.Model, top_layers: int):
    """(the layer whose output enters the top `top_layers` layers, the top as a model taking that output), or
    None when the top cannot be cut off by one tensor."""
    configs = {c["name"]: c for c in backbone.get_config()["layers"]}
    top = backbone.layers[-top_layers:]
    inside = {layer.name for layer in top}
    entering = set()
    for layer in top:
        nodes = _inbound_names(configs[layer.name])
        if len(nodes) != 1:
            return None
        entering |= {name for name in nodes[0] if name not in inside}
    if len(entering) != 1:
        return None
    cut = backbone.get_layer(entering.pop())
    inputs = keras.Input(shape=cut.output.shape[1:], name="activations")
    tensors = {cut.name: inputs}
    for layer in top:
        config = configs[layer.name]
        sources = _inbound_names(config)[0]
        args = config["inbound_nodes"][0]["args"]
        several = len(args) == 1 and isinstance(args[0], list)  # e.g. Add takes a list of tensors
        tensors[layer.name] = layer([tensors[n] for n in sources] if several else tensors[sources[0]])
    return cut, keras.Model(inputs, tensors[top[-1].name], name="backbone_top")


def checked_split(backbone: keras.Model, top_layers: int, sample: np.ndarray):
    """split_top, kept only if bottom then top reproduce the backbone's output on sample (preprocessed pixels)."""
    split = split_top(backbone, top_layers)
    if split is None:
        return None
    cut, top = split
    bottom = keras.Model(backbone.inputs, cut.output, name="backbone_bottom")
    whole = np.asarray(backbone(sample, training=False))
    rebuilt = np.asarray(top(bottom(sample, training=False), training=False))
    if not np.allclose(whole, rebuilt, atol=1e-4 * max(1.0, float(np.abs(whole).max()))):
        return None
    return bottom, top


def fits_in_memory(bottom: keras.Model, images: int) -> bool:
    return 4 * images * int(np.prod(bottom.output.shape[1:])) <= MAX_CACHE_BYTES
