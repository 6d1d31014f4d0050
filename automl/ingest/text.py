"""Ingest text: a folder of class sub-folders of .txt files, or a table's text column, as streamed
splits of raw strings (the models vectorize inside, so they take raw text).

Text is UTF-8 unless a byte-order mark says UTF-16 or UTF-32; bytes that do not decode are replaced by
U+FFFD, the same way every time, and counted; empty texts are skipped and listed.
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from automl.errors import DataError
from automl.ingest.dataset import Dataset, SkippedFile, Split, TextFacts, fingerprint_of
from automl.ingest.fragments import revalidate_on_whole_texts
from automl.ingest.images import SPLIT_FOLDERS, is_image_file
from automl.ingest.splits import assign_folder_splits, check_class_sizes, describe_split
from automl.ingest.walk import DataFolder, outside_hint

TEXT_EXTENSIONS = {".txt"}
# Folders of unlabelled examples (IMDB's train/unsup) are not a class.
UNLABELLED_FOLDERS = {"unsup", "unlabeled", "unlabelled"}
# A string column is text rather than a category when its values average at least this many words
# (SST-2 sentences average ~9, category values 1-3) and most of its values are distinct.
TEXT_MIN_MEAN_WORDS = 5.0
TEXT_MIN_DISTINCT_FRACTION = 0.5
REPLACEMENT = "\ufffd"


def is_text_file(path: Path) -> bool:
    return path.suffix.lower() in TEXT_EXTENSIONS and not path.name.startswith(".")


def looks_like_text_folder(root: Path, follow_symlinks: bool = False) -> bool:
    """Told apart from an image folder by extensions: more .txt files than image files."""
    files = DataFolder(root, follow_symlinks).walk()
    return sum(map(is_text_file, files)) > sum(map(is_image_file, files))


# Byte-order marks, longest first: UTF-32 LE's (FF FE 00 00) begins with UTF-16 LE's (FF FE).
BYTE_ORDER_MARKS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def text_encoding(data: bytes) -> tuple[str, int]:
    """(codec, length of its byte-order mark): the mark's encoding when there is one; UTF-16/32 without a mark
    when NUL bytes fill all but one byte of each character (ASCII written as UTF-16, e.g. by Windows tools);
    else UTF-8."""
    for mark, codec in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return codec, len(mark)
    head = data[:4096]
    if len(data) >= 4 and b"\0" in head:
        for codec, width, wide in (("utf-32-le", 4, 0), ("utf-32-be", 4, 3), ("utf-16-le", 2, 0), ("utf-16-be", 2, 1)):
            if len(data) % width:
                continue
            nul = [head[i::width].count(0) / len(head[i::width]) for i in range(width)]
            if nul[wide] <= 0.1 and all(share >= 0.9 for i, share in enumerate(nul) if i != wide):
                return codec, 0
    return "utf-8", 0


def decode_text(data: bytes) -> tuple[str, bool]:
    """UTF-8, or UTF-16/32 when a byte-order mark (or the NUL pattern of UTF-16) says so; the mark is dropped
    and undecodable bytes become U+FFFD. Returns (text, had undecodable bytes)."""
    codec, mark = text_encoding(data)
    body = data[mark:]
    try:
        return body.decode(codec), False
    except UnicodeDecodeError:
        return body.decode(codec, errors="replace"), True


def text_split(texts, labels: np.ndarray) -> Split:
    """A Split of raw strings, hashed by their text so duplicates across splits are found."""
    hashes = tuple(hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest() for text in texts)
    data = tf.data.Dataset.from_tensor_slices((tf.constant(list(texts), tf.string), labels))
    return Split(data, labels, hashes)


def _folders(tree: DataFolder, root: Path) -> list[Path]:
    return [p for p in tree.subfolders(root) if not p.name.startswith(".")]


def _scan(tree: DataFolder, root: Path, skipped: list, ignored: list) -> dict[str, list[Path]]:
    """Maps class name to its .txt files; unlabelled folders and loose files are ignored (noted)."""
    classes = {}
    ignored += [p.name for p in tree.files(root) if not p.name.startswith(".")]
    for folder in _folders(tree, root):
        if folder.name.lower() in UNLABELLED_FOLDERS:
            ignored.append(f"{folder.name}/")
            continue
        files = []
        for path in (p for p in tree.walk(folder) if not p.name.startswith(".")):
            if is_text_file(path):
                files.append(path)
            else:
                skipped.append(SkippedFile(str(path), f"not a .txt file ({path.suffix or 'no extension'})"))
        classes[folder.name] = files
    return classes


def _read(path: Path):
    try:
        return decode_text(path.read_bytes())
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"


def load_text_folder(root: Path, config) -> Dataset:
    """Reads class sub-folders of .txt files, honouring train/val/test folders when present.

    Raises:
        DataError: No text files, a single class, or classes too small.
    """
    skipped, ignored = [], []
    tree = DataFolder.of(root, config)
    layout = {SPLIT_FOLDERS[f.name.lower()]: f for f in reversed(_folders(tree, root)) if f.name.lower() in SPLIT_FOLDERS}
    layout = layout if "train" in layout else {}
    groups = ({name: _scan(tree, folder, skipped, ignored) for name, folder in layout.items()}
              or {"all": _scan(tree, root, skipped, ignored)})
    skipped = tree.skipped + skipped  # links not followed first, then files that are not text
    class_names = sorted({name for classes in groups.values() for name in classes})
    files = [(group, path, class_names.index(name))
             for group, classes in groups.items() for name, paths in classes.items() for path in paths]
    if not files:
        raise DataError(f"No .txt files found in class sub-folders of '{root}'. Expected {root}/pos/1.txt, "
                        f"{root}/neg/2.txt (optionally under train/ and test/)." + outside_hint(skipped))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(_read, [path for _, path, _ in files]))
    good = []
    for (group, path, label), result in zip(files, results):
        if isinstance(result, str):
            skipped.append(SkippedFile(str(path), result))
        elif not result[0].strip():
            skipped.append(SkippedFile(str(path), "empty text file"))
        else:
            good.append((group, label, *result))
    labels = np.array([label for _, label, _, _ in good], dtype=np.int64)
    try:
        check_class_sizes(labels, class_names, f"'{root}'", unit="non-empty text files")
    except DataError as error:
        raise DataError(str(error) + outside_hint(skipped)) from None
    texts = [text for _, _, text, _ in good]
    index_of, how = assign_folder_splits(np.array([group for group, _, _, _ in good]), labels, config, "text files")
    splits = {name: text_split([texts[i] for i in idx], labels[idx]) for name, idx in index_of.items()}
    notes = [f"Ignored what is not a class folder of text: {', '.join(sorted(set(ignored))[:8])}."] if ignored else []
    return Dataset(
        name=root.resolve().name, source=f"Text folder '{root}' ({len(good)} texts, {len(class_names)} classes)",
        modality="text", task="classification", class_names=tuple(class_names),
        train=splits["train"], val=splits["val"], test=splits["test"],
        split_note=describe_split({k: v.size for k, v in splits.items()}, how), fingerprint=fingerprint_of(splits),
        text=TextFacts(np.array([len(t.split()) for t in texts]), sum(bad for _, _, _, bad in good)),
        skipped=tuple(skipped), notes=tuple(notes))


def _text_column(frame: pd.DataFrame, config) -> tuple[str | None, str | None]:
    """The text column (given, or detected among string columns) and how it was found."""
    if config.text_column is not None:
        if config.text_column not in frame.columns:
            raise DataError(f"No column {config.text_column!r} for --text-column. Feature columns are: "
                            f"{', '.join(map(str, frame.columns))}.")
        return config.text_column, None
    best, best_words = None, TEXT_MIN_MEAN_WORDS
    for column in frame.columns:
        values = frame[column].dropna()
        if len(values) == 0 or not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        words = float(values.astype(str).str.split().str.len().mean())
        if words >= best_words and values.nunique() >= TEXT_MIN_DISTINCT_FRACTION * len(values):
            best, best_words = column, words
    if best is None:
        return None, None
    return best, (f"Text column detected: {best!r} (strings of {best_words:.1f} words on average, mostly distinct); "
                  "set --text-column to change.")


def text_from_table(dataset: Dataset, config) -> Dataset | None:
    """The table as a text dataset when it has a text column (given or detected), else None."""
    column, announced = _text_column(dataset.table.train, config)
    if column is None:
        return None
    notes = list(dataset.notes) + ([announced] if announced else [])
    others = [str(c) for c in dataset.table.train.columns if c != column]
    if others:
        notes.append(f"Text models read only {column!r}; other columns are not used: {', '.join(map(repr, others[:8]))}.")
    splits, undecodable = {}, 0
    for name, split in dataset.splits().items():
        texts = getattr(dataset.table, name)[column].astype("string").fillna("").to_numpy(dtype=object).astype(str)
        keep = np.char.strip(texts.astype(str)) != ""
        if not keep.all():
            notes.append(f"Dropped {int((~keep).sum())} {name} rows with an empty {column!r}.")
        texts = list(texts[keep])
        undecodable += sum(REPLACEMENT in t for t in texts)
        splits[name] = (texts, split.labels[keep])
    if not dataset.validation_given and np.ndim(dataset.train.labels) == 1:  # stratifies on one label a text
        redone = revalidate_on_whole_texts(*splits["train"], *splits["val"], config.val_fraction, config.seed)
        if redone is not None:
            splits["train"], splits["val"], note = redone
            notes.append(note)
    words = [len(t.split()) for texts, _ in splits.values() for t in texts]
    splits = {name: text_split(texts, labels) for name, (texts, labels) in splits.items()}
    return dataclasses.replace(
        dataset, modality="text", source=f"{dataset.source}; text column {column!r}", table=None, **splits,
        split_note=describe_split({k: v.size for k, v in splits.items()}, dataset.split_note.rsplit(" (", 1)[0]),
        fingerprint=fingerprint_of(splits), text=TextFacts(np.array(words), undecodable, str(column)),
        notes=tuple(notes))
