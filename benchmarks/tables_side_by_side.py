"""automl and AutoGluon's TabularPredictor side by side on real tables: the same split, the same
wall-clock budget, one invocation.

For each table: exports the exact train/val/test split `automl run --pipeline benchmark` makes (automl's
own ingest and seed, as side_by_side.py does for AutoKeras), runs `automl run --pipeline benchmark` and
AutoGluon (benchmarks/peers/autogluon/runner.py in its own venv: train + validation as its training
data, time_limit = the budget, preset best_quality) alternating which goes first, and writes one row per
table into its own section of RESULTS.md (rows of tables not re-run are kept). The score is test
accuracy for classification, test R² for regression. Prepare with benchmarks/prepare_data.py and
benchmarks/peers/autogluon/install.sh.

    python benchmarks/tables_side_by_side.py [--datasets breast_cancer,wine] [--budget SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import run_benchmarks as bench  # same folder: the dataset table, budgets and the automl runner
from side_by_side import export_split, run_runner, write_section

PEER_DIR = bench.BENCH_DIR / "peers" / "autogluon"
PEER_PYTHON = PEER_DIR / ".venv" / "bin" / "python"
DEFAULT_RUNS_DIR = Path("/tmp/automl-tables-side-by-side")
START, END = "<!-- tables-side-by-side:start -->", "<!-- tables-side-by-side:end -->"
TABLES = {"breast_cancer": "classification", "wine": "classification", "digits_table": "classification",
          "fair": "classification", "anes96": "classification", "diabetes": "regression"}
COLUMNS = ("dataset", "task", "budget", "automl test", "AutoGluon test", "difference", "automl wall",
           "AutoGluon wall", "automl family (how chosen)", "best simple model in automl's run (test)",
           "AutoGluon best model", "same split", "date, commit")
INTRO = f"""{START}
## Side by side with AutoGluon 1.6.3 on tables (same split, same budget, same run)

Made by `python benchmarks/tables_side_by_side.py` (rows of tables not re-run are kept). For each
table the script exports the exact split `automl run --pipeline benchmark` makes, and gives both tools
the same wall-clock budget counted from process start, alternating which runs first. AutoGluon's
`TabularPredictor` (CPU only: LightGBM, CatBoost, XGBoost, its other tree and linear models; no torch)
gets train + validation as its training data, `time_limit` = the budget less its start-up and 5 s for
predicting, and preset `best_quality`; automl gets the same rows (it cross-validates and refits on train
+ validation where validation is small). Scores: test accuracy, or test R² for regression.

"""


def run_peer(split: Path, task: str, budget_s: float, out_dir: Path, peer_python: Path) -> dict:
    """Runs runner.py in the AutoGluon venv; returns its JSON result (or an error) with the wall seconds."""
    result_path = out_dir / "autogluon.json"
    command = [str(peer_python), str(PEER_DIR / "runner.py"), str(split), "--task", task, "--budget",
               f"{budget_s:g}", "--output", str(result_path), "--workdir", str(out_dir)]
    result, seconds = run_runner(command, result_path, out_dir / "autogluon.log", budget_s, dict(os.environ),
                                 {"test_score": None})
    return {**result, "wall": seconds}


def run_ours(data: Path, run_dir: Path, budget_s: float, keras_home: Path) -> dict:
    code, seconds, log = bench.run_automl(data, run_dir, budget_s, keras_home)
    summary_path = run_dir / "summary.json"
    return {"wall": seconds, "error": None if code == 0 else f"exit {code}: {bench.last_line(log)}",
            "summary": json.loads(summary_path.read_text()) if code == 0 and summary_path.is_file() else None}


def score_cell(score: float | None, task: str) -> str:
    if score is None:
        return "—"
    return f"{score:.2%}".replace("%", " %") if task == "classification" else f"R² {score:.3f}"


def simple_cell(summary: dict, task: str) -> str:
    simple = summary.get("simple_models") or {}
    models = simple.get("models") or []
    if not models:
        return "—"
    best = max(models, key=lambda m: m["val_score"])
    return f"{best['name']} {score_cell(best['test_score'], task)}"


def compare(name: str, task: str, budget_s: float, ours: dict, peer: dict, facts: dict) -> list[str]:
    """One RESULTS.md row from automl's run and AutoGluon's result."""
    summary = ours.get("summary") or {}
    metric = "accuracy" if task == "classification" else "r2"
    ours_score = summary.get("metrics", {}).get("test", {}).get(metric)
    peer_score = peer.get("test_score")
    difference = "—"
    if ours_score is not None and peer_score is not None:
        unit = " points" if task == "classification" else ""
        gap = (ours_score - peer_score) * (100 if task == "classification" else 1)
        difference = f"{gap:+.2f}{unit}" if task == "classification" else f"{gap:+.3f}"
    fingerprint = summary.get("fingerprint")
    how = "cross-validated + refit" if summary.get("cross_validation") else "validation split"
    return [
        name, task, f"{budget_s:g} s",
        score_cell(ours_score, task) if ours_score is not None else f"failed: {ours.get('error', '—')}",
        score_cell(peer_score, task) if peer_score is not None else f"failed: {peer.get('error', '—')}",
        difference, f"{ours['wall']:.0f} s", f"{peer['wall']:.0f} s",
        f"{summary.get('family', '—')} ({how})", simple_cell(summary, task), str(peer.get("best_model", "—")),
        "—" if fingerprint is None else "✓" if fingerprint == facts.get("fingerprint") else "✗",
        datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") + f", {bench.commit()}",
    ]


def compare_dataset(index: int, name: str, args: argparse.Namespace) -> list[str]:
    entry, budget_s = bench.BENCHMARKS[name], bench.budget_for(bench.BENCHMARKS[name], args)
    data, out_dir = args.data_dir / entry.data, args.runs_dir / name
    out_dir.mkdir(parents=True, exist_ok=True)
    facts = export_split(data, out_dir / "split.npz")
    print(f"[{name}] split exported: {facts['sizes']}; budget {budget_s:g} s", flush=True)
    runs = {}
    for tool in ("automl", "autogluon") if index % 2 == 0 else ("autogluon", "automl"):
        print(f"[{name}] running {tool} …", flush=True)
        runs[tool] = run_ours(data, out_dir / "automl", budget_s, args.data_dir / "keras_home") if tool == "automl" \
            else run_peer(out_dir / "split.npz", TABLES[name], budget_s, out_dir, args.peer_python)
        print(f"[{name}] {tool} done in {runs[tool]['wall']:.0f} s"
              + (f" ({runs[tool]['error']})" if runs[tool].get("error") else ""), flush=True)
    return compare(name, TABLES[name], budget_s, runs["automl"], runs["autogluon"], facts)


def write_rows(rows: dict[str, str], results: Path) -> None:
    """The AutoGluon section of RESULTS.md (side_by_side.write_section), rows in TABLES order."""
    write_section(rows, results, (START, END), INTRO, COLUMNS, TABLES)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(TABLES), help=f"comma-separated (default: {','.join(TABLES)})")
    parser.add_argument("--data-dir", type=Path, default=bench.DEFAULT_DATA_DIR,
                        help=f"where prepare_data.py wrote the datasets (default: {bench.DEFAULT_DATA_DIR})")
    parser.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS_DIR,
                        help=f"splits, run directories and logs (default: {DEFAULT_RUNS_DIR})")
    parser.add_argument("--budget", type=float, default=None, help="force this budget in seconds for every table")
    parser.add_argument("--budget-scale", type=float, default=1.0, help="multiply every table's budget by this")
    parser.add_argument("--peer-python", type=Path, default=PEER_PYTHON,
                        help=f"Python of the AutoGluon venv (default: {PEER_PYTHON})")
    parser.add_argument("--results", type=Path, default=bench.RESULTS, help=f"results file (default: {bench.RESULTS})")
    parser.add_argument("--no-write", action="store_true", help="print the rows without touching the results file")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    names = [name.strip() for name in args.datasets.split(",") if name.strip()]
    unknown = [name for name in names if name not in TABLES]
    problem = (f"Unknown table(s) {', '.join(unknown)}. Choose from: {', '.join(TABLES)}." if unknown
               else bench.check_inputs(names, args.data_dir))
    if problem is None and not args.peer_python.is_file():
        problem = (f"No AutoGluon environment at '{args.peer_python}'. "
                   "Run: bash benchmarks/peers/autogluon/install.sh (or pass --peer-python).")
    if problem:
        print(problem, file=sys.stderr)
        return 1
    rows = {}
    for index, name in enumerate(names):
        rows[name] = bench.table_row(compare_dataset(index, name, args))
        print(rows[name], flush=True)
        if not args.no_write:  # after every table, so an interrupted run keeps what it measured
            write_rows(dict(rows), args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
