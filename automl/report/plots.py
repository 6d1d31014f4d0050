"""Report stage, plots: learning curves and the confusion matrix as inline PNG data URIs.

Figures are built with `matplotlib.figure.Figure` and the Agg canvas directly, never pyplot, so
writing a report touches no global matplotlib state. Every text of every figure is drawn as written:
class names, column names and targets come from the user's data, and "$x_1$" or a lone "$" must not be
parsed as mathtext or handed to TeX (LITERAL_TEXT, applied by _data_uri to each figure it renders).
"""

from __future__ import annotations

import base64
import functools
import io
from contextlib import contextmanager

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from automl.diagnose.confusion import FULL_CONFUSION_MAX_CLASSES
from automl.modalities.tasks import higher_is_better

DPI = 90
# Past this many classes tick labels overlap into an unreadable band; the heatmap alone still shows
# where the errors are.
MAX_LABELLED_CLASSES = 30
# Past this many classes the per-cell counts are too small to read.
MAX_ANNOTATED_CLASSES = 15
# Class names longer than this are cut on the axes (the tables show them whole).
MAX_TICK_CHARS = 18
TRAIN_COLOUR, VAL_COLOUR, BEST_COLOUR = "#1f6feb", "#d9480f", "#555555"
# Text is never mathtext nor TeX, only while a figure is rendered (rc_context: no global switch), so texts
# made during drawing (tick labels) are literal too.
LITERAL_TEXT = {"text.parse_math": False, "text.usetex": False}


@contextmanager
def literal_text():
    """Texts made inside (figures built, laid out and drawn) print as written; rcParams are put back after."""
    with rc_context(LITERAL_TEXT):
        yield


def drawn_literally(plot):
    """Decorates a plot function: it builds and renders its figure under literal_text()."""
    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        with literal_text():
            return plot(*args, **kwargs)
    return wrapper


def literal_texts(figure: Figure) -> Figure:
    """Makes every text already in the figure (titles, labels, ticks, legends) print as written."""
    for text in figure.findobj(Text):
        text.set_usetex(False)
        text.set_parse_math(False)
    return figure


def _data_uri(figure: Figure) -> str:
    """The figure as a PNG data URI, every text in it drawn literally (see LITERAL_TEXT)."""
    buffer = io.BytesIO()
    with literal_text():
        # No "Software" metadata: the PNG then holds no URL at all.
        FigureCanvasAgg(literal_texts(figure)).print_png(buffer, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# The rate each epoch ended at (search.callbacks.AnnealToBudget logs it): the schedule the deadline drove.
LEARNING_RATE = "learning_rate"


def main_metric(history: dict[str, list[float]]) -> str | None:
    """The metric shown beside the loss: accuracy, else MAE, else the first other training metric."""
    for name in ("accuracy", "mae"):
        if history.get(name) or history.get(f"val_{name}"):
            return name
    others = [k for k in history if not k.startswith("val_") and k not in ("loss", LEARNING_RATE) and history[k]]
    return others[0] if others else None


def _plot_metric(axes, history, name: str, best_epoch: int) -> None:
    for key, label, colour in ((name, "train", TRAIN_COLOUR), (f"val_{name}", "validation", VAL_COLOUR)):
        values = [float(v) for v in history.get(key) or []]
        if values:
            label = "annealed to the deadline or the last epoch" if name == LEARNING_RATE else label
            axes.plot(range(1, len(values) + 1), values, marker="o", markersize=3, color=colour, label=label)
    if best_epoch > 0:
        axes.axvline(best_epoch, color=BEST_COLOUR, linestyle="--", linewidth=1, label=f"best epoch {best_epoch}")
    axes.set_title(name, fontsize=10)
    axes.set_xlabel("epoch", fontsize=9)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(labelsize=8)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)


@drawn_literally
def learning_curves(history: dict[str, list[float]], best_epoch: int) -> str | None:
    """Plots loss and the main metric per epoch, train against validation, with the best epoch marked; and the
    learning rate each epoch ended at, when the history holds it.

    Args:
        history: Metric name → per-epoch values (e.g. "loss", "val_loss", "accuracy", "val_accuracy").
        best_epoch: Epoch (from 1) the kept weights come from; 0 draws no marker.

    Returns:
        A `data:image/png;base64,...` URI, or None when the history holds no per-epoch values.
    """
    names = [n for n in ("loss", main_metric(history), LEARNING_RATE) if n and (history.get(n) or history.get(f"val_{n}"))]
    if not names:
        return None
    figure = Figure(figsize=(4.4 * len(names), 3.0), dpi=DPI, layout="constrained")
    for index, name in enumerate(names, start=1):
        _plot_metric(figure.add_subplot(1, len(names), index), history, name, best_epoch)
    return _data_uri(figure)


def _short(name: str) -> str:
    return name if len(name) <= MAX_TICK_CHARS else name[: MAX_TICK_CHARS - 1] + "…"


def _label_axes(axes, class_names) -> None:
    ticks = np.arange(len(class_names))
    labels = [_short(str(name)) for name in class_names]
    # parse_math=False: a class name holding "$" must print as written, not as TeX.
    axes.set_xticks(ticks, labels, rotation=45, ha="right", fontsize=8, parse_math=False)
    axes.set_yticks(ticks, labels, fontsize=8, parse_math=False)


def _annotate(axes, matrix: np.ndarray) -> None:
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), value in np.ndenumerate(matrix):
        axes.text(column, row, str(value), ha="center", va="center", fontsize=8,
                  color="white" if value > threshold else "black")


@drawn_literally
def confusion_heatmap(confusion, class_names) -> str | None:
    """Draws the test confusion matrix (rows: true class, columns: predicted class).

    Args:
        confusion: Square matrix of counts, as nested sequences.
        class_names: One name per row; tick labels are left out past MAX_LABELLED_CLASSES classes.

    Returns:
        A `data:image/png;base64,...` URI, or None when there is no matrix or it has more than
        FULL_CONFUSION_MAX_CLASSES rows (a report state from before they were summarised): the report
        shows the most frequent confusions instead.
    """
    if not len(confusion) or len(confusion) > FULL_CONFUSION_MAX_CLASSES:
        return None
    matrix = np.asarray(confusion, dtype=np.int64)
    if matrix.ndim != 2 or not matrix.size:
        return None
    n = matrix.shape[0]
    side = float(np.clip(2.5 + 0.35 * min(n, MAX_LABELLED_CLASSES), 3.5, 8.0))
    figure = Figure(figsize=(side + 1.0, side), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues", interpolation="nearest")
    figure.colorbar(image, ax=axes, shrink=0.8)
    axes.set_xlabel("predicted class", fontsize=9)
    axes.set_ylabel("true class", fontsize=9)
    if n <= MAX_LABELLED_CLASSES:
        _label_axes(axes, class_names)
    else:
        axes.set_xticks([])
        axes.set_yticks([])
    if n <= MAX_ANNOTATED_CLASSES:
        _annotate(axes, matrix)
    return _data_uri(figure)


@drawn_literally
def reliability_diagram(calibration) -> str | None:
    """Accuracy against mean confidence per confidence bin, with the diagonal of perfect calibration.

    Args:
        calibration: An automl.diagnose.calibration.Calibration.

    Returns:
        A `data:image/png;base64,...` URI, or None when there are no bins.
    """
    if calibration is None or not calibration.bins:
        return None
    figure = Figure(figsize=(4.2, 3.6), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    centres = [(b.lower + b.upper) / 2 for b in calibration.bins]
    widths = [b.upper - b.lower for b in calibration.bins]
    axes.bar(centres, [b.accuracy for b in calibration.bins], width=widths, color=TRAIN_COLOUR, alpha=0.75,
             edgecolor="white", label="accuracy in bin")
    axes.plot([b.confidence for b in calibration.bins], [b.accuracy for b in calibration.bins], "o",
              color=VAL_COLOUR, markersize=4, label="mean confidence")
    axes.plot([0, 1], [0, 1], linestyle="--", color=BEST_COLOUR, linewidth=1, label="perfect calibration")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("confidence (top-1 probability)", fontsize=9)
    axes.set_ylabel("accuracy", fontsize=9)
    axes.set_title(f"ECE {calibration.ece:.3f} on {calibration.samples} test examples", fontsize=10)
    axes.tick_params(labelsize=8)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="upper left")
    return _data_uri(figure)


def pareto_front(points: list[tuple[float, float]], higher_better: bool) -> list[int]:
    """Indices of the points (score, cost) no other point beats on both: as good a score or better at as low a
    cost or lower, and strictly better on one."""
    sign = 1 if higher_better else -1
    front = []
    for i, (score, cost) in enumerate(points):
        dominated = any(sign * s >= sign * score and c <= cost and (sign * s > sign * score or c < cost)
                        for j, (s, c) in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return front


@drawn_literally
def pareto_plot(trials, costs: dict, objective: str) -> str | None:
    """Each trial's validation score against its size on disk and, where timed, its latency, with the Pareto
    front (the trials no other beats on both) marked and joined.

    Args:
        trials: TrialRecords with a score.
        costs: trial id → export.TrialCost (size_bytes, latency_ms or None).
    """
    scored = [t for t in trials if t.score is not None and t.trial_id in costs]
    if len(scored) < 2:
        return None
    higher = higher_is_better(objective)
    panels = [("size on disk (MB)", lambda t: costs[t.trial_id].size_bytes / 1e6)]
    if sum(costs[t.trial_id].latency_ms is not None for t in scored) >= 2:
        panels.append(("latency, one example (ms)", lambda t: costs[t.trial_id].latency_ms))
    figure = Figure(figsize=(4.2 * len(panels), 3.4), dpi=DPI, layout="constrained")
    for index, (label, cost_of) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), index)
        shown = [t for t in scored if cost_of(t) is not None]
        points = [(t.score, cost_of(t)) for t in shown]
        front = sorted(pareto_front(points, higher), key=lambda i: points[i][1])
        axes.plot([p[1] for p in points], [p[0] for p in points], "o", color=TRAIN_COLOUR, alpha=0.6,
                  markersize=5, label="trial")
        axes.plot([points[i][1] for i in front], [points[i][0] for i in front], "o-", color=BEST_COLOUR,
                  markersize=6, linewidth=1, label="Pareto front")
        for i in front:
            axes.annotate(shown[i].trial_id, (points[i][1], points[i][0]), fontsize=7, xytext=(3, 3),
                          textcoords="offset points")
        axes.set_xlabel(label, fontsize=9)
        axes.set_ylabel(objective, fontsize=9)
        axes.tick_params(labelsize=8)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
    return _data_uri(figure)
