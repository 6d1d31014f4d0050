"""Multi-label targets: cells holding several labels ("a|b", "a;b", "a,b"), or several 0/1 label columns named
with `--target a,b,c`, read as a multi-hot float32 vector per example (one 0/1 entry per label)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from automl.errors import DataError

# Delimiters tried, in order of preference on a tie: "|" is never part of a label in practice, "," often is.
DELIMITERS = ("|", ";", ",")
# A target is read as label sets (without --task multilabel) when at least this share of its cells hold the
# delimiter: a few cells with a stray comma do not make a column multi-label.
MULTILABEL_MIN_SHARE = 0.2
# Labels are short names; cells whose pieces average more words than this are sentences (text), not sets.
MAX_WORDS_PER_LABEL = 4
# The joined column --target a,b,c becomes: its cells are "a|b" (the columns holding 1).
JOIN = "|"


@dataclass(frozen=True)
class LabelSets:
    """How a target's cells become label sets.

    Attributes:
        names: Every label, sorted: the order of the multi-hot vector and of the model's outputs.
        delimiter: What separates labels inside a cell.
        notes: Announcements for the report (the delimiter detected, the labels and their counts).
    """

    names: tuple[str, ...]
    delimiter: str
    notes: tuple[str, ...] = ()

    def encode(self, values) -> np.ndarray:
        """[examples, labels] float32 multi-hot vectors; labels not in `names` are left out."""
        index = {name: i for i, name in enumerate(self.names)}
        vectors = np.zeros((len(values), len(self.names)), dtype=np.float32)
        for row, cell in enumerate(values):
            for label in _pieces(cell, self.delimiter):
                if label in index:
                    vectors[row, index[label]] = 1.0
        return vectors


def _pieces(cell, delimiter: str) -> list[str]:
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return []
    return [piece.strip() for piece in str(cell).split(delimiter) if piece.strip()]


def _share_with(cells: pd.Series, delimiter: str) -> float:
    return float(cells.str.contains(delimiter, regex=False).mean()) if len(cells) else 0.0


def label_sets_of(values: pd.Series, config, where: str, column: str, delimiter: str | None = None) -> LabelSets | None:
    """The target's label sets when it is multi-label (--task multilabel, or the delimiter in at least
    MULTILABEL_MIN_SHARE of its cells), else None (one label or one number per example).

    Args:
        delimiter: The delimiter when it is known (joined label columns), else detected.

    Raises:
        DataError: --task multilabel, but every example has one label, or fewer than 2 labels in all.
    """
    if config.task not in ("auto", "multilabel") and delimiter is None:
        return None
    present = values.dropna()
    if pd.api.types.is_numeric_dtype(present) and delimiter is None:
        if config.task == "multilabel":
            raise DataError(f"--task multilabel needs label sets in {column!r} of {where} (cells such as 'a|b'), but it "
                            "holds numbers. Pass the 0/1 label columns as --target a,b,c, or drop --task multilabel.")
        return None
    cells = present.astype(str)
    shares = {d: _share_with(cells, d) for d in DELIMITERS}
    chosen = delimiter or max(DELIMITERS, key=lambda d: shares[d])  # max keeps the first on a tie
    words = [len(piece.split()) for cell in cells for piece in _pieces(cell, chosen)]
    looks_like_sets = shares[chosen] >= MULTILABEL_MIN_SHARE and words and np.mean(words) <= MAX_WORDS_PER_LABEL
    if config.task == "auto" and delimiter is None and not looks_like_sets:
        return None
    sizes = np.array([len(_pieces(cell, chosen)) for cell in cells])
    if len(sizes) and sizes.max() <= 1:
        raise DataError(f"--task multilabel, but every example in {where} has one label in {column!r} (no cell holds "
                        f"'|', ';' or ','): that is plain classification. Drop --task multilabel (or use --task "
                        "classification).")
    counts = pd.Series([label for cell in cells for label in _pieces(cell, chosen)]).value_counts()
    names = tuple(sorted(counts.index))
    if len(names) < 2:
        raise DataError(f"The multi-label target {column!r} of {where} holds {len(names)} distinct label(s); "
                        "multi-label classification needs at least 2. Check the target column (--target).")
    found = ("labels joined from the columns" if delimiter else
             f"label sets separated by {chosen!r}, the delimiter found in {shares[chosen]:.0%} of its cells")
    listed = ", ".join(f"{name} ({counts[name]})" for name in names[:20]) + (" …" if len(names) > 20 else "")
    note = (f"Multi-label target {column!r}: {found}; {len(names)} labels, {sizes.mean():.2f} per example on "
            f"average: {listed}.")
    return LabelSets(names, chosen, (note,))


def joined_label_columns(frames: dict[str, pd.DataFrame], target: str, where: str) -> dict[str, pd.DataFrame]:
    """--target a,b,c naming several 0/1 label columns: they become one column named `target` whose cells
    join the names of the columns holding 1 ("a|c"), which label_sets_of then reads with delimiter JOIN.

    Raises:
        DataError: A named column is missing, or holds something other than 0/1.
    """
    columns = [name.strip() for name in target.split(",") if name.strip()]
    first = next(iter(frames.values()))
    missing = [c for c in columns if c not in first.columns]
    if missing or len(columns) < 2:
        raise DataError(f"--target {target!r} names {', '.join(map(repr, missing)) or 'fewer than 2 columns'}, "
                        f"{'which ' + where + ' does not have' if missing else 'but several label columns are needed'}. "
                        f"Its columns are: {', '.join(map(str, first.columns))}. Name two or more 0/1 label columns, "
                        "separated by commas.")
    joined = {}
    for split, frame in frames.items():
        for column in columns:
            values = pd.to_numeric(frame[column], errors="coerce") if column in frame.columns else None
            if values is None or not values.dropna().isin([0, 1]).all() or JOIN in column:
                raise DataError(f"The label column {column!r} of the {split} table of {where} must hold 0 or 1 in every "
                                f"row (e.g. {frame[column].dropna().astype(str).head(3).tolist() if column in frame.columns else 'missing'}). "
                                "Recode it as 0/1, or leave it out of --target.")
        flags = frame[columns].apply(pd.to_numeric, errors="coerce")
        cells = [JOIN.join(c for c, flag in zip(columns, row) if flag == 1) for row in flags.to_numpy()]
        missing_row = flags.isna().any(axis=1).to_numpy()
        joined[split] = frame.drop(columns=columns).assign(**{target: pd.Series(
            [None if gone else cell for gone, cell in zip(missing_row, cells)], index=frame.index, dtype=object)})
    return joined
