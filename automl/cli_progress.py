"""Terminal progress for the CLI: stages, a trial bar with an ETA, and one line per finished trial."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from automl.config import format_seconds


class RichProgress:
    """Implements automl.progress.NullProgress's methods with a rich progress bar.

    The ETA is the sooner of the deadline and (trials left × mean trial time so far).
    """

    def __init__(self, console: Console):
        self.console = console
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                            TextColumn("{task.fields[eta]}"), TimeElapsedColumn(), console=console, transient=True)
        self.task = None
        self.max_trials, self.deadline, self.epoch_seconds = 1, None, 0.0
        self.trial_times, self.trial_number, self.best, self.metric = [], 0, None, ""

    def stage(self, name: str, detail: str = "") -> None:
        if name != "search" and self.task is not None:
            self.bar.stop()
            self.task = None
        self.console.print(f"[bold cyan]▶ {name}[/]" + (f" {detail}" if detail else ""))

    def note(self, text: str) -> None:
        self.console.print(f"  {text}", highlight=False)

    def search_started(self, max_trials, deadline, epoch_seconds) -> None:
        self.max_trials, self.deadline, self.epoch_seconds = max_trials, deadline, epoch_seconds
        budget = f", deadline in {format_seconds(deadline - time.monotonic())}" if deadline else ""
        # 0: not measured up front (e.g. heads on cached features, where an epoch takes a fraction of a second)
        epoch = f"; one epoch of the default model ≈ {format_seconds(epoch_seconds)}" if epoch_seconds else ""
        self.console.print(f"  up to {max_trials} trials{budget}{epoch}")
        self.bar.start()
        self.task = self.bar.add_task("search", total=max_trials, eta="")

    def _eta(self, epoch: int, epochs: int) -> str:
        now = time.monotonic()
        mean_trial = (sum(self.trial_times) / len(self.trial_times)) if self.trial_times else self.epoch_seconds * epochs
        left = (self.max_trials - self.trial_number + 1 - epoch / max(epochs, 1)) * mean_trial
        if self.deadline:
            left = min(left, self.deadline - now)
        return f"ETA {format_seconds(left)}"

    def trial_started(self, trial_id, number, hyperparameters) -> None:
        self.trial_number = number
        if self.task is not None:
            self.bar.update(self.task, description=f"trial {number}/{self.max_trials}", eta=self._eta(0, 1))

    def epoch_ended(self, trial_id, epoch, epochs, logs) -> None:
        self.metric = "val_accuracy" if "val_accuracy" in logs else "val_loss"
        value = logs.get(self.metric, float("nan"))
        if self.task is not None:
            self.bar.update(self.task, completed=self.trial_number - 1 + epoch / max(epochs, 1),
                            description=f"trial {self.trial_number}/{self.max_trials} · epoch {epoch}/{epochs} · "
                                        f"{self.metric} {value:.4f}", eta=self._eta(epoch, epochs))
        better = max if self.metric == "val_accuracy" else min
        self.best = value if self.best is None else better(self.best, value)

    def trial_ended(self, trial_id, seconds) -> None:
        self.trial_times.append(seconds)
        best = f" (best so far {self.best:.4f})" if self.best is not None else ""
        self.console.print(f"  trial {trial_id} done in {format_seconds(seconds)}{best}")
        if self.task is not None:
            self.bar.update(self.task, completed=self.trial_number)

    def close(self) -> None:
        if self.task is not None:
            self.bar.stop()
