"""Exceptions that map to exit codes in ``cli.main``."""

from __future__ import annotations


class ConfigError(Exception):
    """Bad flag, config key or value. Exit 2 with this one-line message."""


class Interrupted(BaseException):
    """The run was interrupted (SIGINT/SIGTERM) while checks were waiting."""

    def __init__(self, signal_name: str = "SIGINT") -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


class UnreadableAnswer(Exception):
    """An AWS answer lacks a field the verdict needs: missing, null or of the wrong type.

    The runner reports it as ERROR "could not read ...", never as a pass or "nothing found".
    """
