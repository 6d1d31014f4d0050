"""Search stage: Keras Tuner over the planned family within trial and wall-clock budgets → SearchResult.

`tuning` runs a family's search (and hands the transfer family to `transfer`'s two phases); `tuner`
builds the Keras Tuner objects; `callbacks` are what every trial trains with; `ranking` and `ensemble`
pick the final model; `_compat` holds every use of Keras Tuner's and TensorFlow's private API.
"""

from automl.search.ranking import choice_note, rank_trials, trial_overfits
from automl.search.result import Phase, SearchResult, TrialRecord
from automl.search.tuner import make_tuner
from automl.search.tuning import search_models

__all__ = ["search_models", "make_tuner", "SearchResult", "TrialRecord", "Phase", "rank_trials", "trial_overfits",
           "choice_note"]
