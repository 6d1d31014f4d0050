"""Profile stage: facts about a Dataset and guardrails a user can read → Profile.

`profiler` holds the stage function and the common checks (balance, leakage, unreadable files); one
module per modality adds its own facts and the inputs its families are built from.
"""

from automl.profile.profiler import Guardrail, ImageInputs, Profile, profile_dataset

__all__ = ["profile_dataset", "Profile", "Guardrail", "ImageInputs"]
