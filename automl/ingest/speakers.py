"""Ingest, audio: who recorded each clip, read from file names such as FSDD's DIGIT_SPEAKER_N.wav, or from
--group-file; the splits then keep each speaker's clips on one side (ingest.splits.split_by_group)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np

from automl.ingest.groups import NOT_IN_FILE, groups_for_files
from automl.ingest.splits import Groups

# A file name's parts: its stem split on these.
SEPARATORS = re.compile(r"[_\-]")
# Speakers a name part may have: fewer cannot be split into train, validation and test by whole speakers;
# more than a few hundred distinct values look like recording or take IDs rather than people.
MIN_SPEAKERS, MAX_SPEAKERS = 3, 500
# Share of the files whose name has the usual number of parts: names from one recording scheme, not a mixture.
SAME_SHAPE_SHARE = 0.95
# Share of the speakers heard in at least two classes: a part that changes with the class (a file ID, a
# class's own prefix) is not a speaker.
ACROSS_CLASSES_SHARE = 0.8
# Clips a speaker has on average, at least: a value on one or two files each is an ID, not a person.
MIN_CLIPS_PER_SPEAKER = 4
ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}


def _is_counter(values: list[str]) -> bool:
    """A part whose values are all whole numbers counting up (0, 1, 2, … as FSDD's take numbers) numbers the
    takes of one speaker, not speakers; numbered speakers are rarely counted from zero without gaps."""
    if not all(v.isdigit() for v in values):
        return False
    numbers = sorted({int(v) for v in values})
    return numbers[0] <= 1 and numbers[-1] - numbers[0] + 1 == len(numbers)


def _could_be_speakers(values: list[str], labels: np.ndarray, class_names) -> bool:
    """The conservative test of one name part (see speakers_in_names)."""
    if any(v == class_names[label] for v, label in zip(values, labels)):  # the part names the class
        return False
    distinct = set(values)
    if not MIN_SPEAKERS <= len(distinct) <= MAX_SPEAKERS or len(values) < MIN_CLIPS_PER_SPEAKER * len(distinct):
        return False
    classes: dict[str, set] = {}
    for value, label in zip(values, labels):
        classes.setdefault(value, set()).add(label)
    across = sum(len(c) >= 2 for c in classes.values()) / len(classes)
    return across >= ACROSS_CLASSES_SHARE and not _is_counter(values)


def speakers_in_names(paths: list[Path], labels: np.ndarray, class_names) -> Groups | None:
    """The speaker of each clip, when the file names name one; else None.

    The rule, kept conservative because a wrong guess would split validation along something else: every
    name (at least SAME_SHAPE_SHARE of them) splits on '_' or '-' into the same number of parts, and exactly
    one part position has values that (a) never equal the clip's class, (b) number MIN_SPEAKERS to
    MAX_SPEAKERS distinct values with MIN_CLIPS_PER_SPEAKER clips each on average, (c) mostly recur in
    several classes (a person says several words), and (d) are not a take counter (0, 1, 2, …). In FSDD's
    7_george_12.wav the first part is the class, the third a take counter, and the second is the speaker.
    """
    parts = [SEPARATORS.split(Path(p).stem) for p in paths]
    shape, count = Counter(map(len, parts)).most_common(1)[0]
    if shape < 2 or count < SAME_SHAPE_SHARE * len(parts):
        return None
    usual = [i for i, p in enumerate(parts) if len(p) == shape]
    found = [position for position in range(shape)
             if _could_be_speakers([parts[i][position] for i in usual], labels[usual], class_names)]
    if len(found) != 1:  # none, or ambiguous
        return None
    position = found[0]
    values = np.array([p[position] if len(p) == shape else Path(paths[i]).stem for i, p in enumerate(parts)])
    example = Path(paths[usual[0]]).name
    return Groups(values, "speakers", f"found in the file names as their {ORDINALS.get(position + 1, f'{position + 1}th')}"
                                      f" part, e.g. {str(values[usual[0]])!r} in {example!r}")


def speakers_of(paths: list[Path], labels: np.ndarray, class_names, root: Path, config) -> Groups | None:
    """The clips' speakers (or other groups) from --group-file/--group-column when given, else from the file
    names; None when neither names them."""
    given = groups_for_files(paths, root, config)
    if given is None:
        return speakers_in_names(paths, labels, class_names)
    values = np.array(given.test_values)
    # Files the group file leaves out each count as a group of their own: kept whole, mixed with nothing.
    values = np.where(values == NOT_IN_FILE, [f"{NOT_IN_FILE} {p}" for p in paths], values)
    return Groups(values, f"{given.column!r} groups", f"from --group-file's column {given.column!r}")
