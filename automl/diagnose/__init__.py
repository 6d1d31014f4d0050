"""Diagnose stage: the final model's predictions per split → metrics, baseline, verdict → Diagnostics.

`stage` predicts and picks the judge by task; `verdict` judges classification and regression,
`forecast` forecasts (against naive baselines), `calibration` the test probabilities, and `gallery`
picks the test examples worth showing. `top1` reduces class probabilities to O(examples) figures and
`confusion` counts the mistakes (the full matrix only for few classes). `result` holds the types.
"""

from automl.diagnose.result import ClassMetrics, ConfusionPair, Diagnostics, ForecastComparison
from automl.diagnose.stage import diagnose
from automl.diagnose.verdict import best_epoch_of, diagnose_classification, diagnose_regression

__all__ = ["diagnose", "Diagnostics", "ClassMetrics", "ConfusionPair", "ForecastComparison", "best_epoch_of",
           "diagnose_classification", "diagnose_regression"]
