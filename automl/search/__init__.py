"""Search stage: Keras Tuner over the planned family within trial and wall-clock budgets → SearchResult.

`tuning` runs a family's search (and hands the transfer family to `transfer`'s two phases); `tuner`
builds the Keras Tuner objects; `callbacks` are what every trial trains with; `ranking` and `ensemble`
pick the final model; `devices` sets a GPU up (memory growth, mixed precision, several GPUs) and
`out_of_memory` retries a trial at half the batch; `distributed` (the chief) and `worker` spread trials
over processes on Keras Tuner's own engine; `_compat` holds every use of Keras Tuner's and TensorFlow's
private API.
"""

from automl.search.devices import reset_precision
from automl.search.ranking import choice_note, rank_trials, trial_overfits
from automl.search.result import Phase, SearchResult, TrialRecord
from automl.search.tuner import make_tuner
from automl.search.tuning import search_models
from automl.search.worker import connect_to_chief, search_as_worker, size_thread_pools

__all__ = ["search_models", "make_tuner", "SearchResult", "TrialRecord", "Phase", "rank_trials", "trial_overfits",
           "choice_note", "reset_precision", "connect_to_chief",
           "search_as_worker", "size_thread_pools"]
