"""Every folder walk of ingest goes through here, so that nothing outside the data folder is read unless asked.

A symbolic link is followed only when its resolved target stays inside the data root (the resolved folder the
user named), or when --follow-symlinks (RunConfig.follow_symlinks) allows leaving it. A link that leads out,
back to a folder above it (a loop), to nothing, or to something that is not a regular file or folder (a FIFO
would block a read forever) is not followed: it is recorded as a SkippedFile, so the report lists it. Hidden
entries (names starting with '.') are returned like any other and left to the callers, which ignore them;
links with hidden names are dropped silently, as the hidden files they stand for would be.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from automl.ingest.dataset import SkippedFile

OUTSIDE = "symbolic link to a path outside the data folder (use --follow-symlinks to read it)"
LOOP = "symbolic link loop (it leads back to a folder above it); not followed"
BROKEN = "symbolic link to nothing (its target does not exist)"
SPECIAL = "not a regular file (a device, FIFO or socket)"


def follows_symlinks(config) -> bool:
    return bool(getattr(config, "follow_symlinks", False))


def _inside(path: str, folder: str) -> bool:
    """Whether the resolved `path` is `folder` or below it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class DataFolder:
    """Lists the files and folders under one data root, never leaving it unless follow_symlinks.

    Attributes:
        root: The folder the user named (a link to it is fine: they named it).
        skipped: Links not followed and entries that cannot be listed, each once, in the order met.
    """

    def __init__(self, root: Path, follow_symlinks: bool = False):
        self.root = Path(root)
        self.boundary = os.path.realpath(self.root)
        self.follow = follow_symlinks
        self._skipped: dict[str, SkippedFile] = {}

    @classmethod
    def of(cls, root: Path, config) -> DataFolder:
        return cls(root, follows_symlinks(config))

    @property
    def skipped(self) -> list[SkippedFile]:
        return list(self._skipped.values())

    def _skip(self, path: Path, reason: str) -> None:
        if not path.name.startswith("."):
            self._skipped.setdefault(str(path), SkippedFile(str(path), reason))

    def _chain(self, folder: Path) -> set[str]:
        """Resolved folders from the root down to `folder` (a link to any of them is a loop)."""
        chain, current = set(), Path(folder)
        while True:
            chain.add(os.path.realpath(current))
            if current == self.root or current.parent == current or len(current.parts) <= len(self.root.parts):
                return chain
            current = current.parent

    def _kind(self, entry: os.DirEntry, here: str, chain: set[str]) -> tuple[str | None, str]:
        """("file" | "dir" | None when not to be read, the entry's resolved path)."""
        path = Path(entry.path)
        try:
            if not entry.is_symlink():  # the file type comes with the listing: no system call per file
                if entry.is_dir(follow_symlinks=False):
                    return "dir", os.path.join(here, entry.name)
                if entry.is_file(follow_symlinks=False):
                    return "file", os.path.join(here, entry.name)
                self._skip(path, SPECIAL)
                return None, ""
            real = os.path.realpath(entry.path)
            mode = os.stat(entry.path).st_mode
        except OSError as error:
            self._skip(path, LOOP if error.errno == errno.ELOOP else
                       BROKEN if error.errno == errno.ENOENT else f"cannot be read ({error.strerror or error})")
            return None, ""
        if not self.follow and not _inside(real, self.boundary):
            self._skip(path, OUTSIDE)
            return None, ""
        if stat.S_ISDIR(mode):
            if real in chain or _inside(here, real):
                self._skip(path, LOOP)
                return None, ""
            return "dir", real
        if stat.S_ISREG(mode):
            return "file", real
        self._skip(path, SPECIAL)
        return None, ""

    def _list(self, folder: Path, chain: set[str]) -> tuple[list[Path], list[tuple[Path, str]]]:
        here = os.path.realpath(folder)
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError as error:
            self._skip(Path(folder), f"folder cannot be listed ({error.strerror or error})")
            return [], []
        files, folders = [], []
        for entry in entries:
            kind, real = self._kind(entry, here, chain | {here})
            if kind == "file":
                files.append(Path(folder) / entry.name)
            elif kind == "dir":
                folders.append((Path(folder) / entry.name, real))
        return sorted(files), sorted(folders)

    def files(self, folder: Path | None = None) -> list[Path]:
        """The regular files directly in `folder` (default: the root), sorted."""
        folder = self.root if folder is None else Path(folder)
        return self._list(folder, self._chain(folder))[0]

    def subfolders(self, folder: Path | None = None) -> list[Path]:
        """The folders directly in `folder` (default: the root), sorted."""
        folder = self.root if folder is None else Path(folder)
        return [path for path, _ in self._list(folder, self._chain(folder))[1]]

    def iter_files(self, folder: Path | None = None):
        """Every regular file below `folder` (default: the root), in no set order (stop early at will)."""
        folder = self.root if folder is None else Path(folder)
        pending = [(folder, self._chain(folder))]
        while pending:  # iterative: deep trees cannot raise RecursionError
            current, chain = pending.pop()
            files, folders = self._list(current, chain)
            yield from files
            pending += [(path, chain | {os.path.realpath(current), real}) for path, real in folders]

    def walk(self, folder: Path | None = None) -> list[Path]:
        """Every regular file below `folder` (default: the root), sorted as Path objects sort."""
        return sorted(self.iter_files(folder))


def outside_hint(skipped) -> str:
    """A sentence for errors about finding no data, when links leading out of the folder were skipped."""
    count = sum(s.reason == OUTSIDE for s in skipped)
    if not count:
        return ""
    return (f" {count} symbolic link{'s' if count > 1 else ''} in it lead{'' if count > 1 else 's'} outside the "
            f"data folder and {'were' if count > 1 else 'was'} not followed (e.g. '{next(s.path for s in skipped if s.reason == OUTSIDE)}'); "
            "pass --follow-symlinks to read what they lead to.")
