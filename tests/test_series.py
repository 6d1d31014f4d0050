"""Series: ingest (.ts files, the UCR TRAIN/TEST layout, wide tables), profile facts, selection, export,
predict, and a run end to end.

The generated series are separable by shape (a rising ramp vs a sine wave, with noise), so a model that
learns anything gets most of them right.
"""

from __future__ import annotations

import numpy as np


def make_series(label: str, length: int, channels: int, rng) -> np.ndarray:
    """[length, channels]: "up" is a noisy ramp, "wave" a noisy sine; each channel shifted a little."""
    steps = np.linspace(0, 1, length)
    base = steps * 2 - 1 if label == "up" else np.sin(steps * 4 * np.pi)
    return np.stack([base + 0.1 * c + rng.normal(0, 0.1, length) for c in range(channels)], axis=1)


def write_ts(path, per_class: int = 12, channels: int = 1, lengths=(24,), seed: int = 0, missing: bool = False):
    """A UCR/UEA .ts file (written by hand, as the format's spec describes): one labelled series a line,
    channels separated by ':', '?' for a missing value."""
    rng = np.random.default_rng(seed)
    equal = len(set(lengths)) == 1
    lines = ["@problemName generated", "@timeStamps false", f"@missing {str(missing).lower()}",
             f"@univariate {str(channels == 1).lower()}"] + ([] if channels == 1 else [f"@dimensions {channels}"]) + [
             f"@equalLength {str(equal).lower()}"] + ([f"@seriesLength {lengths[0]}"] if equal else []) + [
             "@classLabel true up wave", "@data"]
    for i in range(per_class * 2):
        label = ("up", "wave")[i % 2]
        values = make_series(label, lengths[i % len(lengths)], channels, rng)
        cells = [[f"{v:.4f}" for v in values[:, c]] for c in range(channels)]
        if missing and i == 0:
            cells[0][1] = "?"
        lines.append(":".join(",".join(channel) for channel in cells) + f":{label}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
