"""Diagnose stage, gallery: the test examples the model got wrong most confidently, shown as the user
would recognise them — a downscaled image thumbnail, a table row, or a text snippet."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from automl.modalities import modality_of

# A dozen examples fill two rows of the page; more are scrolled past rather than studied.
GALLERY_SIZE = 12


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


def _features_at(split, indices: set[int]) -> dict[int, object]:
    """The raw features of the given examples of a split, streamed once up to the last one wanted."""
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
    names, modality = dataset.class_names, modality_of(dataset)
    raw = _features_at(dataset.test, set(indices)) if modality.streams_gallery_features else {}
    items = []
    for index in indices:
        predicted = int(np.argmax(probabilities[index]))
        items.append(GalleryItem(index=index, true_class=str(names[int(labels[index])]),
                                 predicted_class=str(names[predicted]), confidence=float(probabilities[index][predicted]),
                                 **modality.gallery_view(dataset, index, raw.get(index))))
    return tuple(items)


def label_issue_items(dataset, check, count: int) -> tuple[GalleryItem, ...]:
    """The training examples most likely mislabelled (search.label_issues), rendered like the gallery: the
    given label as the true class, the out-of-fold model's class as the predicted one, and the out-of-fold
    probability of the given label as the confidence."""
    issues = check.issues[:count]
    names, modality = dataset.class_names, modality_of(dataset)
    raw = _features_at(dataset.train, {i.index for i in issues}) if modality.streams_gallery_features else {}
    return tuple(GalleryItem(index=i.index, true_class=str(names[i.given]), predicted_class=str(names[i.suggested]),
                             confidence=i.given_probability,
                             **modality.gallery_view(dataset, i.index, raw.get(i.index), split="train"))
                 for i in issues)
