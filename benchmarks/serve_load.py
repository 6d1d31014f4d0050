"""Load on `automl serve`, over loopback only: cold start, requests/s, p50/p95/p99 latency and error rate at 1, 8
and 32 concurrent clients, for an image model and a table model (automl.serve.load does the measuring, as
`automl serve RUN_DIR --benchmark` does for one run).

    python benchmarks/serve_load.py [--image-run RUN_DIR] [--table-run RUN_DIR] [--requests 400]

Without a run directory, one is trained first (`automl run example:digits` / `example:breast_cancer` with
`--pipeline quick --time-budget 60`). Each server is its own process (`automl serve`); cold start is from
starting it to its first healthy /healthz (TensorFlow's import and the model's load). Each client sends one
instance a request (a held-out sample the run kept) on its own keep-alive connection. Prints a Markdown table
for benchmarks/RESULTS.md; never run it beside tests or another benchmark (they would share the cores).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from automl.serve import benchmark


def train(example: str, run_dir: Path) -> Path:
    subprocess.run([sys.executable, "-m", "automl", "run", example, "--pipeline", "quick", "--time-budget", "60",
                    "-o", str(run_dir), "--quiet"], check=True)
    return run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-run", type=Path)
    parser.add_argument("--table-run", type=Path)
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args()
    concurrency = tuple(map(int, args.concurrency.split(",")))
    print("| model | clients | requests/s | p50 ms | p95 ms | p99 ms | error rate | cold start |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="automl-serve-load-") as scratch:
        runs = {"image (digits, cnn)": args.image_run or train("example:digits", Path(scratch) / "digits"),
                "table (breast_cancer)": args.table_run or train("example:breast_cancer", Path(scratch) / "bc")}
        for name, run_dir in runs.items():
            for row in benchmark(run_dir, concurrency, args.requests):
                print(f"| {name} | {row.clients} | {row.requests_per_s} | {row.p50_ms} | {row.p95_ms} | {row.p99_ms} | "
                      f"{row.error_rate:.2%} | {row.cold_start_s} s |", flush=True)


if __name__ == "__main__":
    main()
