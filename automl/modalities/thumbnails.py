"""How examples look in the report: downscaled image thumbnails, series sparklines and text snippets,
as PNG data URIs or short strings (the report stays one self-contained file)."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image, ImageDraw

# Thumbnails are at most this many pixels a side, so a 100-class run's gallery stays a few hundred KB.
THUMBNAIL_SIDE = 96
# Text snippets are cut here; the full text is in the user's own file.
SNIPPET_CHARS = 280


def _png_uri(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def thumbnail(pixels) -> str:
    """A PNG data URI of an image array (h, w, c) of 0-255 values, downscaled to THUMBNAIL_SIDE."""
    array = np.clip(np.asarray(pixels, dtype=np.float32), 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    image = Image.fromarray(array)
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    return _png_uri(image)


def series_thumbnail(values, height: int = THUMBNAIL_SIDE // 2) -> str:
    """A PNG data URI of a series [length, channels] drawn as one line per channel (NaN steps left out)."""
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    finite = values[np.isfinite(values)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    image = Image.new("RGB", (THUMBNAIL_SIDE, height), "white")
    draw = ImageDraw.Draw(image)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    for channel in range(values.shape[1]):
        points = [(step * (THUMBNAIL_SIDE - 1) / max(len(values) - 1, 1),
                   (height - 1) * (1 - (value - low) / max(high - low, 1e-12)))
                  for step, value in enumerate(values[:, channel]) if np.isfinite(value)]
        if len(points) > 1:
            draw.line(points, fill=colours[channel % len(colours)], width=1)
    return _png_uri(image)


def snippet(value) -> str:
    """A string (bytes decoded as UTF-8) cut to SNIPPET_CHARS."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    value = str(value)
    return value if len(value) <= SNIPPET_CHARS else value[: SNIPPET_CHARS - 1] + "…"
