"""Search stage, the pretrained audio candidate: Google's frozen speech_embedding (automl.families.speech_embedding)
averaged over each clip, standardised, and a logistic regression on top, fitted in closed form like the other
simple models and entered on the same leaderboard as the audio CNN's trials, in its exact Keras form (waveforms in,
class probabilities out).

Why a logistic regression rather than a searched head: it needs no epochs, and on FSDD with one speaker held out
(five trained) it already scores 91.6-100 % on each unheard voice (benchmarks/RESULTS.md round 19). C = 0.1 was
the best of 0.1, 1 and 10 on the held-out speakers of benchmarks/fsdd_speech_embedding_probe.py, and adding each
embedding value's maximum over the clip to its average did no better there (96.3 % on average over the five
voices either way), so the head reads the average alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers

from automl.families.speech_embedding import clip_embedding_model
from automl.modalities.batching import batched
from automl.search.table_linear import linear_head_weights

# Inverse regularisation on the standardised embeddings: the best of 0.1, 1 and 10 for voices never heard (above).
SPEECH_C = 0.1
EMBEDDING_BATCH = 64


@dataclass(frozen=True)
class SpeechHead:
    """The fitted model (waveforms → class probabilities), the unfitted scikit-learn model it mirrors, the
    standardised clip embeddings it was fitted on, and the seconds it took."""

    model: keras.Model
    reference: object
    features: np.ndarray
    seconds: float


def fit_speech_head(profile, folder: Path, split) -> SpeechHead:
    """The embedding model with its head fitted on the split (classification: search.simple offers it for no other
    task)."""
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    below = clip_embedding_model(profile, folder)
    features = below.predict(batched(split, profile, EMBEDDING_BATCH, None), verbose=0).astype("float64")
    mean, std = features.mean(axis=0), features.std(axis=0)
    std = np.where(std > 1e-6, std, 1.0)  # an embedding value that never changes: divide by 1, not 0
    standardised = (features - mean) / std
    fitted = LogisticRegression(C=SPEECH_C, max_iter=3000, class_weight=profile.class_weight)
    fitted.fit(standardised, split.labels)
    kernel, bias = linear_head_weights(fitted, "classification", len(profile.class_names))
    x = layers.Normalization(mean=mean.tolist(), variance=(std ** 2).tolist(), dtype="float32",
                             name="standardise")(below.output)
    head = layers.Dense(len(profile.class_names), activation="softmax", dtype="float32", name="probabilities")
    model = keras.Model(below.inputs, head(x), name="speech_embedding_logistic")
    head.set_weights([kernel.astype("float32"), bias.astype("float32")])
    return SpeechHead(model, clone(fitted), standardised, time.perf_counter() - start)
