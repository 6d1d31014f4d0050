"""automl and AutoKeras 3.0.0 side by side: the same splits, the same wall-clock budget, one invocation.

For each dataset: exports the exact train/val/test split `automl run` makes (automl's own ingest, same
preset and seed) to an .npz, runs `automl run --pipeline benchmark` and AutoKeras (benchmarks/peers/
autokeras/runner.py in its own venv) with the same budget, alternating which goes first, and writes
one row per dataset into a section of RESULTS.md between markers (rows of datasets not re-run are kept).
Prepare the data with benchmarks/prepare_data.py and AutoKeras with benchmarks/peers/autokeras/install.sh.

    python benchmarks/side_by_side.py [--datasets digits,breast_cancer] [--budget SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import run_benchmarks as bench  # same folder: the dataset table, budgets and the automl runner

PEER_DIR = bench.BENCH_DIR / "peers" / "autokeras"
PEER_PYTHON = PEER_DIR / ".venv" / "bin" / "python"
DEFAULT_RUNS_DIR = Path("/tmp/automl-side-by-side")
START, END = "<!-- side-by-side:start -->", "<!-- side-by-side:end -->"
# Trailing float noise must not make "reached" fail when both models got the same number of examples right.
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Pairing:
    """A dataset of run_benchmarks.BENCHMARKS and the AutoKeras task that takes it."""

    bench: str
    peer_task: str  # "image", "table" or "text": which AutoKeras classifier runner.py uses


# imdb and sst2 take part as soon as run_benchmarks.BENCHMARKS (and prepare_data.py) have them.
PAIRINGS = {"digits": Pairing("digits", "image"), "breast_cancer": Pairing("breast_cancer", "table"),
            "mnist": Pairing("mnist", "image"), "fashion_mnist": Pairing("fashion_mnist", "image"),
            "imdb": Pairing("imdb", "text"), "sst2": Pairing("sst2", "text"),
            "hymenoptera": Pairing("hymenoptera", "image"), "intel_scenes": Pairing("intel_scenes", "image")}
COLUMNS = ("dataset", "budget", "automl test acc.", "AutoKeras test acc.", "ratio", "automl wall", "AutoKeras wall",
           "automl trials", "AutoKeras trials", "AutoKeras val acc.", "automl time to it", "AutoKeras time to it",
           "time ratio", "same split", "date, commit")
INTRO = f"""{START}
## Side by side with AutoKeras 3.0.0 (same split, same budget, same run)

Made by `python benchmarks/side_by_side.py` (rows of datasets not re-run are kept). For each dataset
the script exports the exact split `automl run --pipeline benchmark` makes (automl's own ingest and
seed; "same split" compares the data fingerprint automl's run recorded) and gives both tools the
same wall-clock budget, counted from process start; the two alternate which runs first. AutoKeras
runs its default classifier for the modality (image / structured data / text) with its default tuner
and objective, is stopped at the deadline by a callback that also caps its trial count, gets
`EarlyStopping(val_loss, patience=3)` so it starts no final refit, and its best trial's checkpoint
is scored on the test split (its scoring runs after the budget; automl's evaluation and export run
inside it). Trials: finished trials, plus the one the deadline cut.

Time to AutoKeras's accuracy, like with like: "AutoKeras val acc." is the validation accuracy of the
model AutoKeras delivers, on the same validation split automl uses. "automl time to it" is when
automl's running best val_accuracy (over all epochs of all its trials, in order) first reaches it;
"AutoKeras time to it" is when AutoKeras's own epochs first reached it. Both on the training clock:
seconds inside trials' training, summed over trials in order (ingest, model building, evaluation and
export excluded for both). automl's trial log holds each trial's seconds and per-epoch history, so
its epoch times are interpolated evenly within a trial; AutoKeras's are measured per epoch. "time
ratio" is automl's over AutoKeras's (the goal is at most 0.33).

"""


def export_split(data: Path, target: Path) -> dict:
    """Writes the split `automl run --pipeline benchmark DATA` trains on to TARGET (.npz); returns its facts."""
    from automl.config import load_config
    from automl.pipeline import plan_run

    dataset, _, _ = plan_run(load_config("benchmark", data=str(data)))
    arrays = {}
    for name, split in dataset.splits().items():
        features = split_features(dataset, name, split)
        if features.dtype.kind == "U":  # texts: fixed-width str would pad every review to the longest
            arrays.update(pack_texts(f"x_{name}", features))
        else:
            arrays[f"x_{name}"] = features
        arrays[f"y_{name}"] = np.asarray(split.labels, dtype=np.int64)
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez(target, **arrays)
    return {"fingerprint": dataset.fingerprint, "modality": dataset.modality,
            "sizes": {name: int(split.size) for name, split in dataset.splits().items()}}


def split_features(dataset, name: str, split) -> np.ndarray:
    """A split's inputs as one array: table rows (numbers, else strings), images (uint8) or texts (str)."""
    if dataset.modality == "table":
        frame = getattr(dataset.table, name)
        numeric = all(np.issubdtype(dtype, np.number) for dtype in frame.dtypes)
        return frame.to_numpy(dtype=np.float32) if numeric else frame.astype(str).to_numpy()
    batches = [x for x, _ in split.data.batch(1024).as_numpy_iterator()]
    features = np.concatenate(batches)
    if features.dtype == object:  # tf.string arrives as bytes
        features = np.array([value.decode("utf-8") for value in features])
    return features


def pack_texts(key: str, texts: np.ndarray) -> dict[str, np.ndarray]:
    """KEY_utf8 (the UTF-8 bytes of all texts, concatenated) and KEY_ends (where each text ends);
    runner.py unpacks them. An .npz cannot hold variable-length strings without pickling."""
    encoded = [text.encode("utf-8") for text in texts]
    return {f"{key}_utf8": np.frombuffer(b"".join(encoded), dtype=np.uint8),
            f"{key}_ends": np.cumsum([len(data) for data in encoded], dtype=np.int64)}


def run_runner(command: list[str], result_path: Path, log: Path, budget_s: float, env: dict,
               missing: dict) -> tuple[dict, float]:
    """Runs a peer's runner.py (COMMAND, which writes RESULT_PATH), its output to LOG, killed past the
    benchmark timeout; returns (its JSON result, or MISSING with the error, wall seconds)."""
    result_path.unlink(missing_ok=True)
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        try:
            subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env,
                           timeout=budget_s * bench.TIMEOUT_FACTOR + bench.TIMEOUT_EXTRA_S)
        except subprocess.TimeoutExpired:
            handle.write(f"\n{Path(sys.argv[0]).stem}: killed after {time.perf_counter() - start:.0f} s\n")
    seconds = time.perf_counter() - start
    if result_path.is_file():
        return json.loads(result_path.read_text(encoding="utf-8")), seconds
    return {**missing, "error": f"no result written: {bench.last_line(log)} (log: {log})"}, seconds


def run_peer(split: Path, task: str, budget_s: float, out_dir: Path, peer_python: Path, env: dict) -> tuple[dict, float]:
    """Runs runner.py in the AutoKeras venv; returns (its JSON result or an error, wall seconds)."""
    result_path = out_dir / "autokeras.json"
    command = [str(peer_python), str(PEER_DIR / "runner.py"), str(split), "--task", task, "--budget", f"{budget_s:g}",
               "--output", str(result_path), "--workdir", str(out_dir), "--verbose", "2"]
    return run_runner(command, result_path, out_dir / "autokeras.log", budget_s, env, {"test_accuracy": None})


def ours_curve(trial_log: dict) -> list[tuple[float, float]]:
    """(training-clock seconds, val_accuracy) per epoch from automl's trial_log.json, trials in order;
    epoch ends are spread evenly over the trial's measured seconds (the log has no per-epoch times)."""
    curve, clock = [], 0.0
    for trial_id in sorted(trial_log.get("seconds", {})):
        values = trial_log.get("history", {}).get(trial_id, {}).get("val_accuracy", [])
        seconds = trial_log["seconds"][trial_id]
        curve += [(clock + seconds * (i + 1) / len(values), value) for i, value in enumerate(values)]
        clock += seconds
    return curve


def peer_curve(trials: dict) -> list[tuple[float, float]]:
    """(training-clock seconds, val_accuracy) per epoch from runner.py's per-trial epoch records."""
    curve, clock = [], 0.0
    for trial_id in sorted(trials):
        trial = trials[trial_id]
        curve += [(clock + epoch["trial_seconds"], epoch["val_accuracy"])
                  for epoch in trial["epochs"] if "val_accuracy" in epoch]
        clock += trial["seconds"]
    return curve


def time_to_reach(curve: list[tuple[float, float]], accuracy: float) -> float | None:
    """The first clock reading at which the running best accuracy reaches ACCURACY, else None."""
    return next((seconds for seconds, value in curve if value >= accuracy - TOLERANCE), None)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}".replace("%", " %")


def trials_cell(finished: int, cut: int) -> str:
    return f"{finished}" + (f" + {cut} cut" if cut else "")


def compare(name: str, budget_s: float, ours: dict, peer: dict, facts: dict) -> list[str]:
    """One RESULTS.md row from automl's run (summary, trial log, wall) and AutoKeras's result."""
    summary, log = ours.get("summary") or {}, ours.get("trial_log") or {}
    ours_acc = summary.get("metrics", {}).get("test", {}).get("accuracy")
    peer_acc, peer_val = peer.get("test_accuracy"), peer.get("val_accuracy")
    ours_reach = peer_reach = None
    if peer_val is not None:
        ours_reach = time_to_reach(ours_curve(log), peer_val)
        peer_reach = time_to_reach(peer_curve(peer.get("trials", {})), peer_val)
    best_ours = max((value for _, value in ours_curve(log)), default=None)
    trials = summary.get("trials", [])
    cut = sum(trial.get("status") == "CUT_AT_DEADLINE" for trial in trials)
    peer_cut = int(bool(peer.get("deadline_fired")))
    fingerprint = summary.get("fingerprint")
    return [
        name, f"{budget_s:g} s",
        percent(ours_acc) if ours_acc is not None else f"failed: {ours.get('error', '—')}",
        percent(peer_acc) if peer_acc is not None else f"failed: {peer.get('error', '—')}",
        f"{ours_acc / peer_acc:.3f}" if ours_acc is not None and peer_acc else "—",
        f"{ours['wall']:.0f} s", f"{peer['wall']:.0f} s",
        trials_cell(len(trials) - cut, cut) if trials else "—",
        trials_cell(max(peer.get("trials_finished", 0) - peer_cut, 0), peer_cut) if peer_acc is not None else "—",
        percent(peer_val),
        f"{ours_reach:.0f} s" if ours_reach is not None else
        (f"not reached (best {percent(best_ours)})" if best_ours is not None else "—"),
        f"{peer_reach:.0f} s" if peer_reach is not None else "—",
        f"{ours_reach / peer_reach:.2f}" if ours_reach is not None and peer_reach else "—",
        "—" if fingerprint is None else "✓" if fingerprint == facts.get("fingerprint") else
        f"✗ ({fingerprint} vs {facts.get('fingerprint')})",
        datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") + f", {bench.commit()}",
    ]


def run_ours(data: Path, run_dir: Path, budget_s: float, keras_home: Path, flags) -> dict:
    code, seconds, log = bench.run_automl(data, run_dir, budget_s, keras_home, flags)
    summary_path, trial_path = run_dir / "summary.json", run_dir / "trial_log.json"
    return {"wall": seconds,
            "error": None if code == 0 else f"exit {code}: {bench.last_line(log)}",
            "summary": json.loads(summary_path.read_text()) if code == 0 and summary_path.is_file() else None,
            "trial_log": json.loads(trial_path.read_text()) if trial_path.is_file() else None}


def compare_dataset(index: int, name: str, args: argparse.Namespace) -> list[str]:
    """Exports the split, runs both tools (automl first on even indexes, AutoKeras first on odd ones)."""
    pairing = PAIRINGS[name]
    entry, budget_s = bench.BENCHMARKS[pairing.bench], bench.budget_for(bench.BENCHMARKS[pairing.bench], args)
    data, out_dir = args.data_dir / entry.data, args.runs_dir / name
    keras_home = args.data_dir / "keras_home"
    out_dir.mkdir(parents=True, exist_ok=True)
    facts = export_split(data, out_dir / "split.npz")
    print(f"[{name}] split exported: {facts['sizes']} (fingerprint {facts['fingerprint']}); budget {budget_s:g} s",
          flush=True)
    env = {**os.environ, "KERAS_HOME": str(keras_home), "TF_CPP_MIN_LOG_LEVEL": "2"}
    runs = {}
    order = ("automl", "autokeras") if index % 2 == 0 else ("autokeras", "automl")
    for tool in order:
        print(f"[{name}] running {tool} …", flush=True)
        if tool == "automl":
            runs[tool] = run_ours(data, out_dir / "automl", budget_s, keras_home, entry.flags)
        else:
            peer, seconds = run_peer(out_dir / "split.npz", pairing.peer_task, budget_s, out_dir, args.peer_python, env)
            runs[tool] = {**peer, "wall": seconds}
        print(f"[{name}] {tool} done in {runs[tool]['wall']:.0f} s"
              + (f" ({runs[tool]['error']})" if runs[tool].get("error") else ""), flush=True)
    return compare(name, budget_s, runs["automl"], runs["autokeras"], facts)


def write_section(rows: dict[str, str], results: Path, markers: tuple[str, str], intro: str, columns, order) -> None:
    """Puts the rows in RESULTS.md's section between MARKERS (INTRO opens with the start marker; the
    section is made after the header if absent), keeping rows of other datasets already there, in ORDER."""
    start, end = markers
    text = results.read_text(encoding="utf-8") if results.is_file() else bench.HEADER
    if start in text and end in text:
        before, rest = text.split(start, 1)
        section, after = rest.split(end, 1)
        for line in section.splitlines():
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if line.startswith("| ") and cells[0] in order and cells[0] not in rows:
                rows[cells[0]] = line
    else:
        heading = re.search(r"^## ", text, re.MULTILINE)
        cut = heading.start() if heading else len(text)
        before, after = text[:cut], "\n\n" + text[cut:]
    table = [bench.table_row(list(columns)), bench.table_row(["---"] * len(columns))]
    table += [rows[name] for name in order if name in rows]
    section = intro + "\n".join(table) + "\n" + end
    results.write_text(before.rstrip("\n") + "\n\n" + section + "\n\n" + after.lstrip("\n"), encoding="utf-8")


def write_rows(rows: dict[str, str], results: Path) -> None:
    """The AutoKeras section of RESULTS.md (write_section), rows in PAIRINGS order."""
    write_section(rows, results, (START, END), INTRO, COLUMNS, PAIRINGS)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    available = [name for name, pairing in PAIRINGS.items() if pairing.bench in bench.BENCHMARKS]
    parser.add_argument("--datasets", default=",".join(available),
                        help=f"comma-separated datasets (default: {','.join(available)})")
    parser.add_argument("--data-dir", type=Path, default=bench.DEFAULT_DATA_DIR,
                        help=f"where prepare_data.py wrote the datasets (default: {bench.DEFAULT_DATA_DIR})")
    parser.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS_DIR,
                        help=f"splits, run directories and logs (default: {DEFAULT_RUNS_DIR})")
    parser.add_argument("--budget", type=float, default=None, help="force this budget in seconds for every dataset")
    parser.add_argument("--budget-scale", type=float, default=1.0, help="multiply every dataset's budget by this")
    parser.add_argument("--peer-python", type=Path, default=PEER_PYTHON,
                        help=f"Python of the AutoKeras venv (default: {PEER_PYTHON})")
    parser.add_argument("--results", type=Path, default=bench.RESULTS, help=f"results file (default: {bench.RESULTS})")
    parser.add_argument("--no-write", action="store_true", help="print the rows without touching the results file")
    return parser.parse_args(argv)


def check_inputs(names: list[str], args: argparse.Namespace) -> str | None:
    """An error message for unknown or not-yet-available datasets, missing data or a missing AutoKeras venv."""
    unknown = [name for name in names if name not in PAIRINGS]
    if unknown:
        return f"Unknown dataset(s) {', '.join(unknown)}. Choose from: {', '.join(PAIRINGS)}."
    pending = [name for name in names if PAIRINGS[name].bench not in bench.BENCHMARKS]
    if pending:
        return (f"No benchmark entry yet for {', '.join(pending)} in run_benchmarks.BENCHMARKS "
                "(it joins once automl and prepare_data.py take it). Leave it out of --datasets.")
    problem = bench.check_inputs([PAIRINGS[name].bench for name in names], args.data_dir)
    if problem:
        return problem
    if not args.peer_python.is_file():
        return (f"No AutoKeras environment at '{args.peer_python}'. "
                "Run: bash benchmarks/peers/autokeras/install.sh (or pass --peer-python).")
    return None


def main(argv=None) -> int:
    args = parse_args(argv)
    names = [name.strip() for name in args.datasets.split(",") if name.strip()]
    problem = check_inputs(names, args)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    rows = {}
    for index, name in enumerate(names):
        rows[name] = bench.table_row(compare_dataset(index, name, args))
        print(rows[name], flush=True)
        if not args.no_write:  # after every dataset, so an interrupted run keeps what it measured
            write_rows(dict(rows), args.results)
    if not args.no_write:
        print(f"Side-by-side rows written to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
