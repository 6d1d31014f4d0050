"""One process against N worker processes (`automl run --workers N`) on the same data, the same settings and the
same machine, in one invocation: the wall time of a fixed number of trials, and what a fixed time budget
buys (trials finished and test accuracy).

    python benchmarks/workers_side_by_side.py [--data example:digits,example:breast_cancer] [--workers 2]
        [--max-trials 8] [--epochs 20] [--budget 180]

Each dataset runs four times: {1 process, N workers} × {fixed trials with no time limit, a time budget}, in
that order, one at a time (never beside another benchmark: they would share the cores). Prints a Markdown
table for benchmarks/RESULTS.md ("Workers").
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(data: str, run_dir: Path, workers: int, max_trials: int, epochs: int, budget: str) -> dict:
    command = [sys.executable, "-m", "automl", "run", data, "-o", str(run_dir), "--workers", str(workers),
               "--max-trials", str(max_trials), "--epochs", str(epochs), "--time-budget", budget,
               "--tuner", "random", "--seed", "0", "--no-cross-validation"]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    summary = json.loads((run_dir / "summary.json").read_text())
    finished = [t for t in summary["trials"] if t["status"] == "COMPLETED"]
    test = summary["metrics"]["test"]
    return {"wall_s": round(wall, 1), "search_s": round(summary["search_seconds"], 1), "trials": len(finished),
            "trial_s": round(sum(t["seconds"] for t in finished), 1),
            "score": test.get("accuracy", test.get("r2")), "family": summary["family"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="example:digits,example:breast_cancer")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--budget", default="180")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory(prefix="automl-workers-") as scratch:
        for data in args.data.split(","):
            for mode, budget, trials in (("fixed trials", "none", args.max_trials), ("time budget", args.budget, 100)):
                for workers in (1, args.workers):
                    run_dir = Path(scratch) / f"{data.replace(':', '_')}-{mode.split()[0]}-{workers}"
                    result = run(data, run_dir, workers, trials, args.epochs, budget)
                    row = {"data": data, "mode": mode, "budget": budget, "workers": workers, **result}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    print(f"\n| data | mode | workers | wall | search | trials finished | sum of trial times | test score |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['data']} | {r['mode']} | {r['workers']} | error: {r['error']} |||||")
            continue
        mode = r["mode"] if r["budget"] == "none" else f"{r['mode']} {r['budget']}s"
        print(f"| {r['data']} ({r['family']}) | {mode} | {r['workers']} | {r['wall_s']}s | {r['search_s']}s | "
              f"{r['trials']} | {r['trial_s']}s | {r['score']:.4f} |")
    print(f"\n(commit {commit}, {time.strftime('%Y-%m-%d')}, `python benchmarks/workers_side_by_side.py "
          f"--data {args.data} --workers {args.workers} --max-trials {args.max_trials} --epochs {args.epochs} "
          f"--budget {args.budget}`)")


if __name__ == "__main__":
    main()
