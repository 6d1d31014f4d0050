"""Voices the model has never heard: FSDD with one speaker held out (issue 32's measure).

For each held-out speaker, every recording of that speaker (both official splits) becomes the test split and
every recording of the other five speakers the training split (FSDD names files DIGIT_SPEAKER_N.wav); the
folders are copied under --work (plain files: automl reads no links out of the folder it is given), and
`automl run --pipeline benchmark --time-budget BUDGET` runs on each. Prints one row per speaker: the test
accuracy, the leaderboard's validation score of what shipped (before any refit on train + validation: the
shipped model heard the validation speaker, so its own validation accuracy says nothing), and what shipped.

    python benchmarks/prepare_data.py
    python benchmarks/fsdd_speakers.py [--speakers george,jackson] [--budget 300]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import run_benchmarks as bench  # same folder: the automl runner

SPEAKERS = ("george", "jackson", "lucas", "nicolas", "yweweler")


def held_out_folder(fsdd: Path, speaker: str, work: Path) -> Path:
    """work/fsdd-without-SPEAKER/{train,test}/<digit>/*.wav, made once."""
    target = work / f"fsdd-without-{speaker}"
    if (target / "test").is_dir():
        return target
    partial = work / f"fsdd-without-{speaker}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    for wav in sorted(fsdd.glob("*/*/*.wav")):
        digit, who = wav.stem.split("_")[:2]
        split = "test" if who == speaker else "train"
        (partial / split / digit).mkdir(parents=True, exist_ok=True)
        shutil.copy(wav, partial / split / digit / wav.name)
    partial.rename(target)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=bench.DEFAULT_DATA_DIR)
    parser.add_argument("--work", type=Path, default=Path("/tmp/automl-fsdd-speakers"))
    parser.add_argument("--speakers", default=",".join(SPEAKERS))
    parser.add_argument("--budget", type=float, default=300.0)
    args = parser.parse_args(argv)
    fsdd = args.data_dir / "fsdd"
    if not fsdd.is_dir():
        print(f"{fsdd} is missing: run python benchmarks/prepare_data.py first.", file=sys.stderr)
        return 1
    args.work.mkdir(parents=True, exist_ok=True)
    print("| held-out speaker | budget | test accuracy | leaderboard validation | wall | shipped |")
    print("| --- | --- | --- | --- | --- | --- |")
    for speaker in args.speakers.split(","):
        data = held_out_folder(fsdd, speaker, args.work)
        run_dir = args.work / "runs" / speaker
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        code, seconds, log = bench.run_automl(data, run_dir, args.budget, args.data_dir / "keras_home")
        summary = run_dir / "summary.json"
        if code != 0 or not summary.is_file():
            print(f"| {speaker} | {args.budget:g} s | failed (exit {code}; log {log}) | — | {seconds:.0f} s | — |",
                  flush=True)
            continue
        facts = json.loads(summary.read_text())
        test = facts["metrics"]["test"]["accuracy"]
        board = facts["leaderboard"]
        val = next(row["val_score"] for row in board["rows"] if row["name"] == board["chosen"])
        print(f"| {speaker} | {args.budget:g} s | {test:.2%} | {val:.2%} | {seconds:.0f} s | "
              f"{board['chosen']} ({facts['family']} searched) |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
