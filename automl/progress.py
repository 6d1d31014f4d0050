"""The progress protocol stages report to; the library's default says nothing (only the CLI prints)."""

from __future__ import annotations


class NullProgress:
    """Receives pipeline events and ignores them. The CLI's RichProgress implements the same methods."""

    def stage(self, name: str, detail: str = "") -> None:
        """A pipeline stage began."""

    def note(self, text: str) -> None:
        """A decision the user should see as it is made (e.g. a first trial sized to the budget)."""

    def search_started(self, max_trials: int, deadline: float | None, epoch_seconds: float) -> None:
        """The search starts; epoch_seconds is the measured estimate for one epoch of the default model."""

    def trial_started(self, trial_id: str, number: int, hyperparameters: dict) -> None:
        """A trial (numbered from 1) starts training."""

    def epoch_ended(self, trial_id: str, epoch: int, epochs: int, logs: dict) -> None:
        """An epoch of the current trial ended (epoch counts from 1)."""

    def trial_ended(self, trial_id: str, seconds: float) -> None:
        """The current trial stopped training."""
