"""Ingest time series for classification: UCR/UEA `.ts` files (one file, or NAME_TRAIN.ts + NAME_TEST.ts)
read with aeon, or a table whose rows are series (columns t0..tN), as streamed splits of float32 arrays
[length, channels].

Unequal lengths are padded with NaN to one length (the longest training series, capped); the models
treat NaN as "no value" inside, so the export takes raw series with NaN padding. Missing or infinite
values inside a series become NaN the same way and are counted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest.dataset import Dataset, SeriesFacts, Split, fingerprint_of
from automl.ingest.splits import check_class_sizes, describe_split, split_indices
from automl.ingest.walk import DataFolder

SERIES_EXTENSIONS = {".ts"}
# Series are cut to this many steps: a CPU budget affords convolutions over a few thousand steps, and
# attention grows with the square of the length (the UCR sets used here are at most 427 long).
MAX_SERIES_LENGTH = 2048
# A table is read as one series per row when at least this many numeric feature columns are named as
# an ordered sequence (t0, t1, …): fewer ordered columns are more likely ordinary features (q1..q4).
SERIES_MIN_COLUMNS = 10
_STEP_NAME = re.compile(r"^(.*?)(\d+)$")
# Values beyond this are infinite in the models' float32 series: read as missing, like ±inf.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def is_series_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in SERIES_EXTENSIONS and not path.name.startswith(".")


def series_split_files(root: Path, tree: DataFolder | None = None) -> dict[str, Path]:
    """The .ts files of a folder by split: NAME_TRAIN.ts (+ NAME_TEST.ts), or a single .ts as "all".
    Links leading out of the folder are not followed (recorded in `tree`)."""
    files = [p for p in (tree or DataFolder(root)).files(root) if is_series_file(p)]
    found = {}
    for path in files:
        split = path.stem.rsplit("_", 1)[-1].lower() if "_" in path.stem else ""
        if split in ("train", "test"):
            found.setdefault(split, path)
    if "train" in found:
        return found
    return {"all": files[0]} if len(files) == 1 else {}


def read_ts(path: Path, labelled: bool = True) -> tuple[list[np.ndarray], np.ndarray]:
    """Series as [length, channels] float arrays (non-finite values, and values beyond float32, as NaN) and
    their labels as strings (empty when labelled is False and the file has none).

    Raises:
        DataError: The file is not a readable, labelled .ts file, or its header disagrees with its data.
    """
    from aeon.datasets import load_from_ts_file  # aeon is slow to import; only series need it

    header = ts_header(path)
    if labelled and "classlabel" in header and header["classlabel"][1][:1] != ["true"]:
        raise DataError(f"'{path}' line {header['classlabel'][0]}: '@classLabel {' '.join(header['classlabel'][1])}' "
                        "says the series have no labels, but training needs them. Write '@classLabel true' and the "
                        "class names, and end each series line with ':label'.")
    try:
        data, labels = load_from_ts_file(str(path))
    except Exception as error:  # aeon raises OSError, ValueError, IndexError…: each is a file it cannot read
        raise DataError(f"Cannot read the series file '{path}': {_aeon_message(error, path)}. "
                        "Expected a UCR/UEA .ts file (a header of @-lines, then @data and one labelled series "
                        "a line).") from None
    if len(data) == 0 or (labelled and len(labels) != len(data)):
        raise DataError(f"Found no labelled series in '{path}'. Expected a UCR/UEA .ts file with @classLabel "
                        "true and one series a line after @data.")
    series = [np.asarray(x, dtype=np.float64).T for x in data]  # aeon: [channels, length]
    # Values float32 cannot hold would be infinite in the model's float32 series: missing, like ±inf.
    series = [np.where(np.isfinite(x) & (np.abs(x) <= FLOAT32_MAX), x, np.nan) for x in series]
    labels = np.asarray(labels).astype(str)
    _check_header(path, header, series, labels)
    return series, labels


def ts_header(path: Path) -> dict[str, tuple[int, list[str]]]:
    """The @-lines before @data: {lower-case field: (line number, its values)}."""
    header = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            for number, line in enumerate(file, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                if not line.startswith("@"):
                    break
                field, *values = line.split()
                if field.lower() == "@data":
                    break
                header[field[1:].lower()] = (number, [v.lower() if field.lower() != "@classlabel" or i == 0 else v
                                                      for i, v in enumerate(values)])
    except OSError as error:
        raise DataError(f"Cannot read the series file '{path}': {error.strerror or error}.") from None
    return header


def _aeon_message(error: Exception, path: Path) -> str:
    """aeon's message without its file-object repr, and the line of an unreadable number when there is one."""
    text = str(error).splitlines()[0] if str(error) else repr(error)
    text = re.sub(r"^Error loading <[^>]*>\.\s*", "", text)
    bad = re.match(r"could not convert string to float: '(.*)'", text)
    if bad:
        line = _line_holding(path, bad.group(1))
        text = f"{bad.group(1)!r} is not a number" + (f" (line {line})" if line else "")
    return text


def _line_holding(path: Path, value: str) -> int | None:
    """The first data line with `value` as one of its cells."""
    seen_data = False
    with open(path, encoding="utf-8", errors="replace") as file:
        for number, line in enumerate(file, 1):
            if not seen_data:
                seen_data = line.strip().lower().startswith("@data")
                continue
            if value in re.split(r"[,:]", line.strip()):
                return number
    return None


def _check_header(path: Path, header: dict, series: list[np.ndarray], labels: np.ndarray) -> None:
    """The header's @dimensions, @classLabel values and @seriesLength (with @equalLength true) must agree with
    the data: a file whose header and data disagree is damaged or mislabelled, not something to guess about."""
    def number(field):
        line, values = header[field]
        try:
            return int(values[0])
        except (IndexError, ValueError):
            raise DataError(f"'{path}' line {line}: '@{field} {' '.join(values)}' is not a whole number.") from None

    channels = sorted({x.shape[1] for x in series})
    if "dimensions" in header and channels != [number("dimensions")]:
        raise DataError(f"'{path}' line {header['dimensions'][0]}: the header says @dimensions "
                        f"{number('dimensions')}, but the series have {', '.join(map(str, channels))} channel(s). "
                        "Fix the header or the data.")
    if channels == [0] or any(len(x) == 0 for x in series):
        raise DataError(f"'{path}' has series with no values"
                        + (" (the header says @timeStamps true, which this reader does not take)"
                           if header.get("timestamps", (0, [""]))[1][:1] == ["true"] else "")
                        + ". Expected one series a line: values separated by ',', channels by ':', then ':label'.")
    if "classlabel" in header and header["classlabel"][1][:1] == ["true"] and len(labels):
        declared = header["classlabel"][1][1:]
        # Compared without case: aeon's own BasicMotions declares 'Standing' and labels its series 'standing'.
        extra = sorted({str(label) for label in labels if str(label).lower() not in {d.lower() for d in declared}})
        if declared and extra:
            raise DataError(f"'{path}' line {header['classlabel'][0]}: @classLabel lists "
                            f"{', '.join(map(repr, declared))}, but the series are also labelled "
                            f"{', '.join(map(repr, extra[:8]))}. Add the labels to the @classLabel line or fix them.")
    equal = header.get("equallength", (0, [""]))[1][:1] == ["true"]
    if equal and "serieslength" in header:
        lengths = sorted({len(x) for x in series})
        if lengths != [number("serieslength")]:
            raise DataError(f"'{path}' line {header['serieslength'][0]}: the header says @seriesLength "
                            f"{number('serieslength')} (with @equalLength true), but the series are "
                            f"{', '.join(map(str, lengths[:6]))} steps long. Fix the header or the data.")


def pad_series(series: list[np.ndarray], length: int) -> np.ndarray:
    """[n, length, channels] float32: shorter series padded with NaN at the end, longer ones cut."""
    out = np.full((len(series), length, series[0].shape[1]), np.nan, dtype=np.float32)
    for i, x in enumerate(series):
        out[i, :min(length, len(x))] = x[:length]
    return out


def series_split(values: np.ndarray, labels: np.ndarray) -> Split:
    """A Split of padded series, hashed by their values so duplicates across splits are found."""
    hashes = tuple(hashlib.sha1(np.ascontiguousarray(v).tobytes()).hexdigest() for v in values)
    return Split(tf.data.Dataset.from_tensor_slices((values, labels)), labels, hashes)


def class_order(values) -> list[str]:
    """Sorted class names; numbers in numeric order ("2" before "10")."""
    names = sorted(set(map(str, values)))
    numbers = pd.to_numeric(pd.Series(names, dtype=object), errors="coerce")
    return [names[i] for i in np.argsort(numbers.to_numpy(), kind="stable")] if numbers.notna().all() else names


def series_facts_of(groups: dict[str, list[np.ndarray]], columns=None) -> SeriesFacts:
    """Channels, lengths and value facts of the series in groups (split or class → [length, channels] arrays)."""
    every = [x for series in groups.values() for x in series]
    channels = {x.shape[1] for x in every}
    if len(channels) > 1:
        raise DataError(f"Series have different channel counts ({', '.join(map(str, sorted(channels)))}). "
                        "Give every series the same channels.")
    lengths = np.array([len(x) for x in every])
    length = int(min(MAX_SERIES_LENGTH, max(len(x) for x in groups.get("train", groups.get("all")))))
    return SeriesFacts(lengths=lengths, channels=channels.pop(), length=length,
                       missing=int(sum(np.isnan(x).sum() for x in every)), truncated=int((lengths > length).sum()),
                       columns=columns)


def _drop_empty(series, labels, name: str, notes: list) -> tuple[list[np.ndarray], np.ndarray]:
    """Series with no value at all cannot be classified; they are dropped and said so."""
    keep = np.array([len(x) > 0 and np.isfinite(x).any() for x in series], dtype=bool)
    if not keep.all():
        notes.append(f"Dropped {int((~keep).sum())} {name} series with no finite value.")
    return [x for x, k in zip(series, keep) if k], labels[keep]


def load_series_files(path: Path, config) -> Dataset:
    """Reads a .ts file, or a folder with NAME_TRAIN.ts (+ NAME_TEST.ts), honouring TRAIN/TEST.

    Raises:
        DataError: Unreadable files, mixed channel counts, a single class, or classes too small.
    """
    tree = DataFolder.of(path, config)
    files = {"all": path} if path.is_file() else series_split_files(path, tree)
    notes: list[str] = []
    read = {name: _drop_empty(*read_ts(file), name, notes) for name, file in files.items()}
    class_names = class_order(np.concatenate([labels for _, labels in read.values()]))
    encode = {name: i for i, name in enumerate(class_names)}
    groups = {name: series for name, (series, _) in read.items()}
    labels = {name: np.array([encode[v] for v in values], dtype=np.int64) for name, (_, values) in read.items()}
    facts = series_facts_of(groups)
    seed, val_f, test_f = config.seed, config.val_fraction, config.test_fraction
    if "all" in labels:
        check_class_sizes(labels["all"], class_names, f"'{path}'", unit="series")
        index = dict(zip(("train", "val", "test"), split_indices(labels["all"], val_f, test_f, seed, stratified=True)))
        source = {name: ("all", idx) for name, idx in index.items()}
        how = f"One file: seeded stratified split (seed {seed})"
    else:
        given_test = "test" in labels  # without a TEST file, the test split is carved from TRAIN too
        # Validation (and test, if carved) needs one series of each class besides training.
        check_class_sizes(labels["train"], class_names, f"'{files['train']}'", unit="series",
                          minimum=2 if given_test else 3)
        train, val, test = split_indices(labels["train"], val_f, test_f, seed, stratified=True, need_test=not given_test)
        source = {"train": ("train", train), "val": ("train", val),
                  "test": ("test", np.arange(len(labels["test"]))) if given_test else ("train", test)}
        how = (f"Honoured {files['test'].name} as the test split; validation is a seeded stratified {val_f:.0%} of "
               f"{files['train'].name}" if given_test else f"Only {files['train'].name}: seeded stratified split")
    splits = {name: series_split(pad_series([groups[group][i] for i in idx], facts.length), labels[group][idx])
              for name, (group, idx) in source.items()}
    if facts.truncated:
        notes.append(f"{facts.truncated} series longer than {facts.length} steps were cut to their first {facts.length}.")
    name = path.stem if path.is_file() else path.resolve().name
    return Dataset(
        name=name, source=f"Series '{path}' ({sum(len(s) for s in groups.values())} series, {facts.channels} "
                          f"channel{'s' if facts.channels > 1 else ''}, {len(class_names)} classes)",
        modality="series", task="classification", class_names=tuple(class_names),
        train=splits["train"], val=splits["val"], test=splits["test"],
        split_note=describe_split({k: v.size for k, v in splits.items()}, how), fingerprint=fingerprint_of(splits),
        series=facts, notes=tuple(notes), skipped=tuple(tree.skipped) if path.is_dir() else ())


def step_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric columns named as one ordered sequence (t0, t1, … or 1, 2, …), the longest such run."""
    runs: dict[str, list[tuple[int, str]]] = {}
    for column in frame.columns:
        match = _STEP_NAME.match(str(column))
        if match and pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
            runs.setdefault(match.group(1), []).append((int(match.group(2)), column))
    best: list[str] = []
    for steps in runs.values():
        numbers = [n for n, _ in steps]
        if numbers == list(range(numbers[0], numbers[0] + len(numbers))) and len(steps) > len(best):
            best = [column for _, column in steps]
    return best


def series_from_table(dataset: Dataset, config) -> Dataset | None:
    """The table as series data when its rows are series (detected or --modality series), else None.

    Raises:
        DataError: --modality series on a table without ordered numeric columns.
    """
    modality = getattr(config, "modality", "auto")
    if modality == "table" or dataset.table is None:
        return None
    columns = step_columns(dataset.table.train)
    if modality == "auto" and len(columns) < SERIES_MIN_COLUMNS:
        return None
    if len(columns) < 2:
        raise DataError(f"--modality series needs numeric columns named as an ordered sequence (t0, t1, t2, …); "
                        f"{dataset.source} has none. Rename the time-step columns or use --modality table.")
    notes = list(dataset.notes)
    if modality == "auto":
        notes.append(f"Read as one series per row: {len(columns)} numeric columns {columns[0]!r}…{columns[-1]!r} "
                     f"form an ordered sequence (at least {SERIES_MIN_COLUMNS}); set --modality table to change.")
    others = [str(c) for c in dataset.table.train.columns if c not in columns]
    if others:
        notes.append(f"Series models read only the time-step columns; not used: {', '.join(map(repr, others[:8]))}.")
    values = {name: getattr(dataset.table, name)[columns].to_numpy(dtype=np.float64) for name in ("train", "val", "test")}
    values = {name: np.where(np.isfinite(v) & (np.abs(v) <= FLOAT32_MAX), v, np.nan).astype(np.float32)[..., None]
              for name, v in values.items()}
    splits = {name: series_split(values[name], split.labels) for name, split in dataset.splits().items()}
    every = np.concatenate(list(values.values()))[..., 0]
    # Trailing empty cells are a shorter series (padding), not missing values.
    lengths = every.shape[1] - np.argmax(np.isfinite(every)[:, ::-1], axis=1)
    inside = np.arange(every.shape[1])[None, :] < lengths[:, None]
    facts = SeriesFacts(lengths=lengths, channels=1, length=len(columns),
                        missing=int((np.isnan(every) & inside).sum()), columns=tuple(map(str, columns)))
    return dataclasses.replace(dataset, modality="series", table=None, series=facts, notes=tuple(notes),
                               source=f"{dataset.source}; one series of {len(columns)} steps a row", **splits,
                               fingerprint=fingerprint_of(splits))
