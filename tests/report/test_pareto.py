"""The accuracy-against-cost plot: the Pareto front is the set of trials no other beats on both."""

from __future__ import annotations

from automl.export.measure import TrialCost
from automl.report.plots import pareto_front, pareto_plot
from automl.search.result import TrialRecord


def test_the_front_holds_only_undominated_trials():
    points = [(0.90, 10.0), (0.95, 20.0), (0.85, 30.0), (0.95, 25.0), (0.80, 5.0)]
    assert pareto_front(points, higher_better=True) == [0, 1, 4]  # 2 and 3 are beaten by 1
    losses = [(0.5, 1.0), (0.4, 2.0), (0.6, 0.5), (0.45, 3.0)]
    assert pareto_front(losses, higher_better=False) == [0, 1, 2]


def test_the_plot_draws_size_and_latency_panels():
    trials = [TrialRecord(str(i), {}, score, "COMPLETED", 3, 100, 1.0, {}) for i, score in enumerate((0.9, 0.95, 0.8))]
    costs = {"0": TrialCost("0", 1_000_000, 2.0), "1": TrialCost("1", 3_000_000, 4.0), "2": TrialCost("2", 500_000)}
    image = pareto_plot(trials, costs, "val_accuracy")
    assert image.startswith("data:image/png;base64,") and len(image) > 2000
    assert pareto_plot(trials[:1], costs, "val_accuracy") is None  # one trial: nothing to compare
