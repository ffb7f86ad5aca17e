"""Errors a user can act on.

Everything the engine raises on purpose derives from `UserError`: the CLI prints its message as one line
and exits with code 2, the app shows it in plain words. Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input or environment, with a message that says how to fix it."""

    exit_code = 2


class ConfigError(UserError):
    """An invalid configuration value (flag, preset, TOML)."""


class DataError(UserError):
    """The data set cannot be found, read or trusted."""


class WeightsError(UserError):
    """Pretrained weights cannot be had, or the file is not an EfficientNetB0 notop weights file."""


class StoreError(UserError):
    """The runs folder cannot be written or a run cannot be read."""
