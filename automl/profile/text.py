"""Profile stage, text part: word-count facts, guardrails, and the vocabularies the text families use.

The vocabularies are counted once here, on the training split, with the same standardisation and
splitting as Keras' TextVectorization defaults, so no trial has to adapt a layer again.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from automl.profile.guardrails import DONE, PASSED, Guardrail

# Keras TextVectorization's default "lower_and_strip_punctuation" pattern (kept identical so that
# the vocabulary counted here is exactly what the layer produces).
KERAS_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
# Words in the sequence models' vocabulary (Google's text-classification guide uses the top 20k).
MAX_WORDS = 20_000
# Unigrams + bigrams kept for the n-gram model, most documents first; the family tunes how many it uses.
MAX_NGRAMS = 100_000
# A token seen in one training document only is noise to a classifier and bloats the vocabulary.
MIN_DOCUMENTS = 2
# Sequence models read the first this-many tokens at most: attention costs grow with the square of
# the length, and a CPU budget cannot afford more (IMDB's p95 is ~600 words).
MAX_SEQUENCE_LENGTH = 400
MIN_SEQUENCE_LENGTH = 8
COUNT_BATCH = 1024


@dataclass(frozen=True)
class TextInputs:
    """What the text families build their vectorizers from (no adapt needed).

    Attributes:
        words: Unigram vocabulary, most training documents first.
        ngrams: Unigram and bigram vocabulary, most training documents first.
        idf_weights: Inverse document frequency of each entry of ngrams (Keras' formula).
        sequence_length: Tokens a sequence model reads (the 95th percentile length, capped).
        median_words, p95_words: Words per training example.
        column: Text column of a table (None for a folder of .txt files).
    """

    words: tuple[str, ...]
    ngrams: tuple[str, ...]
    idf_weights: tuple[float, ...]
    sequence_length: int
    median_words: float
    p95_words: float
    column: str | None = None


def standardize_and_split(texts: tf.Tensor) -> tf.RaggedTensor:
    """Lower-cases, strips punctuation and splits on whitespace, as TextVectorization does by default."""
    return tf.strings.split(tf.strings.regex_replace(tf.strings.lower(texts), KERAS_PUNCTUATION, ""))


def count_documents(data: tf.data.Dataset) -> tuple[Counter, Counter, int, list[int]]:
    """Document frequencies of words and of word bigrams over a stream of (text, label)."""
    words, bigrams, documents, lengths = Counter(), Counter(), 0, []
    for texts in data.map(lambda text, label: text).batch(COUNT_BATCH):
        for tokens in standardize_and_split(texts).to_list():
            documents += 1
            lengths.append(len(tokens))
            words.update(set(tokens))
            bigrams.update({a + b" " + b for a, b in zip(tokens, tokens[1:])})
    return words, bigrams, documents, lengths


def _top(counter: Counter, limit: int) -> list[tuple[bytes, int]]:
    return [(token, n) for token, n in counter.most_common(limit) if n >= MIN_DOCUMENTS]


def text_inputs(dataset) -> TextInputs:
    """Counts the training split's vocabularies and token lengths."""
    words, bigrams, documents, lengths = count_documents(dataset.train.data)
    top_words = _top(words, MAX_NGRAMS)
    ngrams = sorted(top_words + _top(bigrams, MAX_NGRAMS), key=lambda item: -item[1])[:MAX_NGRAMS]
    # Keras' TF-IDF weight: log(1 + documents / (1 + documents holding the token)).
    idf = [math.log(1 + documents / (1 + n)) for _, n in ngrams]
    p95 = float(np.percentile(lengths, 95))
    return TextInputs(
        words=tuple(t.decode("utf-8", "replace") for t, _ in top_words[:MAX_WORDS]),
        ngrams=tuple(t.decode("utf-8", "replace") for t, _ in ngrams), idf_weights=tuple(idf),
        sequence_length=int(min(MAX_SEQUENCE_LENGTH, max(MIN_SEQUENCE_LENGTH, math.ceil(p95)))),
        median_words=float(np.median(lengths)), p95_words=p95, column=dataset.text.column)


def text_facts(dataset):
    """Facts and guardrails for text, and the TextInputs the families build from."""
    inputs = text_inputs(dataset)
    facts_ = dataset.text
    every = facts_.words
    facts = [("Words per text", f"median {np.median(every):.0f}, 95th percentile {np.percentile(every, 95):.0f}, "
                                f"max {every.max()} (all splits)"),
             ("Vocabulary", f"{len(inputs.words):,} words (in 2+ training texts; capped at {MAX_WORDS:,}) and "
                            f"{len(inputs.ngrams):,} word n-grams (1-2) for the n-gram model")]
    checks = [Guardrail("Text encoding", DONE if facts_.undecodable else PASSED,
                        f"{facts_.undecodable} texts held bytes that are not UTF-8; they were replaced by U+FFFD."
                        if facts_.undecodable else "Every text is valid UTF-8.")]
    longer = float(np.mean(every > inputs.sequence_length))
    checks.append(Guardrail("Text length", DONE if longer else PASSED,
                            f"Sequence models read the first {inputs.sequence_length} tokens; {longer:.1%} of texts "
                            "are longer (the n-gram model reads every token)." if longer else
                            f"Every text fits the {inputs.sequence_length} tokens sequence models read."))
    return facts, checks, {"text_inputs": inputs}
