"""Which head on Google's speech_embedding carries to voices never heard: FSDD, one speaker held out.

A probe, not a run of automl: every FSDD clip (8 kHz, padded or cut to 0.8 s as the runs do) goes once through
the frozen embedding as automl rebuilds it (automl.families.speech_embedding, from the openwakeword 0.4.0 wheel's
ONNX files), then a logistic regression on the standardised embeddings, averaged over the clip (or the average
and the maximum), is fitted on five speakers and scored on the sixth, for C in 0.1, 1 and 10; the last column
trains on FSDD's official train split and scores its test split. The scores come from the held-out speaker: they
chose SPEECH_C (automl.search.speech_head), so they are not a test of it; benchmarks/fsdd_speakers.py is.

    pip install --no-deps openwakeword==0.4.0
    python benchmarks/prepare_data.py
    python benchmarks/fsdd_speech_embedding_probe.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import run_benchmarks as bench  # same folder: the data directory
from fsdd_front_end_probe import LENGTH, SAMPLE_RATE, load  # same folder: FSDD's clips as the runs cut them
from automl.families.speech_embedding import clip_embedding_model, find_speech_embedding

SPEAKERS = ("george", "jackson", "lucas", "nicolas", "yweweler")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=bench.DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    folder = find_speech_embedding(None)
    if folder is None:
        print("No speech embedding: pip install --no-deps openwakeword==0.4.0", file=sys.stderr)
        return 1
    clips, digits, speakers, official_test = load(args.data_dir / "fsdd")
    profile = SimpleNamespace(audio_inputs=SimpleNamespace(sample_rate=SAMPLE_RATE, length=LENGTH))
    model = clip_embedding_model(profile, folder)
    start = time.perf_counter()
    average = model.predict(clips, batch_size=64, verbose=0)
    print(f"Embedded {len(clips)} clips in {time.perf_counter() - start:.1f}s.")
    windows = keras_windows(model, clips)
    pooled = {"average": average, "average + maximum": np.concatenate([average, windows.max(axis=1)], axis=1)}
    print("| pooling | C | " + " | ".join(SPEAKERS) + " | official split |")
    print("| --- | --- | " + " | ".join("---" for _ in SPEAKERS) + " | --- |")
    for pooling, features in pooled.items():
        for c in (0.1, 1.0, 10.0):
            scores = [_score(features, digits, speakers != held, speakers == held, c) for held in SPEAKERS]
            scores.append(_score(features, digits, ~official_test, official_test, c))
            print(f"| {pooling} | {c:g} | " + " | ".join(f"{s:.1%}" for s in scores) + " |", flush=True)
    return 0


def keras_windows(model, clips) -> np.ndarray:
    """The embeddings of every window [n, windows, 96], read below the model's average."""
    import keras

    below = keras.Model(model.inputs, model.get_layer("speech_embeddings").output)
    return below.predict(clips, batch_size=64, verbose=0)


def _score(features, labels, train, test, c: float) -> float:
    fitted = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))
    return fitted.fit(features[train], labels[train]).score(features[test], labels[test])


if __name__ == "__main__":
    raise SystemExit(main())
