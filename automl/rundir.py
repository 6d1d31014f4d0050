"""The run directory: default naming, refusing silent reuse, what --overwrite may delete, the lock a run
holds on it, and the record resume checks against."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from automl.errors import ConfigError, DataError
from automl.files import is_temporary, write_text_atomic

RECORD = "run.json"
# Written when a run directory is made: what tells --overwrite the folder is ours to delete.
MARKER = ".automl-run"
# Holds the process id of the run (or `automl report` / `automl export`) writing to the directory.
LOCK = ".automl-lock"
# Settings that change what the search means; resuming with other values is refused.
RESUME_KEYS = ("target", "family", "tuner", "max_trials", "epochs", "batch_size", "seed",
               "val_fraction", "test_fraction", "image_size", "backbone", "cache_features")

# What a run writes before its record: an example's data, and a record being written (run.partial: by
# versions before files.py).
EARLY_OUTPUTS = {"example-data", "run.partial"}
# A lock file being created (empty for an instant) is taken as held for this long before it counts as stale.
LOCK_CREATION_S = 10.0
# Locks this process holds: run directory (resolved) → how many holders (a run, then `report` in-process).
_held: dict[Path, int] = {}


def default_run_dir(data: str, root: Path = Path("reports")) -> Path:
    prefixed = data.startswith(("tfds:", "example:"))
    name = data.split(":", 1)[1] if prefixed else Path(data.rstrip("/")).stem or "data"
    return root / f"{name.replace('/', '_')}-{time.strftime('%Y%m%d-%H%M%S')}"


def prepare_run_dir(config):
    """Returns config with run_dir set, makes the directory and locks it (released by release_run_dir),
    refusing to reuse a non-empty one unless the user asked to resume or overwrite.

    Raises:
        ConfigError: The directory is a file, not empty, not writable, locked by another run, or (with
            --overwrite) not recognisably a run directory or holding the data being read.
    """
    run_dir = Path(config.run_dir) if config.run_dir else default_run_dir(config.data)
    config = dataclasses.replace(config, run_dir=str(run_dir))
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"The run directory '{run_dir}' is a file. Choose a folder with --output.")
    if config.overwrite:
        _refuse_deleting_inputs(run_dir, config)
    created = not run_dir.exists()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _not_writable(run_dir, error) from None
    try:
        try:
            acquire_run_dir(run_dir)
        except OSError as error:
            raise _not_writable(run_dir, error) from None
        busy = bool(_contents(run_dir))
        if busy and config.overwrite:
            _refuse_foreign(run_dir)
            _empty(run_dir)
        elif busy and not config.resume:
            raise ConfigError(f"The run directory '{run_dir}' is not empty. Pass --resume to continue that run, "
                              "--overwrite to replace it, or choose another --output.")
        elif config.resume and not (run_dir / RECORD).exists() and (created or
                                                                     not _stopped_before_record(run_dir)):
            raise ConfigError(f"Nothing to resume in '{run_dir}': it has no {RECORD}. Start a new run without --resume.")
        try:
            tempfile.TemporaryFile(dir=run_dir).close()  # an existing but read-only folder fails here, not mid-run
            (run_dir / MARKER).touch()
        except OSError as error:
            raise _not_writable(run_dir, error) from None
    except BaseException:
        release_run_dir(run_dir)
        if created:
            _remove_if_only_ours(run_dir)
        raise
    return config


def _not_writable(run_dir: Path, error: OSError) -> ConfigError:
    return ConfigError(f"Cannot create or write to the run directory '{run_dir}' ({error.strerror or error}). "
                       "Choose a writable --output.")


def _contents(run_dir: Path) -> set[str]:
    """The names in run_dir, less the marker and the lock (a folder holding only those is as good as empty)."""
    return {p.name for p in run_dir.iterdir() if p.name != MARKER and not p.name.startswith(LOCK)}


def _stopped_before_record(run_dir: Path) -> bool:
    """A run stopped while reading its data has made its folder but no record yet: nothing finished
    was lost, so resuming it simply starts it."""
    return run_dir.is_dir() and all(name in EARLY_OUTPUTS or is_temporary(name) for name in _contents(run_dir))


def is_run_dir(run_dir: Path) -> bool:
    """Whether a folder is recognisably one of ours: the marker (written since this version), or a record
    with a report state or search (older runs), or only what a run writes before its record."""
    run_dir = Path(run_dir)
    if (run_dir / MARKER).is_file():
        return True
    if (run_dir / RECORD).is_file() and ((run_dir / "report_state.json").is_file() or (run_dir / "search").is_dir()):
        return True
    return _stopped_before_record(run_dir)


def _input_paths(config) -> list[tuple[str, str]]:
    """(what, path) of everything the run reads from disk: the data (not example: or tfds:, which automl
    itself fetches), the tfds directory, the weights file and the backbone run."""
    paths = []
    if config.data and not config.data.startswith(("example:", "tfds:")):
        paths.append(("the data being read", config.data))
    for what, value in (("the --tfds-dir data", config.tfds_dir), ("the --weights file", config.weights),
                        ("the --backbone run", config.backbone)):
        if value:
            paths.append((what, value))
    return paths


def _refuse_deleting_inputs(run_dir: Path, config) -> None:
    """--overwrite deletes run_dir: never when it holds, is, or lies inside something the run reads."""
    target = run_dir.resolve()
    for what, value in _input_paths(config):
        source = Path(value).expanduser().resolve()
        if source == target or target in source.parents:
            raise ConfigError(f"Refusing to --overwrite '{run_dir}': it holds {what} ('{value}'), which "
                              "overwriting would delete. Choose another --output for the run.")
        if source in target.parents:
            raise ConfigError(f"Refusing to --overwrite '{run_dir}': it lies inside {what} ('{value}'), and "
                              "automl never deletes from the data it reads. Choose an --output outside it.")


def _refuse_foreign(run_dir: Path) -> None:
    if not is_run_dir(run_dir):
        raise ConfigError(f"Refusing to --overwrite '{run_dir}': it does not look like an automl run directory "
                          f"(no {MARKER} or {RECORD}), so its files may be yours. Empty or remove it yourself, "
                          "or choose another --output.")


def _empty(run_dir: Path) -> None:
    """Deletes what is in run_dir except the lock this run holds (links are removed, never followed)."""
    for path in run_dir.iterdir():
        if path.name == LOCK:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _remove_if_only_ours(run_dir: Path) -> None:
    """Undoes making run_dir when a run was refused: removes it only if nothing but our files is there."""
    with contextlib.suppress(OSError):
        if not _contents(run_dir):
            (run_dir / MARKER).unlink(missing_ok=True)
            run_dir.rmdir()


def discard_if_unused(run_dir: Path) -> None:
    """After a run that failed before writing anything (bad data found while reading it): releases the
    lock and removes the folder it made, if nothing but our marker is there, so failed attempts leave no
    empty run directories behind."""
    release_run_dir(run_dir)
    _remove_if_only_ours(Path(run_dir))


# --- the lock ------------------------------------------------------------------------------------------


def lock_holder(run_dir: Path) -> int | None:
    """The id of another live process holding run_dir's lock, else None (no lock, ours, or a stale one)."""
    pid = _read_pid(Path(run_dir) / LOCK)
    return pid if pid is not None and pid != os.getpid() and _alive(pid) else None


def _read_pid(lock: Path) -> int | None:
    """The pid in a lock file; -1 for one being created (empty for an instant); None for no or a stale one."""
    try:
        text = lock.read_text(encoding="ascii", errors="replace").strip()
        age = time.time() - lock.stat().st_mtime
    except OSError:
        return None
    if text.isdigit() and int(text) > 0:
        return int(text)
    return -1 if age < LOCK_CREATION_S else None


def _alive(pid: int) -> bool:
    if pid == -1:
        return True  # a lock being written right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's live process
        return True
    return True


def refuse_if_locked(run_dir: Path, command: str) -> None:
    """For commands that read a finished run: refused while a run writes to it."""
    holder = lock_holder(run_dir)
    if holder is not None:
        raise ConfigError(_locked_message(run_dir, holder, command))


def _locked_message(run_dir: Path, pid: int, command: str) -> str:
    who = "another automl process (starting now)" if pid == -1 else f"another automl process (pid {pid})"
    return (f"Cannot {command} '{run_dir}': {who} is writing to it. Wait for it to finish (or stop it), then "
            f"try again; if no such process runs, delete '{Path(run_dir) / LOCK}'.")


def acquire_run_dir(run_dir: Path, command: str = "run in") -> None:
    """Locks run_dir (which must exist) for this process: a file holding our pid, created with O_EXCL so two
    processes cannot both take it. A lock whose process is gone (killed) is stale and taken over.

    Raises:
        ConfigError: Another live process holds the lock.
        OSError: The lock file cannot be written (a read-only folder, a full disk).
    """
    key = Path(run_dir).resolve()
    lock = Path(run_dir) / LOCK
    if _held.get(key):
        _held[key] += 1
        return
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pid = _read_pid(lock)
            if pid == os.getpid():  # left by an earlier run of this process that did not release it
                break
            if pid is not None and _alive(pid):
                raise ConfigError(_locked_message(run_dir, pid, command)) from None
            _remove_stale(lock, pid, run_dir, command)
            continue
        try:
            os.write(fd, str(os.getpid()).encode("ascii"))
        except OSError:
            os.close(fd)
            lock.unlink(missing_ok=True)
            raise
        os.close(fd)
        break
    else:
        raise ConfigError(f"Cannot lock '{run_dir}': its lock file '{lock}' keeps coming back. "
                          "Check that no other automl process uses it, then try again.")
    _held[key] = 1


def _remove_stale(lock: Path, pid: int | None, run_dir: Path, command: str) -> None:
    """Removes a stale lock. It is first moved aside, so that of two processes taking over the same stale
    lock, the later cannot delete the fresh lock the earlier made: a lock found aside that is not the stale
    one is put back."""
    aside = lock.with_name(f"{LOCK}.stale-{os.getpid()}")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return  # another process removed it first
    moved = _read_pid(aside)
    if moved == pid or moved is None:
        aside.unlink(missing_ok=True)
        return
    with contextlib.suppress(OSError):
        os.link(aside, lock)  # fails if yet another lock appeared meanwhile: that one stands
    aside.unlink(missing_ok=True)
    raise ConfigError(_locked_message(run_dir, moved, command))


def release_run_dir(run_dir: Path | str | None) -> None:
    """Releases this process's lock on run_dir (its last holder removes the lock file); safe to call twice."""
    if not run_dir:
        return
    key = Path(run_dir).resolve()
    if key not in _held:
        return
    _held[key] -= 1
    if _held[key] > 0:
        return
    del _held[key]
    lock = Path(run_dir) / LOCK
    if _read_pid(lock) == os.getpid():
        with contextlib.suppress(OSError):
            lock.unlink()


@atexit.register
def _release_all() -> None:
    """A process that ends (a library caller's, or one stopped by an error) leaves no lock of its own behind."""
    for key in list(_held):
        _held[key] = 1
        release_run_dir(key)


@contextlib.contextmanager
def holding_run_dir(run_dir: Path, command: str):
    """Holds run_dir's lock while a command (`automl report`, `automl export`) writes into a finished run.
    A folder that does not exist is not made (the command then says there is no run)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        yield
        return
    acquire_run_dir(run_dir, command)
    try:
        yield
    finally:
        release_run_dir(run_dir)


# --- the record ----------------------------------------------------------------------------------------


# The settings a resumed run takes from run.json rather than from its command line.
NOT_STORED = ("data", "run_dir", "resume", "overwrite")
# Stored, but a resume may change them: how many processes search, and where the chief listens.
FREE_ON_RESUME = ("workers", "chief_address")


def stored_config(config) -> dict:
    """Every setting of config that a resume reuses (JSON types)."""
    return {key: value for key, value in dataclasses.asdict(config).items() if key not in NOT_STORED}


def record_run(config, fingerprint: str) -> None:
    """Writes run.json, or on resume checks that data and settings are unchanged and adds the time the
    earlier sessions spent (so a further resume knows what is left of the budget)."""
    path = Path(config.run_dir) / RECORD
    settings = {key: getattr(config, key) for key in RESUME_KEYS}
    spent = 0.0
    if config.resume and path.exists():
        try:
            saved = json.loads(path.read_text())
            saved_fingerprint, saved_settings = saved["fingerprint"], dict(saved["settings"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(f"'{path}' is damaged ({error}), so the run cannot be resumed safely. Start a new run "
                            "with another --output (or --overwrite this one).") from None
        if saved_fingerprint != fingerprint:
            raise DataError(f"The data changed since the run in '{config.run_dir}' started (fingerprint "
                            f"{saved_fingerprint} → {fingerprint}). Start a new run with another --output.")
        changed = [k for k in RESUME_KEYS if saved_settings.get(k) != settings[k]]
        if changed:
            raise ConfigError(f"Settings changed since the run started ({', '.join(changed)}). "
                              "Resume with the same settings, or start a new run.")
        spent = time_spent(Path(config.run_dir), saved) or 0.0
    # Written aside and renamed, so a killed run leaves no half record.
    write_text_atomic(path, json.dumps({"data": config.data, "fingerprint": fingerprint, "settings": settings,
                                        "config": stored_config(config), "started_at": time.time(),
                                        "spent_before": spent}, indent=1))


def read_record(run_dir: Path) -> dict | None:
    """run.json as a dict, or None when there is none or it cannot be read (record_run says so later)."""
    try:
        record = json.loads((Path(run_dir) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def time_spent(run_dir: Path, record: dict) -> float | None:
    """Seconds the run's earlier sessions spent: those before the last start, plus from it to the last
    thing the search wrote (its trial log, its tuner state). None for records older than this count."""
    started, before = record.get("started_at"), record.get("spent_before")
    if not isinstance(started, (int, float)) or not isinstance(before, (int, float)):
        return None
    written = [p.stat().st_mtime for p in [run_dir / "trial_log.json", *(run_dir / "search").rglob("*")]
               if p.is_file()]
    return before + max(0.0, max(written, default=started) - started)


def resumed_config(run_dir: Path, data: str, given: dict):
    """The config `automl run --resume RUN_DIR` continues with: the settings stored in run.json, with the
    time budget less what was spent (or, when --time-budget is given, that much more time). Returns
    (config, a sentence on the budget), or None for records older than this (their flags must be given).

    Args:
        given: The settings the command line set (its preset's and its flags'), typed as load_config takes them.

    Raises:
        ConfigError: A given setting differs from the stored one (the differences are listed), or the
            budget is spent and no --time-budget adds more.
    """
    from automl.config import RunConfig, format_seconds, parse_duration

    record = read_record(run_dir)
    stored = record.get("config") if record else None
    if not isinstance(stored, dict):
        return None
    fixed = {"data": data, "run_dir": str(run_dir), "resume": True}
    others = {key: value for key, value in given.items() if key != "time_budget" and key not in NOT_STORED}
    try:
        wanted = RunConfig(**{**stored, **others, **fixed})
    except TypeError as error:
        raise ConfigError(f"'{run_dir / RECORD}' holds settings this version does not know ({error}). "
                          "Start a new run with another --output.") from None
    changed = [f"{key} {stored.get(key)!r} → {getattr(wanted, key)!r}" for key in others
               if key not in FREE_ON_RESUME and getattr(wanted, key) != stored.get(key)]
    if changed:
        raise ConfigError(f"--resume continues the run with the settings it started with, and these differ: "
                          f"{'; '.join(changed)}. Leave those flags out to resume, or start a new run with "
                          "another --output.")
    budget, spent = stored.get("time_budget"), time_spent(run_dir, record) or 0.0
    if "time_budget" in given:
        budget = parse_duration(given["time_budget"])
        note = (f"Resuming with {format_seconds(budget)} more, as --time-budget says ({format_seconds(spent)} "
                "were spent before)." if budget else "Resuming with no time limit, as --time-budget says.")
    elif budget is None:
        note = "Resuming with no time limit, as the run started."
    else:
        left = budget - spent
        if left <= 0:
            raise ConfigError(f"The run's {format_seconds(budget)} budget is spent ({format_seconds(spent)} used "
                              "before it stopped). Give it more time: --resume with --time-budget 5m, say.")
        note = (f"Resuming: {format_seconds(spent)} of the {format_seconds(budget)} budget were spent before the "
                f"run stopped, so this run has the other {format_seconds(left)}.")
        budget = left
    free = {key: value for key, value in others.items() if key in FREE_ON_RESUME}
    return RunConfig(**{**stored, **free, **fixed, "time_budget": budget}), note


def recorded_config(run_dir: Path):
    """The RunConfig a run in run_dir was started with (run.json), as a worker that joins its search needs it.

    Raises:
        DataError: run_dir holds no readable run record.
    """
    from automl.config import RunConfig

    record = read_record(run_dir)
    stored = record.get("config") if record else None
    if not isinstance(stored, dict) or not isinstance(record.get("data"), str):
        raise DataError(f"'{Path(run_dir) / RECORD}' is missing or unreadable. Give the run directory the chief "
                        "printed (a worker on another machine needs it shared, at the same path).")
    try:
        return RunConfig(**{**stored, "data": record["data"], "run_dir": str(run_dir), "resume": True})
    except TypeError as error:
        raise DataError(f"'{Path(run_dir) / RECORD}' holds settings this version does not know ({error}): the "
                        "worker needs the same automl version as the chief.") from None
