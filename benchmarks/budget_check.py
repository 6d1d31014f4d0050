"""Time budgets on real data: `automl run DATA --time-budget 60s`, timed from outside the process.

The budget covers the whole command (TensorFlow's import included), so the wall time of the
subprocess is compared with it: a run passes when it ends within 5 % of the budget or 10 s,
whichever is larger, and has written every artifact (report.html, summary.json, the SavedModel,
model.keras, the trial log and the run record). Exit code 1 if any run fails.

    python benchmarks/budget_check.py [--datasets example:digits,example:breast_cancer] [--budget 60]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The tolerance: within 5 % of the budget, or 10 s for short budgets.
TOLERANCE_FRACTION, TOLERANCE_S = 0.05, 10.0
ARTIFACTS = ("report.html", "summary.json", "model/saved_model.pb", "model/metadata.json",
             "model/class_names.json", "model.keras", "trial_log.json", "run.json")


def check_one(data: str, budget: float, pipeline: str | None, runs_dir: Path) -> dict:
    run_dir = runs_dir / data.replace(":", "_")
    command = [sys.executable, "-m", "automl", "run", data, "--time-budget", f"{budget:g}s",
               "--output", str(run_dir), "--overwrite", *(["--pipeline", pipeline] if pipeline else [])]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=budget * 5 + 300)
    wall = time.monotonic() - started
    missing = [name for name in ARTIFACTS if not (run_dir / name).exists()]
    summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else {}
    allowed = max(budget * TOLERANCE_FRACTION, TOLERANCE_S)
    ok = done.returncode == 0 and not missing and wall <= budget + allowed
    test = summary.get("metrics", {}).get("test", {})
    return {"data": data, "budget": budget, "wall": wall, "over": wall - budget, "allowed": allowed, "ok": ok,
            "exit": done.returncode, "missing": missing, "trials": len(summary.get("trials", [])),
            "accuracy": test.get("accuracy"), "command": shlex.join(["python", *command[1:]]),
            "error": "" if done.returncode == 0 else (done.stderr or done.stdout).strip()[-400:]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="example:digits,example:breast_cancer")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds")
    parser.add_argument("--pipeline", help="preset to run with (default: the defaults, Hyperband)")
    parser.add_argument("--runs-dir", type=Path, help="where run directories go (default: a temporary folder)")
    args = parser.parse_args(argv)
    runs_dir = args.runs_dir or Path(tempfile.mkdtemp(prefix="automl-budget-"))
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    results = [check_one(data, args.budget, args.pipeline, runs_dir) for data in args.datasets.split(",")]
    print("| data | budget | wall | over budget | allowed | trials | test accuracy | artifacts | result |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        accuracy = "—" if r["accuracy"] is None else f"{r['accuracy']:.2%}"
        artifacts = "all" if not r["missing"] else "missing " + ", ".join(r["missing"])
        print(f"| {r['data']} | {r['budget']:.0f} s | {r['wall']:.1f} s | {r['over']:+.1f} s | {r['allowed']:.0f} s "
              f"| {r['trials']} | {accuracy} | {artifacts} | {'OK' if r['ok'] else 'FAIL'} |")
    for r in results:
        print(f"command: {r['command']}")
        if r["error"]:
            print(f"{r['data']} exited {r['exit']}: {r['error']}")
    print(f"run directories: {runs_dir}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
