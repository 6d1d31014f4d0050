"""Reliability catalogue (issue 18): hostile and careless inputs, each run through the real CLI.

Usage: python benchmarks/reliability.py [--only SUBSTRING]

Every case builds its own tiny input in a fresh temporary folder, runs `python -m automl ...` in a subprocess
(cwd, KERAS_HOME and MPLCONFIGDIR inside that folder, a per-case timeout) and gets exactly one outcome:

  handled        exit 0, no traceback
  recorded fix   exit 0 and the case's keywords appear in the console output, or in the report/summary the
                 run wrote (the note then says "in report only")
  clear error    exit 1, no traceback, the message holds the case's keywords
  unclear error  exit 1, no traceback, a keyword is missing
  traceback      "Traceback" in stdout/stderr, or an exit code other than 0 and 1
  hang           the per-case timeout passed (for the wide table: the budget + 20 %)
  data lost      a file of the user's (the data folder, files placed beside it) changed or vanished: every file in
                 the case's folder is hashed before and after, except where the case lets the CLI write
  read outside   a planted secret from a file outside the data folder appears in a file the run wrote (raw bytes
                 in UTF-8/16/32, and every member of zip files such as model.keras and parity_samples.npz)

A case that cannot be staged here (chmod read-only when running as root) is listed as `skipped`.
Prints a Markdown table (one row per case, then a totals row per outcome) on stdout, progress and the output
tail of bad outcomes on stderr; always exits 0. About 6-8 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from automl.rundir import LOCK, MARKER  # noqa: E402  (light: no TensorFlow)

FAST = ["--time-budget", "30", "--max-trials", "1", "--epochs", "1", "--batch-size", "8", "--tuner", "random"]
TIMEOUT = 120
SECRET = "zzplantedsecretword"
PASSWD_LINE = "root:x:0:0"  # the first line of /etc/passwd on any Linux
BAD = ("traceback", "hang", "data lost", "read outside")
OUTCOMES = ("handled", "recorded fix", "clear error", "unclear error", "traceback", "hang", "data lost",
            "read outside", "skipped")


@dataclass
class Case:
    argv: list[str]                      # after `python -m automl`
    keywords: tuple[str, ...] = ()        # all must appear (a recorded fix or a clear error)
    expect: tuple[str, ...] = ("handled",)  # the outcome(s) that count as right
    writable: tuple[Path, ...] = ()       # where the CLI may rightly write (left out of the data-lost check)
    secrets: tuple[str, ...] = ()         # strings that must not reach any file the run wrote
    timeout: float = TIMEOUT
    skip: str = ""                        # why the case cannot be staged here
    before: object = None                 # called just before the CLI starts (e.g. to write a dead pid)


# --- tiny data (small copies of tests/helpers.py, which would import TensorFlow) ---------------------------

def write_image(path: Path, value: int, size=(16, 16), seed=0) -> None:
    rng = np.random.default_rng(seed)
    pixels = np.clip(rng.normal(value, 20, (*size, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, "RGB").save(path)


def make_image_folder(root: Path, per_class=8, classes=("bright", "dark")) -> Path:
    values = {"bright": 210, "dark": 40}
    for c, name in enumerate(classes):
        for i in range(per_class):
            write_image(root / name / f"{c}_{i}.png", values.get(name, 40 + 170 * c), seed=c * 100 + i)
    return root


WORDS = {"pos": ["good", "great", "fine", "lovely"], "neg": ["bad", "awful", "poor", "dull"]}
NOISE = ["the", "a", "movie", "film", "plot", "was", "and", "it", "acting", "story"]


def make_texts(label: str, count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.permutation(list(rng.choice(NOISE, 9)) + list(rng.choice(WORDS[label], 3)))) + "."
            for _ in range(count)]


def make_text_folder(root: Path, per_class=10) -> Path:
    for c, label in enumerate(("neg", "pos")):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i, text in enumerate(make_texts(label, per_class, seed=10 * c)):
            (root / label / f"{i}_{label}.txt").write_text(text, encoding="utf-8")
    return root


def write_ts(path: Path, per_class=6, length=24) -> Path:
    rng = np.random.default_rng(0)
    lines = ["@problemName generated", "@timeStamps false", "@missing false", "@univariate true",
             "@equalLength true", f"@seriesLength {length}", "@classLabel true up wave", "@data"]
    steps = np.linspace(0, 1, length)
    for i in range(per_class * 2):
        label = ("up", "wave")[i % 2]
        base = steps * 2 - 1 if label == "up" else np.sin(steps * 4 * np.pi)
        lines.append(",".join(f"{v:.4f}" for v in base + rng.normal(0, 0.1, length)) + f":{label}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def table(n=60, seed=0, **extra) -> pd.DataFrame:
    """x1 separates the classes; x2 is noise; a category column."""
    rng = np.random.default_rng(seed)
    label = np.array(["yes", "no"] * (n // 2))
    return pd.DataFrame({"x1": np.where(label == "yes", 2.0, -2.0) + rng.normal(0, 0.5, n),
                         "x2": rng.normal(0, 1, n), "colour": rng.choice(["red", "green", "blue"], n),
                         **extra, "label": label})


def write_table(path: Path, **extra) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table(**extra).to_csv(path, index=False)
    return path


def images(n: int, side=8, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (n, side, side), dtype=np.uint8)


def outside_secret(tmp: Path) -> Path:
    """A folder beside the data with a text holding the planted word."""
    folder = tmp / "elsewhere"
    folder.mkdir(exist_ok=True)
    (folder / "secret.txt").write_text(f"{SECRET} private notes that are not training data", encoding="utf-8")
    return folder


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def cut(path: Path, keep: float = 0.4) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def run_args(data, output, *more) -> list[str]:
    return ["run", str(data), "--output", str(output), *FAST, *more]


class BaseRun:
    """One finished tiny table run, made on first use and copied (with a table of new rows) per case."""

    def __init__(self, folder: Path):
        self.folder, self.dir, self.error = folder, None, ""

    def copy_to(self, tmp: Path) -> Path | None:
        if self.dir is None and not self.error:
            data = write_table(self.folder / "table.csv")
            run_dir = self.folder / "run"
            done = subprocess.run([sys.executable, "-m", "automl", *run_args(data, run_dir)], cwd=self.folder,
                                  env=environment(self.folder), capture_output=True, text=True, errors="replace",
                                  timeout=TIMEOUT)
            if done.returncode == 0 and (run_dir / "model.keras").is_file():
                self.dir = run_dir
            else:
                self.error = f"the base run failed (exit {done.returncode}): {tail(done.stdout + done.stderr, 3)}"
        if self.dir is None:
            return None
        shutil.copytree(self.dir, tmp / "run", symlinks=True)
        (tmp / "new.csv").write_text("x1,x2,colour\n1.0,0.5,red\n-2.0,0.1,blue\n")
        return tmp / "run"


# --- the cases: each builds its input under tmp and says what it expects --------------------------------------

# data safety

def overwrite_the_data_folder(tmp, base):
    data = write_table(tmp / "victim" / "table.csv")
    (tmp / "victim" / "notes.txt").write_text("the user's own notes")
    return Case(run_args(data, tmp / "victim", "--overwrite"), ("Refusing to --overwrite",), ("clear error",))


def overwrite_a_folder_of_user_files(tmp, base):
    data = write_table(tmp / "data" / "table.csv")
    mine = tmp / "my-notes"
    (mine / "figures").mkdir(parents=True)
    (mine / "thesis.tex").write_text("years of work")
    (mine / "figures" / "plot.png").write_bytes(b"\x89PNG")
    return Case(run_args(data, mine, "--overwrite"), ("does not look like an automl run directory",), ("clear error",))


def second_run_while_a_live_process_holds_the_lock(tmp, base):
    data = write_table(tmp / "data" / "table.csv")
    run_dir = tmp / "run"
    run_dir.mkdir()
    (run_dir / MARKER).touch()
    (run_dir / LOCK).write_text(str(os.getpid()))  # this script is alive: the lock is held
    return Case(run_args(data, run_dir), (f"pid {os.getpid()}", "is writing to it"), ("clear error",))


def resume_past_a_stale_lock_of_a_dead_process(tmp, base):
    data = write_table(tmp / "data" / "table.csv")
    run_dir = tmp / "run"
    run_dir.mkdir()
    (run_dir / MARKER).touch()  # a run killed while reading its data leaves only the marker and its lock
    return Case(run_args(data, run_dir, "--resume"), writable=(run_dir,),
                before=lambda: (run_dir / LOCK).write_text(str(dead_pid())))


def predict_output_is_its_own_input(tmp, base):
    run_dir = base.copy_to(tmp)
    if run_dir is None:
        return Case([], skip=base.error)
    return Case(["predict", str(run_dir), str(tmp / "new.csv"), "-o", str(tmp / "new.csv")],
                ("would overwrite the input",), ("clear error",), writable=(run_dir,))


# reading outside the data folder

def _class_folder_linked_outside(tmp):
    """A text folder whose third class folder is a link to a folder outside, of texts holding the secret."""
    data = make_text_folder(tmp / "data")
    folder = outside_secret(tmp)
    for i, text in enumerate(make_texts("pos", 6, seed=5)):
        (folder / f"{i}.txt").write_text(f"{SECRET} {text}")
    os.symlink(folder, data / "secretclass", target_is_directory=True)
    return data


def text_class_folder_linked_outside(tmp, base):
    data = _class_folder_linked_outside(tmp)
    return Case(run_args(data, tmp / "run"), ("outside the data folder",), ("recorded fix",),
                secrets=(SECRET,))


def text_file_linked_to_a_secret_outside(tmp, base):
    data = make_text_folder(tmp / "data")
    os.symlink(outside_secret(tmp) / "secret.txt", data / "pos" / "secret.txt")
    return Case(run_args(data, tmp / "run"), ("outside the data folder", "--follow-symlinks"), ("recorded fix",),
                secrets=(SECRET,))


def text_file_linked_to_etc_passwd(tmp, base):
    data = make_text_folder(tmp / "data")
    os.symlink("/etc/passwd", data / "neg" / "passwd.txt")
    return Case(run_args(data, tmp / "run"), ("outside the data folder",), ("recorded fix",),
                secrets=(PASSWD_LINE,))


def symlink_loops_in_a_text_folder(tmp, base):
    data = make_text_folder(tmp / "data")
    os.symlink("..", data / "pos" / "parent", target_is_directory=True)
    os.symlink(data, data / "neg" / "root", target_is_directory=True)
    os.symlink("ping", data / "neg" / "pong")
    os.symlink("pong", data / "neg" / "ping")
    return Case(run_args(data, tmp / "run"), ("loop",), ("recorded fix",), timeout=90)


def control_follow_symlinks_does_read_the_secret(tmp, base):
    """Not a failure: --follow-symlinks asks to read the linked class folder. Proves the read-outside detector
    sees a leak (seven texts hold the secret, so some reach the training split and the report)."""
    data = _class_folder_linked_outside(tmp)
    return Case(run_args(data, tmp / "run", "--follow-symlinks"), expect=("read outside",), secrets=(SECRET,))


# write failures

def output_is_an_existing_regular_file(tmp, base):
    data = write_table(tmp / "data" / "table.csv")
    (tmp / "results.txt").write_text("a file of the user's, not a folder")
    return Case(run_args(data, tmp / "results.txt"), ("is a file", "--output"), ("clear error",))


def run_output_in_a_parent_that_does_not_exist(tmp, base):
    data = write_table(tmp / "data" / "table.csv")
    return Case(run_args(data, tmp / "missing" / "deeper" / "run"))


def predict_output_in_a_parent_that_does_not_exist(tmp, base):
    run_dir = base.copy_to(tmp)
    if run_dir is None:
        return Case([], skip=base.error)
    return Case(["predict", str(run_dir), str(tmp / "new.csv"), "-o", str(tmp / "missing" / "p.csv")],
                ("does not exist",), ("clear error",), writable=(run_dir,))


def _read_only(tmp, base, argv):
    run_dir = base.copy_to(tmp)
    if run_dir is None:
        return Case([], skip=base.error)
    run_dir.chmod(stat.S_IRUSR | stat.S_IXUSR)
    writable = os.access(run_dir, os.W_OK)
    run_dir.chmod(stat.S_IRWXU)
    if writable:
        return Case([], expect=("clear error",), skip=f"chmod 500 does not stop writes as uid {os.geteuid()} (root)")
    return Case(argv(run_dir), ("permission denied",), ("clear error",),
                before=lambda: run_dir.chmod(stat.S_IRUSR | stat.S_IXUSR))


def report_on_a_chmod_read_only_run(tmp, base):
    return _read_only(tmp, base, lambda run_dir: ["report", str(run_dir)])


def export_on_a_chmod_read_only_run(tmp, base):
    return _read_only(tmp, base, lambda run_dir: ["export", str(run_dir), "--format", "tflite"])


# a damaged run directory

def _damaged(tmp, base, damage, argv, keywords):
    run_dir = base.copy_to(tmp)
    if run_dir is None:
        return Case([], skip=base.error)
    damage(run_dir)
    return Case(argv(run_dir), keywords, ("clear error",), writable=(run_dir,))


def _predict(run_dir):
    return ["predict", str(run_dir), str(run_dir.parent / "new.csv"), "-o", str(run_dir.parent / "p.csv")]


def _edit_state(run_dir, change):
    path = run_dir / "report_state.json"
    state = json.loads(path.read_text(encoding="utf-8"))
    change(state)
    path.write_text(json.dumps(state), encoding="utf-8")


def predict_with_a_cut_saved_model_pb(tmp, base):
    return _damaged(tmp, base, lambda r: cut(r / "model" / "saved_model.pb"), _predict,
                    ("is damaged", "SavedModel in model/ cannot be loaded"))


def predict_with_model_variables_deleted(tmp, base):
    return _damaged(tmp, base, lambda r: shutil.rmtree(r / "model" / "variables"), _predict,
                    ("is damaged", "SavedModel in model/ cannot be loaded"))


def report_with_keys_missing_from_report_state(tmp, base):
    return _damaged(tmp, base, lambda r: _edit_state(r, lambda s: s["run"].pop("profile")),
                    lambda r: ["report", str(r)], ("damaged or incomplete", "report_state.json"))


def report_with_a_cut_report_state(tmp, base):
    return _damaged(tmp, base, lambda r: cut(r / "report_state.json", 0.5), lambda r: ["report", str(r)],
                    ("is not valid JSON",))


def export_with_a_cut_model_keras(tmp, base):
    return _damaged(tmp, base, lambda r: cut(r / "model.keras"), lambda r: ["export", str(r), "--format", "tflite"],
                    ("model.keras' is damaged",))


def export_with_a_lambda_layer_in_model_keras(tmp, base):
    def lambda_model(run_dir):
        code = ("import sys, keras; i = keras.Input((3,), name='x'); "
                "keras.Model(i, keras.layers.Lambda(lambda t: t * 2)(i)).save(sys.argv[1])")
        subprocess.run([sys.executable, "-c", code, str(run_dir / "model.keras")], check=True, capture_output=True,
                       env=environment(tmp), timeout=TIMEOUT)
    return _damaged(tmp, base, lambda_model, lambda r: ["export", str(r), "--format", "tflite"],
                    ("safe mode refuses", "model.keras"))


def export_with_cut_parity_samples(tmp, base):
    return _damaged(tmp, base, lambda r: cut(r / "parity_samples.npz", 0.5),
                    lambda r: ["export", str(r), "--format", "tflite"], ("parity_samples.npz' is damaged",))


def resume_with_a_cut_run_json(tmp, base):
    return _damaged(tmp, base, lambda r: (r / "run.json").write_text("{cut"),
                    lambda r: ["run", "--resume", str(r), *FAST], ("run.json' is damaged",))


# bad data

def npz_with_nan_labels(tmp, base):
    y = (np.arange(30) % 2).astype(float)
    y[[3, 7]] = np.nan
    np.savez(tmp / "a.npz", x=images(30), y=y)
    return Case(run_args(tmp / "a.npz", tmp / "run"), ("2 of the 30 labels in y are missing",), ("clear error",))


def npz_train_and_test_of_different_image_sizes(tmp, base):
    np.savez(tmp / "a.npz", x_train=images(30, 8), y_train=np.arange(30) % 2,
             x_test=images(10, 12, seed=1), y_test=np.arange(10) % 2)
    return Case(run_args(tmp / "a.npz", tmp / "run"), ("resized to 8x8",), ("recorded fix",))


def npz_with_string_pixels(tmp, base):
    np.savez(tmp / "a.npz", x=np.array([["a", "b"] * 4] * 8 * 30).reshape(30, 8, 8), y=np.arange(30) % 2)
    return Case(run_args(tmp / "a.npz", tmp / "run"), ("pixels must be numbers",), ("clear error",))


def npz_with_one_hot_labels(tmp, base):
    np.savez(tmp / "a.npz", x=images(30), y=np.eye(3)[np.arange(30) % 3])
    return Case(run_args(tmp / "a.npz", tmp / "run"), ("one-hot",), ("recorded fix",))


def parquet_with_a_list_column(tmp, base):
    frame = table(tags=[[i, i + 1] for i in range(60)])
    (tmp / "data").mkdir()
    frame.to_parquet(tmp / "data" / "t.parquet")
    return Case(run_args(tmp / "data" / "t.parquet", tmp / "run"), ("nested", "'tags'"), ("recorded fix",))


def csv_with_duplicate_headers(tmp, base):
    path = write_table(tmp / "data" / "t.csv")
    path.write_text(path.read_text().replace("x1,x2,", "x1,x1,", 1))
    return Case(run_args(path, tmp / "run"), ("Repeated column names",), ("recorded fix",))


def csv_with_1e300_in_a_column(tmp, base):
    frame = table(huge=np.linspace(1, 2, 60))
    frame.loc[4, "huge"] = 1e300
    (tmp / "data").mkdir()
    frame.to_csv(tmp / "data" / "t.csv", index=False)
    return Case(run_args(tmp / "data" / "t.csv", tmp / "run"), ("'huge'", "1e+300", "32-bit"), ("clear error",))


def csv_with_a_constant_regression_target(tmp, base):
    (tmp / "data").mkdir()
    table().assign(label=2.5).to_csv(tmp / "data" / "t.csv", index=False)  # no --task flag: a float target
    return Case(run_args(tmp / "data" / "t.csv", tmp / "run"), ("nothing to learn",), ("clear error",))


def ts_header_says_2_dimensions_data_has_1(tmp, base):
    path = write_ts(tmp / "data" / "gen.ts")
    path.write_text(path.read_text().replace("@univariate true", "@univariate false\n@dimensions 2"))
    return Case(run_args(path, tmp / "run"), ("@dimensions 2", "gen.ts"), ("clear error",))


def utf16_text_with_a_bom_in_a_text_folder(tmp, base):
    data = make_text_folder(tmp / "data")
    (data / "pos" / "windows.txt").write_bytes("a lovely great film, written by notepad".encode("utf-16"))
    return Case(run_args(data, tmp / "run"))


def tex_class_name_in_an_image_folder(tmp, base):
    data = make_image_folder(tmp / "data", per_class=8, classes=("bright", "$\\alpha$"))
    return Case(run_args(data, tmp / "run"))


def time_budget_zero(tmp, base):
    data = write_table(tmp / "data" / "table.csv")
    return Case(["run", str(data), "--output", str(tmp / "run"), "--time-budget", "0"],
                ("--time-budget none",), ("clear error",))


def wide_table_1500_columns_budget_40s(tmp, base):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 1500)), columns=[f"c{i}" for i in range(1500)])
    frame["label"] = rng.choice(["a", "b"], size=60)
    (tmp / "data").mkdir()
    frame.to_csv(tmp / "data" / "wide.csv", index=False)
    return Case(["run", str(tmp / "data" / "wide.csv"), "--output", str(tmp / "run"), "--modality", "table",
                 "--time-budget", "40"], ("budget",), ("handled", "clear error"), timeout=40 * 1.2)


# predict

def predict_csv_with_unparseable_numbers(tmp, base):
    run_dir = base.copy_to(tmp)
    if run_dir is None:
        return Case([], skip=base.error)
    pd.DataFrame({"x1": ["1.5", "abc", "-0.3", "n/a?", ""], "x2": ["0.1", "0.2", "0.3", "0.4", "0.5"],
                  "colour": ["red", "blue", "red", "blue", "red"]}).to_csv(tmp / "messy.csv", index=False)
    return Case(["predict", str(run_dir), str(tmp / "messy.csv"), "-o", str(tmp / "p.csv")],
                ("2 values in column 'x1' were not numbers", "treated as missing"), ("recorded fix",),
                writable=(run_dir,))


CASES = [
    ("data safety", overwrite_the_data_folder),
    ("data safety", overwrite_a_folder_of_user_files),
    ("data safety", second_run_while_a_live_process_holds_the_lock),
    ("data safety", resume_past_a_stale_lock_of_a_dead_process),
    ("data safety", predict_output_is_its_own_input),
    ("reading outside", text_class_folder_linked_outside),
    ("reading outside", text_file_linked_to_a_secret_outside),
    ("reading outside", text_file_linked_to_etc_passwd),
    ("reading outside", symlink_loops_in_a_text_folder),
    ("reading outside", control_follow_symlinks_does_read_the_secret),
    ("write failures", output_is_an_existing_regular_file),
    ("write failures", run_output_in_a_parent_that_does_not_exist),
    ("write failures", predict_output_in_a_parent_that_does_not_exist),
    ("write failures", report_on_a_chmod_read_only_run),
    ("write failures", export_on_a_chmod_read_only_run),
    ("damaged run dir", predict_with_a_cut_saved_model_pb),
    ("damaged run dir", predict_with_model_variables_deleted),
    ("damaged run dir", report_with_keys_missing_from_report_state),
    ("damaged run dir", report_with_a_cut_report_state),
    ("damaged run dir", export_with_a_cut_model_keras),
    ("damaged run dir", export_with_a_lambda_layer_in_model_keras),
    ("damaged run dir", export_with_cut_parity_samples),
    ("damaged run dir", resume_with_a_cut_run_json),
    ("bad data", npz_with_nan_labels),
    ("bad data", npz_train_and_test_of_different_image_sizes),
    ("bad data", npz_with_string_pixels),
    ("bad data", npz_with_one_hot_labels),
    ("bad data", parquet_with_a_list_column),
    ("bad data", csv_with_duplicate_headers),
    ("bad data", csv_with_1e300_in_a_column),
    ("bad data", csv_with_a_constant_regression_target),
    ("bad data", ts_header_says_2_dimensions_data_has_1),
    ("bad data", utf16_text_with_a_bom_in_a_text_folder),
    ("bad data", tex_class_name_in_an_image_folder),
    ("bad data", time_budget_zero),
    ("bad data", wide_table_1500_columns_budget_40s),
    ("predict", predict_csv_with_unparseable_numbers),
]


# --- running and judging ---------------------------------------------------------------------------------------

def environment(tmp: Path) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", COLUMNS="1000", KERAS_HOME=str(tmp / ".keras"),
               MPLCONFIGDIR=str(tmp / ".matplotlib"), PYTHONPATH=str(ROOT))
    env.pop("NO_COLOR", None)
    return env


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and link under folder (links not followed): its sha256 or its target."""
    found = {}
    for here, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(here) / name
            key = str(path.relative_to(folder))
            if path.is_symlink():
                found[key] = "link -> " + os.readlink(path)
            elif name in files and path.is_file():
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def lost_files(before: dict, after: dict, tmp: Path, writable: tuple[Path, ...]) -> list[str]:
    allowed = [str(Path(w).relative_to(tmp)) for w in writable]
    inside = lambda key: any(key == a or key.startswith(a + os.sep) for a in allowed)  # noqa: E731
    return [key for key, digest in before.items() if not inside(key) and after.get(key) != digest]


def written_files(before: dict, after: dict, tmp: Path) -> list[Path]:
    return [tmp / key for key, digest in after.items()
            if before.get(key) != digest and not digest.startswith("link -> ")]


def contents(path: Path) -> list[bytes]:
    """The file's bytes, and the decompressed members of a zip (model.keras, .npz)."""
    data = path.read_bytes()
    parts = [data]
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                parts += [archive.read(name) for name in archive.namelist()]
        except (zipfile.BadZipFile, OSError, RuntimeError):
            pass
    return parts


def leaks(files: list[Path], secrets: tuple[str, ...]) -> list[str]:
    found = []
    for path in files:
        for part in contents(path):
            for secret in secrets:
                forms = [secret.encode(e) for e in ("utf-8", "utf-16-le", "utf-32-le")]
                if any(form in part for form in forms):
                    found.append(f"{secret!r} in {path.name}")
    return sorted(set(found))


def report_text(files: list[Path]) -> str:
    """The text of the report and summary a run wrote, where a recorded fix is listed."""
    texts = [html.unescape(p.read_text(errors="replace")) for p in files if p.suffix in (".html", ".json")]
    return " ".join(" ".join(texts).split())


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def execute(case: Case, tmp: Path) -> tuple[int | None, str, float]:
    """Runs the CLI; returns its exit code (None on timeout), its output and its seconds."""
    if case.before:
        case.before()
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "automl", *case.argv], cwd=tmp, env=environment(tmp),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                               start_new_session=True)
    try:
        out, _ = process.communicate(timeout=case.timeout)
        code = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the CLI we started and its children, by their group id
        out, _ = process.communicate()
        code = None
    return code, out, time.monotonic() - started


def judge(case: Case, code, out: str, lost: list[str], leaked: list[str], report: str) -> tuple[str, str]:
    text = " ".join(out.split())
    if lost:
        return "data lost", "changed or gone: " + ", ".join(lost[:5])
    if leaked:
        return "read outside", "; ".join(leaked[:3])
    if code is None:
        return "hang", f"killed after {case.timeout:g} s"
    if "Traceback" in out or code not in (0, 1):
        return "traceback", f"exit {code}"
    missing = [k for k in case.keywords if k not in text]
    if code == 0:
        if not case.keywords:
            return "handled", ""
        if not missing:
            return "recorded fix", ""
        if not [k for k in case.keywords if k not in report]:
            return "recorded fix", "in report only (console silent)"
        return "handled", "not recorded: " + ", ".join(repr(k) for k in missing)
    if not missing:
        return "clear error", ""
    return "unclear error", "missing: " + ", ".join(repr(k) for k in missing) + f"; said: {tail(text, 1)[-160:]!r}"


def run_case(mechanism: str, build, base: BaseRun) -> dict:
    name = build.__name__.replace("_", " ")
    row = {"mechanism": mechanism, "case": name, "outcome": "skipped", "expected": "", "seconds": 0.0,
           "note": "", "output": ""}
    with tempfile.TemporaryDirectory(prefix="automl-reliability-") as folder:
        tmp = Path(folder).resolve()
        try:
            case = build(tmp, base)
        except Exception as error:  # the staging failed: say so rather than guess an outcome
            row["note"] = f"could not stage: {type(error).__name__}: {error}"
            return row
        row["expected"] = " / ".join(case.expect)
        if case.skip:
            row["note"] = case.skip
            return row
        before = snapshot(tmp)
        code, out, seconds = execute(case, tmp)
        for path in (tmp / "run",):  # a chmod case leaves the run read-only: give it back
            if path.is_dir():
                path.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        after = snapshot(tmp)
        written = written_files(before, after, tmp)
        outcome, note = judge(case, code, out, lost_files(before, after, tmp, case.writable),
                              leaks(written, case.secrets), report_text(written))
        if outcome not in case.expect:
            note = "; ".join(filter(None, [f"UNEXPECTED (wanted {row['expected']})", note]))
        row.update(outcome=outcome, seconds=seconds, note=note, output=out)
    return row


def revision() -> str:
    """The commit tested, and whether the working tree had changes (read-only git calls)."""
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()  # noqa: E731
    commit, changed = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain", "--untracked-files=no")
    return f"commit {commit or '?'}" + (f" with {len(changed.splitlines())} files changed" if changed else "")


def markdown(rows: list[dict]) -> str:
    cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| mechanism | case | outcome | expected | seconds | note |", "|---|---|---|---|---:|---|"]
    lines += [f"| {r['mechanism']} | {cell(r['case'])} | {r['outcome']} | {r['expected']} | {r['seconds']:.1f} | "
              f"{cell(r['note'])} |" for r in rows]
    for outcome in OUTCOMES:
        chosen = [r for r in rows if r["outcome"] == outcome]
        lines.append(f"| **total** | {len(chosen)} case{'s' * (len(chosen) != 1)} | {outcome} | | "
                     f"{sum(r['seconds'] for r in chosen):.1f} | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run only the cases whose name or mechanism holds SUBSTRING")
    args = parser.parse_args(argv)
    only = args.only.lower().replace("_", " ")
    chosen = [(m, b) for m, b in CASES if only in m or only in b.__name__.replace("_", " ")]
    rows = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="automl-reliability-base-") as folder:
        base = BaseRun(Path(folder).resolve())
        for i, (mechanism, build) in enumerate(chosen, 1):
            row = run_case(mechanism, build, base)
            rows.append(row)
            print(f"[{i}/{len(chosen)}] {row['case']}: {row['outcome']} ({row['seconds']:.1f} s) {row['note']}",
                  file=sys.stderr, flush=True)
            if row["outcome"] not in row["expected"].split(" / ") and row["outcome"] != "skipped":
                print(f"--- output of '{row['case']}' (last lines) ---\n{tail(row['output'])}\n---",
                      file=sys.stderr, flush=True)
    print(markdown(rows))
    print(f"\n{len(rows)} cases in {time.monotonic() - started:.0f} s wall on {os.cpu_count()} cores; {revision()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
