"""One way to validate: notebook parameters and the arguments of every public function.

Every check in the kit goes through this module, so that a bad value is refused the same way
everywhere: a :class:`ParameterError` whose message names the parameter, the value given, and
what is allowed.

**Notebook parameters are declared once.** A notebook's setup cell declares what each
parameter of its ``parameters`` cell may be, with :class:`Int`, :class:`Float`,
:class:`Choice` and :class:`Bool`, and checks the values papermill injected with
:func:`check_parameters`::

    PARAMETERS = {
        "seed": Int(min=0),
        "n_rows": Int(min=1_000),
        "split": Choice("random", "time"),
    }
    check_parameters(PARAMETERS, globals())

``mlsys-kit list`` shows the same declaration, and ``mlsys-kit run`` refuses a value
outside it before any kernel starts (it reads the dictionary from the notebook's source:
keep it a literal dictionary of these four declarations with literal arguments). A
declaration refuses *invalid* values only (a negative size, an unknown choice, a
probability above one), never a valid value where a lesson stops holding.

**Functions check their arguments** with :func:`check_int`, :func:`check_float`,
:func:`check_choice`, :func:`check_bool`, :func:`check_array` and :func:`check_type`,
passing ``owner=`` (the function's name) so that the message says where the value went.
Random functions take ``seed: int | numpy.random.Generator = 0`` and resolve it with
:func:`make_rng`.

Modelled on scikit-learn's declared ``_parameter_constraints`` and its
``InvalidParameterError``, which likewise subclasses both ``ValueError`` and ``TypeError``.

Examples
--------
>>> n_rows = check_int("n_rows", 5_000, min=1_000)
>>> check_choice("split", "time", ["random", "time"])
'time'
>>> check_choice("split", "rnadom", ["random", "time"])
Traceback (most recent call last):
...
mlsys_kit.params.ParameterError: split='rnadom' is not allowed: choose one of 'random', 'time'
>>> check_float("alpha", 1.5, min=0, max=1, owner="detect_drift")
Traceback (most recent call last):
...
mlsys_kit.params.ParameterError: detect_drift: alpha=1.5 is out of range: allowed 0 ≤ alpha ≤ 1
>>> check_parameters({"seed": Int(min=0), "split": Choice("random", "time")},
...                  {"seed": 3, "split": "time"})
{'seed': 3, 'split': 'time'}
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "ParameterError",
    "check_int",
    "check_float",
    "check_choice",
    "check_bool",
    "check_array",
    "check_same_length",
    "check_type",
    "check_file_names",
    "make_rng",
    "Seed",
    "Int",
    "Float",
    "Choice",
    "Bool",
    "Declaration",
    "check_parameters",
]

T = TypeVar("T")

#: What every random function of the kit takes as ``seed``.
Seed = int | np.random.Generator


class ParameterError(ValueError, TypeError):
    """A parameter or argument has a value that is not allowed.

    Subclasses both ``ValueError`` and ``TypeError`` (as scikit-learn's
    ``InvalidParameterError`` does), so callers catching either keep working whether
    the value had the wrong type or the wrong value.
    """


def _refuse(message: str, owner: str | None) -> ParameterError:
    return ParameterError(f"{owner}: {message}" if owner else message)


def _bounds(name: str, min: float | None, max: float | None, open_min: bool, open_max: bool) -> str:
    low = f"{min:,} {'<' if open_min else '≤'} " if min is not None else ""
    high = f" {'<' if open_max else '≤'} {max:,}" if max is not None else ""
    if min is not None and max is None:
        return f"{name} {'>' if open_min else '≥'} {min:,}"
    return f"{low}{name}{high}"


def _check_range(
    name: str,
    value: float,
    min: float | None,
    max: float | None,
    owner: str | None,
    open_min: bool = False,
    open_max: bool = False,
) -> None:
    below = min is not None and (value <= min if open_min else value < min)
    above = max is not None and (value >= max if open_max else value > max)
    if below or above:
        allowed = _bounds(name, min, max, open_min, open_max)
        raise _refuse(f"{name}={value!r} is out of range: allowed {allowed}", owner)


def check_int(
    name: str,
    value: object,
    *,
    min: int | None = None,
    max: int | None = None,
    owner: str | None = None,
) -> int:
    """Return ``value`` if it is an integer within ``[min, max]``, else raise.

    Parameters
    ----------
    name : str
        The parameter's name, used in the error message.
    value : object
        The value to check. ``bool`` is refused (``True`` is not a size).
    min, max : int, optional
        Inclusive bounds.
    owner : str, optional
        The function or notebook the value was given to; prefixes the message.

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        When ``value`` is not an integer or lies outside the bounds.

    Examples
    --------
    >>> check_int("k", 3, min=1)
    3
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = type(value).__name__
        raise _refuse(f"{name} must be an integer; got {value!r} ({kind})", owner)
    _check_range(name, int(value), min, max, owner)
    return int(value)


def check_float(
    name: str,
    value: object,
    *,
    min: float | None = None,
    max: float | None = None,
    open_min: bool = False,
    open_max: bool = False,
    owner: str | None = None,
) -> float:
    """Return ``value`` as a float if it is a finite number within its bounds.

    Integers are accepted (``alpha=1`` means ``1.0``); ``bool`` and NaN are not.

    Parameters
    ----------
    name : str
        The parameter's name, used in the error message.
    value : object
        The value to check.
    min, max : float, optional
        Bounds, inclusive unless ``open_min`` / ``open_max``.
    open_min, open_max : bool, default False
        Exclude the bound itself (a rate ``> 0``, a probability ``< 1``).
    owner : str, optional
        The function or notebook the value was given to; prefixes the message.

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        When ``value`` is not a finite number or lies outside the bounds.

    Examples
    --------
    >>> check_float("share", 0.2, min=0, max=1)
    0.2
    >>> check_float("rate", 0, min=0, open_min=True)
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: rate=0.0 is out of range: allowed rate > 0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        kind = type(value).__name__
        raise _refuse(f"{name} must be a number; got {value!r} ({kind})", owner)
    if not math.isfinite(float(value)):
        raise _refuse(f"{name} must be a finite number; got {value!r}", owner)
    _check_range(name, float(value), min, max, owner, open_min, open_max)
    return float(value)


def check_choice(name: str, value: T, allowed: Iterable[T], *, owner: str | None = None) -> T:
    """Return ``value`` if it is one of ``allowed``, else raise naming the choices.

    Raises
    ------
    ParameterError
        When ``value`` is not among ``allowed``.

    Examples
    --------
    >>> check_choice("method", "ks", ("ks", "psi"))
    'ks'
    """
    options = list(allowed)
    try:
        known = value in options
    except TypeError:  # e.g. an unhashable value against a set-like container
        known = False
    if not known:
        listed = ", ".join(repr(option) for option in options)
        raise _refuse(f"{name}={value!r} is not allowed: choose one of {listed}", owner)
    return value


def check_bool(name: str, value: object, *, owner: str | None = None) -> bool:
    """Return ``value`` if it is ``True`` or ``False``, else raise.

    Raises
    ------
    ParameterError
        When ``value`` is not a bool (``"False"`` the string is refused).

    Examples
    --------
    >>> check_bool("shuffle", False)
    False
    """
    if not isinstance(value, bool | np.bool_):
        raise _refuse(f"{name} must be True or False; got {value!r}", owner)
    return bool(value)


def check_type(
    name: str, value: T, types: type | tuple[type, ...], *, owner: str | None = None
) -> T:
    """Return ``value`` if it is an instance of ``types``, else raise naming them.

    Examples
    --------
    >>> check_type("frame", [1], (list, tuple))
    [1]
    >>> check_type("frame", 3, list, owner="validate")
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: validate: frame must be a list; got int
    """
    if not isinstance(value, types):
        wanted = types if isinstance(types, tuple) else (types,)
        names = " or ".join(kind.__name__ for kind in wanted)
        raise _refuse(f"{name} must be a {names}; got {type(value).__name__}", owner)
    return value


def check_file_names(name: str, values: Iterable[str], *, owner: str | None = None) -> list[str]:
    """Return ``values`` stripped, blanks dropped, if each can safely name a file or folder.

    Allowed: letters, digits and ``. _ @ + -``, not starting with a dot; no name twice.

    Examples
    --------
    >>> check_file_names("students", ["ada", " alan ", ""])
    ['ada', 'alan']
    >>> check_file_names("students", ["../evil"], owner="release")
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: release: students become file names: '../evil' may only ...
    """
    names = [str(value).strip() for value in values if str(value).strip()]
    bad = [n for n in names if not re.fullmatch(r"[\w.@+-]+", n) or n.startswith(".")]
    if bad:
        raise _refuse(
            f"{name} become file names: {', '.join(map(repr, bad))} may only hold letters, "
            "digits and . _ @ + -, not starting with a dot",
            owner,
        )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _refuse(f"{name} must not repeat a name: {', '.join(twice)}", owner)
    return names


def check_array(
    name: str,
    value: object,
    *,
    ndim: int | None = None,
    min_length: int = 0,
    dtype: Any = None,
    finite: bool = False,
    owner: str | None = None,
) -> np.ndarray:
    """Return ``value`` as a NumPy array of the expected shape, else raise.

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    value : array-like
        Anything :func:`numpy.asarray` accepts.
    ndim : int, optional
        Required number of dimensions (1 for a vector, 2 for a matrix).
    min_length : int, default 0
        Required number of rows (the first axis).
    dtype : data-type, optional
        Convert to this type; a value that cannot be converted is refused.
    finite : bool, default False
        Refuse NaN and infinite values.
    owner : str, optional
        The function the value was given to; prefixes the message.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ParameterError
        When the value cannot be converted, has another number of dimensions, too
        few rows, or non-finite values when ``finite``.

    Examples
    --------
    >>> check_array("scores", [0.1, 0.9], ndim=1, min_length=2).shape
    (2,)
    >>> check_array("scores", [[0.1]], ndim=1, owner="psi")
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: psi: scores must have 1 dimension(s); got shape (1, 1)
    """
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        wanted = dtype or "numbers"
        raise _refuse(f"{name} cannot be read as an array of {wanted}: {exc}", owner) from None
    if ndim is not None and array.ndim != ndim:
        raise _refuse(f"{name} must have {ndim} dimension(s); got shape {array.shape}", owner)
    length = array.shape[0] if array.ndim else 0
    if length < min_length:
        raise _refuse(f"{name} must have at least {min_length} row(s); got {length}", owner)
    if finite and array.dtype.kind in "fc" and not np.isfinite(array).all():
        raise _refuse(f"{name} must hold finite values; it has NaN or infinity", owner)
    return array


def check_same_length(*, owner: str | None = None, **arrays: Any) -> int:
    """Return the common length of the named arrays, else raise naming each length.

    Examples
    --------
    >>> check_same_length(y_true=[0, 1], y_score=[0.2, 0.7])
    2
    >>> check_same_length(y_true=[0, 1], y_score=[0.2])
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: y_true and y_score must have the same length; got 2, 1
    """
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        names = " and ".join(lengths)
        got = ", ".join(str(length) for length in lengths.values())
        raise _refuse(f"{names} must have the same length; got {got}", owner)
    return next(iter(lengths.values()), 0)


def make_rng(seed: Seed, *, owner: str | None = None) -> np.random.Generator:
    """The generator a random function draws from: ``seed`` an integer or a Generator.

    An integer seeds a new :class:`numpy.random.Generator`; a Generator is used as it
    is (so that a caller can thread one stream through several calls). ``None`` is
    refused: it would not be reproducible.

    Examples
    --------
    >>> float(make_rng(0).random()) == float(np.random.default_rng(0).random())
    True
    >>> rng = np.random.default_rng(1)
    >>> make_rng(rng) is rng
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_int("seed", seed, min=0, owner=owner))


# -- Declarations of notebook parameters ------------------------------------------------------


def _interval(min: float | None, max: float | None, open_min: bool, open_max: bool) -> str:
    if min is None and max is None:
        return ""
    if max is None:
        return f" {'>' if open_min else '≥'} {min:,}"
    if min is None:
        return f" {'<' if open_max else '≤'} {max:,}"
    return f" in {'(' if open_min else '['}{min:,}, {max:,}{')' if open_max else ']'}"


class Declaration:
    """What one notebook parameter may be; see :func:`check_parameters`."""

    def check(self, name: str, value: object, *, owner: str | None = None) -> Any:
        """Return ``value`` if allowed, else raise :class:`ParameterError`."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short human description, as ``mlsys-kit list`` shows it."""
        raise NotImplementedError


@dataclass(frozen=True)
class Int(Declaration):
    """An integer parameter within ``[min, max]`` (either bound optional).

    Examples
    --------
    >>> Int(min=1).describe()
    'integer ≥ 1'
    >>> Int(min=1, max=5).describe()
    'integer in [1, 5]'
    """

    min: int | None = None
    max: int | None = None

    def check(self, name: str, value: object, *, owner: str | None = None) -> int:
        return check_int(name, value, min=self.min, max=self.max, owner=owner)

    def describe(self) -> str:
        return "integer" + _interval(self.min, self.max, False, False)


@dataclass(frozen=True)
class Float(Declaration):
    """A finite number within its bounds (inclusive unless ``open_min`` / ``open_max``).

    Examples
    --------
    >>> Float(min=0, max=1, open_min=True).describe()
    'number in (0, 1]'
    """

    min: float | None = None
    max: float | None = None
    open_min: bool = False
    open_max: bool = False

    def check(self, name: str, value: object, *, owner: str | None = None) -> float:
        return check_float(
            name,
            value,
            min=self.min,
            max=self.max,
            open_min=self.open_min,
            open_max=self.open_max,
            owner=owner,
        )

    def describe(self) -> str:
        return "number" + _interval(self.min, self.max, self.open_min, self.open_max)


class Choice(Declaration):
    """One of a fixed set of values.

    Examples
    --------
    >>> Choice("random", "time").describe()
    "one of 'random', 'time'"
    """

    def __init__(self, *options: Any) -> None:
        if not options:
            raise ParameterError("Choice needs at least one option")
        self.options = tuple(options)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Choice) and other.options == self.options

    def __hash__(self) -> int:
        return hash(self.options)

    def __repr__(self) -> str:
        return f"Choice({', '.join(map(repr, self.options))})"

    def check(self, name: str, value: object, *, owner: str | None = None) -> Any:
        return check_choice(name, value, self.options, owner=owner)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(option) for option in self.options)


@dataclass(frozen=True)
class Bool(Declaration):
    """``True`` or ``False``.

    Examples
    --------
    >>> Bool().describe()
    'True or False'
    """

    def check(self, name: str, value: object, *, owner: str | None = None) -> bool:
        return check_bool(name, value, owner=owner)

    def describe(self) -> str:
        return "True or False"


#: The declarations a notebook may use, by name (what the catalog's reader accepts).
DECLARATIONS: dict[str, type[Declaration]] = {
    "Int": Int,
    "Float": Float,
    "Choice": Choice,
    "Bool": Bool,
}


def check_parameters(
    declared: Mapping[str, Declaration], values: Mapping[str, Any], *, owner: str | None = None
) -> dict[str, Any]:
    """Check every declared parameter's value; return them in declaration order.

    Parameters
    ----------
    declared : mapping of str to Declaration
        The notebook's ``PARAMETERS``: each parameter's :class:`Int`, :class:`Float`,
        :class:`Choice` or :class:`Bool`.
    values : mapping
        Where the values are: ``globals()`` in a notebook.
    owner : str, optional
        Prefix of the error messages (a notebook id, when the runner checks).

    Returns
    -------
    dict
        Each declared parameter's checked value.

    Raises
    ------
    ParameterError
        For the first value that its declaration refuses, or a declared parameter
        with no value.
    """
    checked = {}
    for name, declaration in declared.items():
        if name not in values:
            raise _refuse(f"parameter {name!r} is declared but has no value", owner)
        checked[name] = declaration.check(name, values[name], owner=owner)
    return checked
