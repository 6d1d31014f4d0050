"""Report stage, gallery: the test examples the model got wrong most confidently, shown as the user
would recognise them — a downscaled image thumbnail, a table row, or a text snippet."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

# A dozen examples fill two rows of the page; more are scrolled past rather than studied.
GALLERY_SIZE = 12
# Thumbnails are at most this many pixels a side, so a 100-class run's gallery stays a few hundred KB.
THUMBNAIL_SIDE = 96
# Text snippets are cut here; the full text is in the user's own file.
SNIPPET_CHARS = 280
# Table rows show at most this many columns (the first ones, in the file's order).
MAX_ROW_FIELDS = 12


@dataclass(frozen=True)
class GalleryItem:
    """One misclassified test example.

    Attributes:
        index: Position in the test split.
        image: A PNG `data:` URI (images), else None.
        fields: (column, value) pairs (tables), else empty.
        text: A snippet (text), else None.
    """

    index: int
    true_class: str
    predicted_class: str
    confidence: float
    image: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    text: str | None = None


def worst_mistakes(labels, probabilities, count: int = GALLERY_SIZE) -> list[int]:
    """Indices of wrongly predicted examples, the most confident mistakes first."""
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels).reshape(-1)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    return [int(i) for i in wrong[np.argsort(-confidence, kind="stable")][:count]]


def thumbnail(pixels) -> str:
    """A PNG data URI of an image array (h, w, c) of 0-255 values, downscaled to THUMBNAIL_SIDE."""
    array = np.clip(np.asarray(pixels, dtype=np.float32), 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    image = Image.fromarray(array)
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


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
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    value = str(value)
    return value if len(value) <= SNIPPET_CHARS else value[: SNIPPET_CHARS - 1] + "…"


def _features_at(split, indices: set[int]) -> dict[int, object]:
    """The raw features of the given test examples, streamed once up to the last one wanted."""
    found = {}
    if not indices:
        return found
    for position, (features, _) in enumerate(split.data.take(max(indices) + 1).as_numpy_iterator()):
        if position in indices:
            found[position] = features
    return found


def gallery_items(dataset, labels, probabilities, count: int = GALLERY_SIZE) -> tuple[GalleryItem, ...]:
    """The worst mistakes on the test split, rendered for the dataset's modality.

    Args:
        dataset: The ingested Dataset (its test split and, for tables, the raw test frame).
        labels: True test class ids.
        probabilities: Test class probabilities of the final model.
    """
    indices = worst_mistakes(labels, probabilities, count)
    names = dataset.class_names
    raw = {} if dataset.modality == "table" else _features_at(dataset.test, set(indices))
    items = []
    for index in indices:
        predicted = int(np.argmax(probabilities[index]))
        common = dict(index=index, true_class=str(names[int(labels[index])]), predicted_class=str(names[predicted]),
                      confidence=float(probabilities[index][predicted]))
        if dataset.modality == "image":
            items.append(GalleryItem(**common, image=thumbnail(raw[index])))
        elif dataset.modality == "series":
            items.append(GalleryItem(**common, image=series_thumbnail(raw[index])))
        elif dataset.modality == "table":
            row = dataset.table.test.iloc[index]
            fields = tuple((str(column), _text(value)) for column, value in list(row.items())[:MAX_ROW_FIELDS])
            items.append(GalleryItem(**common, fields=fields))
        else:  # text, or any future modality whose examples read as strings
            items.append(GalleryItem(**common, text=_text(raw[index])))
    return tuple(items)
