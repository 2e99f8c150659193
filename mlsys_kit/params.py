"""Validate notebook parameters right after the ``parameters`` cell.

papermill injects whatever values an experimenter passes, and ``mlsys-kit run``
checks their names and types before a kernel starts. What only the notebook knows
(the allowed choices of a strategy, the sensible range of a size) is checked by the
notebook itself, with these functions, so that a bad value stops the run at once
with an error that names the parameter and what is allowed, instead of a
confusing failure twenty cells later.

Examples
--------
>>> n_rows = check_int("n_rows", 5_000, min=1_000, max=1_000_000)
>>> check_choice("split", "time", ["random", "time"])
'time'
>>> check_choice("split", "rnadom", ["random", "time"])
Traceback (most recent call last):
...
mlsys_kit.params.ParameterError: split='rnadom' is not allowed: choose one of 'random', 'time'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import TypeVar

__all__ = ["ParameterError", "check_int", "check_float", "check_choice", "check_bool"]

T = TypeVar("T")


class ParameterError(ValueError):
    """A notebook parameter has a value that is not allowed."""


def _bounds(name: str, min: float | None, max: float | None) -> str:
    if min is not None and max is not None:
        return f"{min:,} ≤ {name} ≤ {max:,}"
    if min is not None:
        return f"{name} ≥ {min:,}"
    return f"{name} ≤ {max:,}"


def _check_range(name: str, value: float, min: float | None, max: float | None) -> None:
    if (min is not None and value < min) or (max is not None and value > max):
        raise ParameterError(f"{name}={value!r} is out of range: allowed {_bounds(name, min, max)}")


def check_int(name: str, value: object, *, min: int | None = None, max: int | None = None) -> int:
    """Return ``value`` if it is an integer within ``[min, max]``, else raise.

    Parameters
    ----------
    name : str
        The parameter's name, used in the error message.
    value : object
        The value to check. ``bool`` is refused (``True`` is not a size).
    min, max : int, optional
        Inclusive bounds.

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        When ``value`` is not an integer or lies outside the bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name} must be an integer; got {value!r} ({type(value).__name__})")
    _check_range(name, int(value), min, max)
    return int(value)


def check_float(
    name: str, value: object, *, min: float | None = None, max: float | None = None
) -> float:
    """Return ``value`` as a float if it is a finite number within ``[min, max]``.

    Integers are accepted (``alpha=1`` means ``1.0``); ``bool`` and NaN are not.

    Raises
    ------
    ParameterError
        When ``value`` is not a finite number or lies outside the bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a number; got {value!r} ({type(value).__name__})")
    if not math.isfinite(float(value)):
        raise ParameterError(f"{name} must be a finite number; got {value!r}")
    _check_range(name, float(value), min, max)
    return float(value)


def check_choice(name: str, value: T, allowed: Iterable[T]) -> T:
    """Return ``value`` if it is one of ``allowed``, else raise naming the choices.

    Raises
    ------
    ParameterError
        When ``value`` is not among ``allowed``.
    """
    options = list(allowed)
    if value not in options:
        listed = ", ".join(repr(option) for option in options)
        raise ParameterError(f"{name}={value!r} is not allowed: choose one of {listed}")
    return value


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is ``True`` or ``False``, else raise.

    Raises
    ------
    ParameterError
        When ``value`` is not a bool (``"False"`` the string is refused).
    """
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False; got {value!r}")
    return value
