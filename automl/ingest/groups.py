"""--group-column for folders of files: a CSV/TSV/Parquet file (--group-file) maps file names to groups."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from automl.errors import ConfigError
from automl.ingest.dataset import GroupFacts

# The column of the group file that names the files: the first of these it has, else its first column.
FILE_COLUMNS = ("filename", "file", "path", "name")
NOT_IN_FILE = "(not in the group file)"


def groups_for_files(test_paths: list[Path], root: Path, config) -> GroupFacts | None:
    """The group of each test file, by its path relative to root or else its file name; None without
    --group-column.

    Raises:
        ConfigError: --group-column without --group-file, or a group file without that column.
    """
    column, source = getattr(config, "group_column", None), getattr(config, "group_file", None)
    if column is None:
        return None
    if source is None:
        raise ConfigError(f"--group-column {column!r} on a folder of files needs --group-file: a CSV whose rows map "
                          f"file names to groups (columns: filename,{column}).")
    frame = _read(Path(source))
    if column not in frame.columns:
        raise ConfigError(f"--group-file {source} has no column {column!r}; its columns are "
                          f"{', '.join(map(str, frame.columns[:20]))}.")
    names = next((c for c in FILE_COLUMNS if c in frame.columns), frame.columns[0])
    mapping = dict(zip(frame[names].astype(str).str.replace("\\", "/"), frame[column].astype(str)))
    values = []
    for path in test_paths:
        relative = Path(path).relative_to(root).as_posix() if Path(path).is_relative_to(root) else Path(path).name
        values.append(mapping.get(relative) or mapping.get(Path(path).name) or NOT_IN_FILE)
    return GroupFacts(column, tuple(values))


def _read(path: Path) -> pd.DataFrame:
    """The group file: Parquet, or CSV/TSV (the separator sniffed)."""
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep=None, engine="python", dtype=str)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise ConfigError(f"--group-file {path} cannot be read as a table ({error}). Give a CSV with a filename "
                          "column and the group column.") from None
