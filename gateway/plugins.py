"""What risk checks and routing strategies share as plugins built from YAML parameters.

A plugin validates its parameters in ``__init__`` and raises :class:`ParameterError`
naming the parameter, so the config layer can report ``file: key.param: problem``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


class ParameterError(ValueError):
    """A bad plugin parameter; ``param`` names it so the config layer can report the YAML key."""

    def __init__(self, param: str, problem: str) -> None:
        super().__init__(f"{param}: {problem}")
        self.param = param
        self.problem = problem


class ParameterTypeError(ParameterError, TypeError):
    """A parameter of the wrong type: a ``TypeError`` too, as Python callers expect."""


def show(value: Any) -> str:
    """A parameter value as the YAML user wrote it, for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal | int | float):
        return str(value)
    return repr(value)
