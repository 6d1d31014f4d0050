import io
import time

from rich.console import Console

from automl.cli_progress import RichProgress, format_seconds


def test_format_seconds():
    assert (format_seconds(5), format_seconds(65), format_seconds(600)) == ("5s", "1m05s", "10m00s")


def test_eta_is_the_sooner_of_the_deadline_and_the_trials_left():
    progress = RichProgress(Console(file=io.StringIO()))
    progress.search_started(max_trials=10, deadline=time.monotonic() + 30, epoch_seconds=2.0)
    progress.trial_started("0", 1, {})
    progress.trial_times = [100.0]
    assert progress._eta(1, 2) in ("ETA 29s", "ETA 30s")  # 9.5 trials x 100 s left, but 30 s to the deadline
    progress.deadline = None
    assert progress._eta(1, 2) == "ETA 15m50s"  # (10 - 1 + 1 - 0.5) x 100 s
    progress.close()


def test_trial_lines_are_printed_with_the_best_score():
    out = io.StringIO()
    progress = RichProgress(Console(file=out, width=120))
    progress.stage("search", "cnn family")
    progress.search_started(max_trials=2, deadline=None, epoch_seconds=1.0)
    progress.trial_started("0", 1, {})
    progress.epoch_ended("0", 1, 2, {"val_accuracy": 0.75})
    progress.epoch_ended("0", 2, 2, {"val_accuracy": 0.5})
    progress.trial_ended("0", 3.2)
    progress.close()
    text = out.getvalue()
    assert "▶ search cnn family" in text and "trial 0 done in 3s (best so far 0.7500)" in text
