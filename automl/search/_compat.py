"""Every use of Keras Tuner's and TensorFlow's private or undocumented API, in one place.

Why one module: these are the lines an upgrade of Keras Tuner or TensorFlow can break. Each use is
guarded, so a change upstream gives a fallback or a clear error where it is used, never a failing
`import automl`; and each has a canary in tests/search/test_compat.py that fails when upstream changes
what it relies on, so the fallback is never reached silently.

What is here:
    * Keras Tuner's best-epoch checkpoint, `SaveBestEpoch` (private module): a resumed trial brings it
      up to date with the epochs run before the stop.
    * Callbacks shared across trials: Keras Tuner deep-copies a search's callbacks for every trial.
    * The oracle's trial records and trial cap (`trials`, `ongoing_trials`, `max_trials`: attributes,
      not documented API), read and set from Keras callbacks.
    * The first trial at the family's defaults, through the oracle's public `populate_space` hook, with
      the oracle's draw counter (`_seed_state`, private) put back so later trials draw as before.
    * TensorFlow's gradient registry (private), from which each trial's traced graphs are released.
    * Keras Tuner's distributed mode: its gRPC oracle service (`OracleServicer`, private module) served
      by the chief, its `OracleClient` on workers, and the oracle's `ongoing_trials` and `tuner_ids`,
      which the chief reads to fail the trial of a worker that died and to know when the search is over.
"""

from __future__ import annotations

import functools
import warnings

import keras
import keras_tuner as kt

try:  # private module: Keras Tuner exports no name for the checkpoint its tuners add to every trial's fit
    from keras_tuner.src.engine.tuner_utils import SaveBestEpoch
except ImportError:  # moved or renamed: recognised by its attributes instead (best_epoch_checkpoint)
    SaveBestEpoch = None

# TensorFlow names the gradient functions tf.custom_gradient registers in graph mode with this prefix.
CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def _upstream_changed(what: str) -> RuntimeError:
    return RuntimeError(
        f"{what}: Keras Tuner {kt.__version__} no longer works as automl.search._compat assumes "
        f"(run tests/search/test_compat.py to see what changed).")


# Keras Tuner's best-epoch checkpoint.

def is_best_epoch_checkpoint(callback) -> bool:
    """Whether a callback is Keras Tuner's best-epoch checkpoint.

    Known by class; if Keras Tuner moved the class, by the attributes this package uses of it
    (`filepath`, `objective`, `best_value`).
    """
    if SaveBestEpoch is not None:
        return isinstance(callback, SaveBestEpoch)
    return all(hasattr(callback, name) for name in ("filepath", "objective", "best_value"))


def best_epoch_checkpoint(callbacks: list) -> keras.callbacks.Callback | None:
    """Keras Tuner's best-epoch checkpoint among a trial's fit callbacks, or None outside a tuner."""
    return next((callback for callback in callbacks if is_best_epoch_checkpoint(callback)), None)


def replay_best_epoch(checkpoint, logs: dict) -> None:
    """Tells the checkpoint about an epoch run before a restart, so it does not overwrite a better one.

    Raises:
        RuntimeError: The checkpoint no longer keeps its best value in `best_value`.
    """
    if not hasattr(checkpoint, "best_value"):
        raise _upstream_changed("Keras Tuner's best-epoch checkpoint has no best_value")
    objective = checkpoint.objective
    if objective.has_value(logs):
        value = objective.get_value(logs)
        if objective.better_than(value, checkpoint.best_value):
            checkpoint.best_value = value


# Callbacks shared across trials.

class SharedAcrossTrials(keras.callbacks.Callback):
    """A callback that holds run-wide state, so every trial gets this very object.

    Keras Tuner deep-copies the search's callbacks for every trial (Tuner.run_trial), so state kept
    in a callback would otherwise be lost when the trial ends. Returning self from __deepcopy__ is
    ordinary Python; the canary checks that Keras Tuner still copies, and that this survives it.
    """

    def __deepcopy__(self, memo):
        return self


# The oracle's trial records and trial cap.

def all_trials(tuner) -> dict:
    """The oracle's trials by id, finished or not (`Oracle.trials`: an attribute, not documented).

    Raises:
        RuntimeError: The oracle no longer keeps its trials there.
    """
    trials = getattr(tuner.oracle, "trials", None)
    if not isinstance(trials, dict):
        raise _upstream_changed("Oracle.trials is not a dict of trials")
    return trials


def trial_count(tuner) -> int:
    """How many trials the oracle has started, the running one included (on a worker, whose oracle is the
    chief's, the current trial's number: Keras Tuner numbers trials from 0 in the order it starts them)."""
    if is_worker(tuner):
        current = getattr(tuner, "current_trial", None)
        return int(current.trial_id) + 1 if current is not None and current.trial_id.isdigit() else 0
    return len(all_trials(tuner))


def ongoing_trial(tuner):
    """The trial being trained now: the one the tuner's on_trial_begin hook kept (automl.search.tuner), else
    `Oracle.ongoing_trials` (by tuner id), else the last trial whose status is RUNNING, or None."""
    current = getattr(tuner, "current_trial", None)
    if current is not None:
        return current
    ongoing = getattr(tuner.oracle, "ongoing_trials", None)
    if isinstance(ongoing, dict):
        return next(iter(ongoing.values()), None)
    running = [trial for trial in all_trials(tuner).values() if trial.status == "RUNNING"]
    return running[-1] if running else None


def ongoing_trial_id(tuner) -> str | None:
    trial = ongoing_trial(tuner)
    return trial.trial_id if trial else None


def set_trial_cap(tuner, max_trials: int) -> None:
    """Caps the trials the oracle starts (`Oracle.max_trials`, which Oracle.create_trial checks).

    Raises:
        RuntimeError: The oracle no longer has max_trials (setting it would silently do nothing).
    """
    if not hasattr(tuner.oracle, "max_trials"):
        raise _upstream_changed("Oracle.max_trials is gone")
    tuner.oracle.max_trials = max_trials


def stop_new_trials(tuner) -> None:
    """Lets the running trial finish but starts no new one (a cap of 0 would mean no cap at all). On a
    worker it does nothing: the chief's oracle holds the cap, and the chief stops the search itself."""
    if is_worker(tuner):
        return
    set_trial_cap(tuner, max(trial_count(tuner), 1))


# The first trial at the family's defaults.

def defaults_first(tuner, overrides: dict | None = None) -> None:
    """Makes the tuner's first trial use the hyperparameters' defaults (a known-good configuration),
    with `overrides` in their place; Keras Tuner otherwise starts from a random point.

    Wraps the oracle's public `populate_space(trial_id)`, which every oracle implements and
    Oracle.create_trial calls for each new trial: the oracle picks the first trial as usual (Hyperband
    puts it in a bracket and adds its `tuner/` values) and only the drawn values are replaced. Later
    trials and resumed runs (the oracle already has trials) are left alone. Without the hook the search
    still runs, from a random first trial, with a warning.
    """
    oracle = tuner.oracle
    populate = getattr(oracle, "populate_space", None)
    if not callable(populate):
        warnings.warn("Keras Tuner's Oracle has no populate_space: the first trial is random, not the "
                      "family's defaults.", RuntimeWarning, stacklevel=2)
        return

    @functools.wraps(populate)
    def first_at_defaults(trial_id):
        first = not all_trials(tuner)
        # Private: the oracle's draw counter. Put back after the first trial's (discarded) draw, so later
        # trials get the values they got before this hook existed (the old patch drew nothing for trial 0).
        seed_state = getattr(oracle, "_seed_state", None)
        response = populate(trial_id)
        if not first or response.get("status") != "RUNNING" or not response.get("values"):
            return response
        if isinstance(seed_state, int):
            oracle._seed_state = seed_state
        bookkeeping = {k: v for k, v in response["values"].items() if k.startswith("tuner/")}
        defaults = {hp.name: hp.default for hp in oracle.hyperparameters.space}
        return {**response, "values": {**defaults, **(overrides or {}), **bookkeeping}}

    oracle.populate_space = first_at_defaults


# TensorFlow's gradient registry.

def gradient_registry() -> dict:
    """TensorFlow's process-wide gradient registry, by name (private: it has no public API).

    If TensorFlow moved it, an empty dict: nothing is then released (ReleaseTrialGraphs does nothing
    and memory may grow by a few MiB a trial over a long search), but nothing crashes.
    """
    try:
        from tensorflow.python.framework import ops
    except ImportError:
        return {}
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else {}


def custom_gradient_names() -> set[str]:
    """The names of the gradient functions tf.custom_gradient has registered so far."""
    return {name for name in gradient_registry() if name.startswith(CUSTOM_GRADIENT_PREFIX)}


def release_custom_gradients(keep: set[str]) -> int:
    """Unregisters the custom gradients not in `keep`; returns how many (0 if the registry moved)."""
    registry = gradient_registry()
    added = [name for name in registry if name.startswith(CUSTOM_GRADIENT_PREFIX) and name not in keep]
    for name in added:
        del registry[name]
    return len(added)


# Keras Tuner's distributed mode.

try:  # private modules: Keras Tuner documents the distributed mode's environment variables, not its classes
    from keras_tuner.src.distribute.oracle_chief import OracleServicer
    from keras_tuner.src.distribute.oracle_client import OracleClient
    from keras_tuner.src import protos as _protos
except ImportError:  # moved: --workers refuses with a clear error (serve_oracle), one process still works
    OracleServicer = OracleClient = _protos = None


def is_worker(tuner) -> bool:
    """Whether a tuner's oracle is the chief's, reached over gRPC (a worker's tuner)."""
    return OracleClient is not None and isinstance(getattr(tuner, "oracle", None), OracleClient)


def serve_oracle(oracle, address: str):
    """Serves an oracle to workers at address ("host:port") as Keras Tuner's chief does, without its
    blocking loop (oracle_chief.start_server), so the chief can watch its workers and the deadline.
    Returns the started gRPC server; stop it with server.stop(grace).

    Raises:
        RuntimeError: Keras Tuner's oracle service moved, or the address cannot be bound.
    """
    if OracleServicer is None:
        raise _upstream_changed("keras_tuner.src.distribute.oracle_chief.OracleServicer is gone")
    from concurrent import futures

    import grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    _protos.get_service_grpc().add_OracleServicer_to_server(OracleServicer(oracle), server)
    if server.add_insecure_port(address) == 0:
        raise RuntimeError(f"cannot listen on {address}")
    server.start()
    return server


def running_trials(oracle) -> dict:
    """The trials workers are training now, by tuner id (`Oracle.ongoing_trials`)."""
    ongoing = getattr(oracle, "ongoing_trials", None)
    if not isinstance(ongoing, dict):
        raise _upstream_changed("Oracle.ongoing_trials is not a dict")
    return dict(ongoing)


def fail_trial_of(oracle, tuner_id: str, message: str) -> str | None:
    """Ends the trial a (dead) worker was training as FAILED and forgets the worker, so the search goes on
    without it and ends. Returns the trial's id, or None when the worker had no trial."""
    trial = running_trials(oracle).get(tuner_id)
    if trial is not None:
        trial.status = kt.engine.trial.TrialStatus.FAILED
        trial.message = message
        oracle.end_trial(trial)  # pops it from ongoing_trials and saves the oracle
    getattr(oracle, "tuner_ids", set()).discard(tuner_id)
    return trial.trial_id if trial is not None else None
