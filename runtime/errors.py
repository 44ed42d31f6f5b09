"""Errors that mean a user mistake or an unmet precondition: the CLI prints them in one line, no traceback."""

from __future__ import annotations


class UserError(Exception):
    """Base of every error whose message tells a person what to change (a file, a setting, a command).

    Subclasses also derive from the built-in they refine (ValueError, RuntimeError) so that
    callers catching those keep working.
    """

    exit_code: int = 1


class ConfigError(UserError, ValueError):
    """A config value is wrong; the message names the key and where it came from."""

    exit_code = 2
