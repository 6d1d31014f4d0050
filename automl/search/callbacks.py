"""Keras callbacks the search uses: a wall-clock deadline, per-trial timing and progress, and releasing
each trial's graphs."""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import keras

from automl.files import write_text_atomic
# Keras Tuner's and TensorFlow's private API is used only through _compat.
from automl.search._compat import (SharedAcrossTrials, best_epoch_checkpoint, custom_gradient_names,
                                   is_best_epoch_checkpoint, ongoing_trial, ongoing_trial_id,
                                   release_custom_gradients, replay_best_epoch, stop_new_trials, trial_count)


class DeadlineStop(SharedAcrossTrials):
    """Stops training at the deadline and caps the tuner's trial count so no new trial starts.

    Checked after every batch, so a trial stops within one batch of the deadline; its weights
    so far (or its best epoch's) are kept, so a search always ends with a trained model. A trial
    that ends when the next one's build and first step (setup_seconds) would not fit before the
    deadline stops the search there.
    """

    def __init__(self, tuner, deadline: float | None, setup_seconds: float = 0.0):
        super().__init__()
        self.tuner, self.deadline, self.fired, self.cut_trial = tuner, deadline, False, None
        self.setup_seconds = setup_seconds

    def on_train_end(self, logs=None):
        if self.deadline is not None and self.tuner is not None \
                and time.monotonic() + 2 * self.setup_seconds >= self.deadline:
            self.fired = True
            stop_new_trials(self.tuner)

    def on_train_batch_end(self, batch, logs=None):
        if self.deadline is not None and time.monotonic() >= self.deadline:
            if not self.fired and self.tuner is not None:
                self.cut_trial = ongoing_trial_id(self.tuner)
            self.fired = True
            self.model.stop_training = True
            if self.tuner is not None:  # None: a plain fit outside the tuner
                stop_new_trials(self.tuner)


class TrialWatcher(SharedAcrossTrials):
    """Records each trial's time and per-epoch history (Keras Tuner keeps only the best epoch's
    metrics) in a JSON file, so resumed runs keep them, and reports progress."""

    def __init__(self, tuner, log_path: Path, progress, max_epochs: int):
        super().__init__()
        self.tuner, self.log_path, self.progress, self.max_epochs = tuner, log_path, progress, max_epochs
        saved = json.loads(log_path.read_text()) if log_path.exists() else {}
        self._times, self._histories = saved.get("seconds", {}), saved.get("history", {})
        self._params, self._cut = saved.get("params", {}), saved.get("cut", [])
        self._trial_id, self._started = None, 0.0

    def seconds(self) -> dict[str, float]:
        return dict(self._times)

    def histories(self) -> dict[str, dict[str, list[float]]]:
        return {trial: dict(history) for trial, history in self._histories.items()}

    def param_counts(self) -> dict[str, int]:
        return dict(self._params)

    def cut_trials(self) -> set[str]:
        """Trials a deadline stopped before they finished (a worker's, recorded with mark_cut)."""
        return set(self._cut)

    def mark_cut(self, trial_id: str | None) -> None:
        """Records that the deadline cut trial_id (a worker's log tells the chief, which merges the logs)."""
        if trial_id is not None and trial_id not in self._cut:
            self._cut.append(trial_id)
            self._write()

    def on_train_begin(self, logs=None):
        trial = ongoing_trial(self.tuner)
        self._trial_id = trial.trial_id if trial else "?"
        self._started = time.monotonic()
        self._params[self._trial_id] = self.model.count_params()
        self._histories[self._trial_id] = {}  # a trial re-run after an interruption starts its history afresh
        values = trial.hyperparameters.values if trial else {}
        self.progress.trial_started(self._trial_id, trial_count(self.tuner),
                                    {k: v for k, v in values.items() if not k.startswith("tuner/")})

    def resumed(self, history: dict[str, list[float]], seconds: float) -> None:
        """The current trial continues from a backup: its epochs and training time before the stop."""
        self._histories[self._trial_id] = {name: list(values) for name, values in history.items()}
        self._started -= seconds

    def on_epoch_end(self, epoch, logs=None):
        history = self._histories.setdefault(self._trial_id, {})
        for name, value in (logs or {}).items():
            history.setdefault(name, []).append(float(value))
        epochs = self.params.get("epochs", self.max_epochs)
        self.progress.epoch_ended(self._trial_id, epoch + 1, epochs, dict(logs or {}))

    def on_train_end(self, logs=None):
        elapsed = time.monotonic() - self._started
        self._times[self._trial_id] = self._times.get(self._trial_id, 0.0) + elapsed
        self._write()
        self.progress.trial_ended(self._trial_id, elapsed)

    def _write(self) -> None:
        # Written aside and renamed: a run killed mid-write keeps the previous, whole log.
        write_text_atomic(self.log_path, json.dumps({"seconds": self._times, "history": self._histories,
                                                     "params": self._params, "cut": self._cut}))


class ReleaseTrialGraphs(keras.callbacks.Callback):
    """Drops the gradient functions that tracing this fit registered in TensorFlow's global registry.

    Each traced train step registers one (tf.distribute's all-reduce of the gradients uses
    tf.custom_gradient) whose closure holds that step's graph, and TensorFlow never removes them: every
    trial's graphs stayed alive after clear_session (about 5 MiB a trial; tensorflow/tensorflow#97697,
    #27492). The names are unique to this fit and nothing differentiates an optimizer update after it
    has been traced, so dropping them when the fit ends is safe. The registry is private to TensorFlow
    (_compat.gradient_registry); if it moves, this does nothing and memory grows again, but never crashes.
    """

    def on_train_begin(self, logs=None):
        self.registered_before = custom_gradient_names()

    def on_train_end(self, logs=None):
        release_custom_gradients(keep=self.registered_before)


class AnnealToBudget(keras.callbacks.Callback):
    """Cosine learning-rate decay over whichever runs out first: the trial's epochs or the time left.

    A model whose learning rate has decayed by the time it stops beats one cut off at full rate;
    with a wall-clock budget the stop comes from the clock, so the schedule follows the clock.
    """

    FLOOR = 0.02  # the rate never decays below 2 % of its start

    def __init__(self, deadline: float | None, steps_per_epoch: int):
        super().__init__()
        self.deadline, self.steps_per_epoch = deadline, steps_per_epoch

    def on_train_begin(self, logs=None):
        self.base = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.started, self.step = time.monotonic(), 0
        self.first_iteration = self._iterations()
        # Keras knows the steps of array inputs (a head's data doubles with flipped copies); else ours.
        steps = self.params.get("steps") or self.steps_per_epoch
        self.total_steps = max(1, self.params.get("epochs", 1) * steps)

    def _iterations(self) -> int:
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_epoch_begin(self, epoch, logs=None):
        # Counted by the optimizer: a trial restored from its backup (EpochBackup) continues its schedule.
        self.step = self._iterations() - self.first_iteration

    def on_train_batch_begin(self, batch, logs=None):
        done = self.step / self.total_steps
        if self.deadline is not None:
            done = max(done, (time.monotonic() - self.started) / max(self.deadline - self.started, 1e-6))
        scale = self.FLOOR + (1 - self.FLOOR) * 0.5 * (1 + math.cos(math.pi * min(done, 1.0)))
        self.model.optimizer.learning_rate.assign(self.base * scale)
        self.step += 1

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:  # the history (and the report's curves) show the schedule the clock drove
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_train_end(self, logs=None):
        self.model.optimizer.learning_rate.assign(self.base)


class EpochBackup(keras.callbacks.BackupAndRestore):
    """Backs a trial up after every epoch, so a run stopped mid-trial continues it from its last finished
    epoch; the backup is deleted when the trial's training ends.

    Keras restores the weights, the optimizer's state and the epoch; this adds the history so far and
    brings the callbacks that judge epochs up to date with the epochs before the stop: early stopping,
    Keras Tuner's best-epoch checkpoint (it would otherwise overwrite a better earlier epoch) and the
    trial record. It must come last among a fit's callbacks, as the learning-rate schedule reads the
    compiled rate before the restore replaces it with the annealed one.
    """

    def __init__(self, backup_dir: Path, initial_epoch: int, siblings: list):
        super().__init__(str(backup_dir), double_checkpoint=False)
        self.history_path = Path(backup_dir) / "history.json"
        self.initial_epoch, self.siblings = initial_epoch, siblings

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except (OSError, ValueError):  # unreadable: start the trial afresh, as without a backup
            shutil.rmtree(self.backup_dir, ignore_errors=True)
        saved = json.loads(self.history_path.read_text()) if self.history_path.exists() else {}
        self.history, self.seconds_before = saved.get("history", {}), saved.get("seconds", 0.0)
        self.started, self.restored = time.monotonic(), None

    def on_epoch_begin(self, epoch, logs=None):
        if self.restored is not None:
            return
        done = epoch - self.initial_epoch  # the first epoch this fit runs: after those restored
        # The history is written before the weights, so it may hold one epoch more than was restored.
        self.history = {name: values[:done] for name, values in self.history.items()} if done else {}
        self.restored = {name: list(values) for name, values in self.history.items()}
        if done:
            self._bring_up_to_date(done)
        else:
            self.seconds_before = 0.0

    def _bring_up_to_date(self, done: int) -> None:
        epochs = [{name: values[i] for name, values in self.restored.items() if i < len(values)} for i in range(done)]
        for callback in self.siblings:
            if isinstance(callback, keras.callbacks.EarlyStopping):
                for i, logs in enumerate(epochs):  # replayed: its patience counts the epochs before the stop
                    callback.on_epoch_end(self.initial_epoch + i, logs)
            elif is_best_epoch_checkpoint(callback):
                for logs in epochs:
                    replay_best_epoch(callback, logs)
            elif isinstance(callback, TrialWatcher):
                callback.resumed(self.restored, self.seconds_before)

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(float(value))
        self.history_path.parent.mkdir(parents=True, exist_ok=True)
        seconds = self.seconds_before + time.monotonic() - self.started
        write_text_atomic(self.history_path, json.dumps({"history": self.history, "seconds": seconds}))
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if self.restored is None:  # stopped after its last epoch, before it ended: nothing left to run
            self.on_epoch_begin(self.params.get("epochs", self.initial_epoch))
        super().on_train_end(logs)

    def whole(self, history: keras.callbacks.History) -> keras.callbacks.History:
        """The fit's History with the epochs run before the stop put in front (Keras Tuner scores a trial
        by its best epoch in the History)."""
        for name, values in (self.restored or {}).items():
            history.history[name] = [*values, *history.history.get(name, [])]
        return history


def fit_resumably(model, *args, callbacks: list, **kwargs) -> keras.callbacks.History:
    """model.fit for a Keras Tuner trial, backed up in the trial's folder after every epoch (EpochBackup).

    Keras Tuner adds its best-epoch checkpoint to the callbacks; the backup goes next to it.
    """
    checkpoint = best_epoch_checkpoint(callbacks)
    if checkpoint is None:  # not inside a tuner: nothing to resume into
        return model.fit(*args, callbacks=callbacks, **kwargs)
    backup = EpochBackup(Path(checkpoint.filepath).parent / "backup", kwargs.get("initial_epoch", 0), callbacks)
    return backup.whole(model.fit(*args, callbacks=[*callbacks, backup], **kwargs))


def merge_trial_logs(run_dir: Path) -> Path:
    """Folds the workers' trial logs (trial_log.WORKER.json) into the run's trial_log.json, which the chief's
    TrialWatcher then reads: trial ids are unique across workers, so the logs never disagree on one."""
    merged = {"seconds": {}, "history": {}, "params": {}, "cut": []}
    path = Path(run_dir) / "trial_log.json"
    for log in [path, *sorted(Path(run_dir).glob("trial_log.*.json"))]:
        if not log.exists():
            continue
        try:
            saved = json.loads(log.read_text())
        except ValueError:  # a worker killed mid-write leaves the previous whole file, never a cut one
            continue
        for key in ("seconds", "history", "params"):
            merged[key].update(saved.get(key, {}))
        merged["cut"].extend(t for t in saved.get("cut", []) if t not in merged["cut"])
    write_text_atomic(path, json.dumps(merged))
    return path


class KeepBestEpoch(keras.callbacks.Callback):
    """Keeps the weights of the epoch best by the objective (validation accuracy, not loss: fine-tuning on many
    images raised both at once on intel_scenes, the loss by overconfidence), restores them when training ends
    however it ends (the deadline included), and stops after `patience` epochs without a better one (the transfer
    fine-tune; the text encoder's fine-tune passes math.inf: its few checks each end a slice of one long run)."""

    def __init__(self, objective: str, start: float, patience: float = 4):
        super().__init__()
        self.objective, self.best, self.patience = objective, start, patience
        self.sign = -1.0 if objective == "val_loss" else 1.0
        self.weights, self.waited = None, 0

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.objective)
        if value is not None and self.sign * value > self.sign * self.best:
            self.best, self.weights, self.waited = value, self.model.get_weights(), 0
        else:
            self.waited += 1
            self.model.stop_training = self.model.stop_training or self.waited >= self.patience

    def on_train_end(self, logs=None):
        if self.weights is not None:
            self.model.set_weights(self.weights)
