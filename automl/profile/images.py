"""Profile stage, images: sizes and colour modes, their guardrails, and the model's input shape."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from automl.profile.guardrails import DONE, PASSED, Guardrail


@dataclass(frozen=True)
class ImageInputs:
    height: int
    width: int
    channels: int
    crop: bool = False  # images are centre-cropped to height:width before resizing (else squashed)


def image_facts(dataset):
    info = dataset.images
    height, width, channels = info.input_shape
    modes = Counter(info.modes)
    facts = [("Image sizes (h×w)", f"median {int(np.median(info.heights))}×{int(np.median(info.widths))}, "
                                   f"min {info.heights.min()}×{info.widths.min()}, max {info.heights.max()}×{info.widths.max()}"),
             ("Colour modes", ", ".join(f"{mode} {count}" for mode, count in modes.most_common())),
             ("Model input", f"{height}×{width}×{channels}")]
    mixed = len(set(zip(info.heights.tolist(), info.widths.tolist()))) > 1 or (info.heights[0], info.widths[0]) != (height, width)
    fit = "centre-cropped to a square and resized" if info.crop else "resized"
    checks = [Guardrail("Image size", DONE if mixed else PASSED,
                        f"Images are {fit} to {height}×{width}, here and inside the exported model." if mixed
                        else f"All images are {height}×{width}."),
              Guardrail("Channels", DONE if len(modes) > 1 else PASSED,
                        f"Mixed colour modes ({', '.join(modes)}) are converted to {channels} channel(s)."
                        if len(modes) > 1 else f"All images are {next(iter(modes))}.")]
    return facts, checks, {"image_inputs": ImageInputs(height, width, channels, info.crop)}
