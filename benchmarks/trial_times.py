"""Seconds per trial of finished runs, from their summary.json: how long one search trial costs.

    python benchmarks/trial_times.py RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def trial_seconds(run_dir: Path) -> list[float]:
    summary = json.loads((run_dir / "summary.json").read_text())
    return [t["seconds"] for t in summary["trials"] if t["trial_id"] != "fine-tune" and t["seconds"]]


def main(run_dirs: list[str]) -> int:
    if not run_dirs:
        print(__doc__.strip(), file=sys.stderr)
        return 1
    print("| run | trials | mean s/trial | median s/trial |\n|---|---|---|---|")
    for run_dir in map(Path, run_dirs):
        seconds = trial_seconds(run_dir)
        print(f"| {run_dir.name} | {len(seconds)} | {statistics.mean(seconds):.1f} | {statistics.median(seconds):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
