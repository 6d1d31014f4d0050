"""Errors a user can fix: each says what was received, what was expected and how to fix it."""


class AutomlError(Exception):
    """Base class for errors caused by the user's data or settings (exit code 1, no traceback)."""


class ConfigError(AutomlError, ValueError):
    """A setting, flag or preset key is invalid."""


class DataError(AutomlError, ValueError):
    """The data cannot be read or cannot be used for training."""
