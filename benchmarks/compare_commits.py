"""Side by side: the benchmark rows of a base commit and of this working tree, in one invocation.

For changes that must not move results (a refactoring): a git worktree of the base commit is made in a
temporary folder, and for each dataset the base's own run_benchmarks.py runs, then this tree's,
one after the other on the same machine and data. Each row is printed as run_benchmarks.py prints it,
marked base or head; nothing is written to RESULTS.md (paste the rows you keep).

    python benchmarks/prepare_data.py
    python benchmarks/compare_commits.py --base 0d0d7b1 --datasets digits,breast_cancer [--repeats 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def rows(tree: Path, dataset: str, runs_dir: Path, extra: list[str]) -> list[str]:
    """The table rows run_benchmarks.py of `tree` prints for one dataset (its own code runs: cwd is `tree`)."""
    command = [sys.executable, str(tree / "benchmarks" / "run_benchmarks.py"), "--datasets", dataset,
               "--no-write", "--runs-dir", str(runs_dir), *extra]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True)
    printed = [line for line in done.stdout.splitlines() if line.startswith("|")]
    return printed or [f"| {dataset} | failed (exit {done.returncode}): {done.stderr.strip()[-300:]} |"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the commit to compare against (e.g. the parent of a refactoring)")
    parser.add_argument("--datasets", default="digits,breast_cancer", help="comma-separated names of run_benchmarks.py")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of base-then-head per dataset")
    args, extra = parser.parse_known_args(argv)  # the rest (e.g. --budget 60) goes to run_benchmarks.py
    with tempfile.TemporaryDirectory(prefix="automl-base-") as temp:
        base_tree = Path(temp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), args.base], cwd=REPO_ROOT,
                       check=True, capture_output=True)
        try:
            for dataset in [name.strip() for name in args.datasets.split(",") if name.strip()]:
                for round_ in range(1, args.repeats + 1):
                    for label, tree in (("base " + args.base, base_tree), ("head", REPO_ROOT)):
                        for row in rows(tree, dataset, Path(temp) / "runs" / label.split()[0], extra):
                            print(f"{label} (round {round_}): {row}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=REPO_ROOT,
                           capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
