"""Behavioural tests of tabular models: perturbation, invariance, directional expectation.

Serves Chapter 6, "Model Offline Evaluation" (Chip Huyen, *Designing Machine
Learning Systems*, 2022), the sections "Perturbation tests", "Invariance tests" and
"Directional expectation tests". A held-out metric says how often a model is right;
behavioural tests check *how* it behaves, one expectation at a time, like unit tests:

- **perturbation**: a little noise in the inputs (an age off by a year) should rarely
  change the predicted class;
- **invariance**: changing a sensitive attribute (and nothing else) should not change
  the prediction;
- **directional expectation**: more of X should move the prediction one way (more
  education should not lower the predicted chance of a high income).

Each test edits a copy of the inputs, predicts again, compares row by row and returns
a :class:`BehavioralResult` (how many rows failed, by how much, and the row-level
details). :func:`behavioral_report` tabulates several results.

Hand-written on purpose: behavioural-testing tools such as CheckList (Ribeiro et al., 2020)
test NLP models; no maintained library offers these tests for tabular
models, and each test is a few lines of pandas: edit, predict, compare.

Examples
--------
>>> import pandas as pd
>>> from sklearn.linear_model import LogisticRegression
>>> X = pd.DataFrame({"hours": [10, 20, 30, 40, 50, 60], "group": [0, 1, 0, 1, 0, 1]})
>>> model = LogisticRegression().fit(X, [0, 0, 0, 1, 1, 1])
>>> result = directional_test(model, X, "hours", 5, direction="increase")
>>> result.passed, result.n_failed
(True, 0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_choice,
    check_float,
    check_type,
    make_rng,
)
from mlsys_kit.results import Report

__all__ = [
    "BehavioralResult",
    "behavioral_report",
    "directional_test",
    "invariance_test",
    "perturbation_test",
    "positive_proba",
]

Kind = Literal["perturbation", "invariance", "directional"]
DETAIL_COLUMNS = ["before", "after", "change", "failed"]


@dataclass(frozen=True)
class BehavioralResult(Report):
    """The outcome of one behavioural test.

    A :class:`mlsys_kit.results.Report`: :meth:`to_frame` is its row of
    :func:`behavioral_report` (the row-level evidence is in ``details``).

    Attributes
    ----------
    name : str
        What was tested, e.g. ``"sex swapped"``.
    kind : {"perturbation", "invariance", "directional"}
        The kind of test.
    n_rows : int
        Rows the test applies to (those whose input the edit actually changed).
    n_failed : int
        Rows whose prediction broke the expectation.
    max_failure_rate : float
        The share of failed rows the test tolerates; ``passed`` compares with it.
    worst_change : float
        The largest change of the predicted probability in the wrong direction:
        the largest ``|change|`` for perturbation and invariance tests, the largest
        drop (for ``direction="increase"``) for directional tests. 0 when none.
    details : pandas.DataFrame
        One row per tested row (same index as the inputs): ``before`` and ``after``
        (probability of class 1), ``change`` (after − before) and ``failed``.
    """

    name: str
    kind: Kind
    n_rows: int
    n_failed: int
    max_failure_rate: float
    worst_change: float
    details: pd.DataFrame = field(repr=False, compare=False)

    @property
    def failure_rate(self) -> float:
        """Share of the tested rows that failed (0 when no row was tested)."""
        return self.n_failed / self.n_rows if self.n_rows else 0.0

    @property
    def passed(self) -> bool:
        """Whether the failure rate is within ``max_failure_rate``."""
        return self.failure_rate <= self.max_failure_rate

    def to_frame(self) -> pd.DataFrame:
        """The result as one row of :func:`behavioral_report`."""
        return pd.DataFrame(
            {
                "test": [self.name],
                "kind": [self.kind],
                "rows": [self.n_rows],
                "failed": [self.n_failed],
                "failure rate": [self.failure_rate],
                "worst change": [self.worst_change],
                "passed": [self.passed],
            }
        )


def positive_proba(model: Any, X: pd.DataFrame) -> np.ndarray:
    """Predicted probability of class 1 from a binary classifier or a function.

    Parameters
    ----------
    model : estimator or callable
        A fitted binary classifier with ``predict_proba`` (column 1 is used), or a
        function of ``X`` returning one probability per row.
    X : pandas.DataFrame
        The inputs.

    Returns
    -------
    numpy.ndarray
        One probability per row of ``X``.

    Raises
    ------
    ParameterError
        If ``model`` has no ``predict_proba`` and is not callable, or does not return one
        probability of class 1 per row.

    Examples
    --------
    >>> positive_proba(lambda X: X["p"].to_numpy(), pd.DataFrame({"p": [0.2, 0.9]}))
    array([0.2, 0.9])
    """
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(X), dtype=float)
        if proba.ndim != 2 or proba.shape[1] != 2:
            raise ParameterError(
                "positive_proba: model.predict_proba must return two columns (a binary "
                f"classifier); got shape {proba.shape}"
            )
        proba = proba[:, 1]
    elif callable(model):
        proba = np.asarray(model(X), dtype=float)
    else:
        raise ParameterError(
            "positive_proba: model must be a fitted binary classifier with predict_proba, or a "
            f"function returning the probability of class 1 per row; got {type(model).__name__}"
        )
    if proba.shape != (len(X),):
        raise ParameterError(
            f"positive_proba: the model must return one probability per row ({len(X)}); "
            f"got shape {proba.shape}"
        )
    return proba


def perturbation_test(
    model: Any,
    X: pd.DataFrame,
    noise: Mapping[str, float],
    *,
    seed: Seed = 0,
    threshold: float = 0.5,
    max_failure_rate: float = 0.01,
    name: str | None = None,
) -> BehavioralResult:
    """Add small Gaussian noise to numeric inputs; the predicted class should not change.

    Each column named in ``noise`` gets independent noise with the given standard
    deviation, rounded to whole numbers for integer columns (an age stays an integer
    number of years). A row fails when its predicted class (probability of class 1
    at least ``threshold``) differs before and after.

    Parameters
    ----------
    model : estimator or callable
        See :func:`positive_proba`.
    X : pandas.DataFrame
        The inputs; not modified.
    noise : mapping of str to float
        Numeric column → standard deviation of the noise (> 0), in the column's units.
    seed : int or numpy.random.Generator, default 0
        Seeds the noise.
    threshold : float, default 0.5
        Decision threshold on the probability of class 1, in ``(0, 1)``.
    max_failure_rate : float, default 0.01
        Share of flipped predictions the test tolerates, in ``[0, 1]``.
    name : str, optional
        Label of the test. Default: ``"noise in <columns>"``.

    Returns
    -------
    BehavioralResult
        ``worst_change`` is the largest ``|change|`` of the probability.

    Raises
    ------
    ParameterError
        If ``noise`` is empty, names an unknown or non-numeric column, or a standard
        deviation is not a positive number; or ``threshold`` / ``max_failure_rate``
        is out of range.

    Examples
    --------
    >>> X = pd.DataFrame({"age": [20, 40, 60, 80]})
    >>> by_age = lambda X: (X["age"].to_numpy() >= 50).astype(float)
    >>> result = perturbation_test(by_age, X, {"age": 0.1})
    >>> result.n_failed, result.passed
    (0, True)
    """
    owner = "perturbation_test"
    _rows_of(X, owner)
    if not isinstance(noise, Mapping) or not noise:
        raise ParameterError(
            f"{owner}: noise must map at least one numeric column to a standard deviation"
        )
    for column, scale in noise.items():
        _numeric_column(X, column, "noise", owner)
        check_float(f"noise[{column!r}]", scale, min=0, open_min=True, owner=owner)
    check_float("threshold", threshold, min=0, max=1, open_min=True, open_max=True, owner=owner)
    check_float("max_failure_rate", max_failure_rate, min=0, max=1, owner=owner)
    rng = make_rng(seed, owner=owner)
    edited = X.copy()
    for column, scale in noise.items():
        values = X[column].to_numpy(dtype=float)
        shifted = values + rng.normal(0.0, float(scale), len(X))
        if pd.api.types.is_integer_dtype(X[column]):
            edited[column] = np.round(shifted).astype(X[column].dtype)
        else:
            edited[column] = shifted
    before, after = positive_proba(model, X), positive_proba(model, edited)
    failed = (before >= threshold) != (after >= threshold)
    change = after - before
    return _result(
        name or f"noise in {', '.join(noise)}",
        "perturbation",
        X.index,
        before,
        after,
        failed,
        worst=float(np.abs(change).max(initial=0.0)),
        max_failure_rate=max_failure_rate,
    )


def invariance_test(
    model: Any,
    X: pd.DataFrame,
    changes: Mapping[str, Mapping[Any, Any]],
    *,
    tolerance: float = 0.01,
    max_failure_rate: float = 0.0,
    name: str | None = None,
) -> BehavioralResult:
    """Change a (sensitive) attribute and nothing else; the prediction should not change.

    Each column named in ``changes`` has its values replaced through a mapping, all at
    once (so ``{"Male": "Female", "Female": "Male"}`` swaps them). Only rows where some
    value changed are tested. A row fails when its probability of class 1 moves by
    more than ``tolerance``.

    Parameters
    ----------
    model : estimator or callable
        See :func:`positive_proba`.
    X : pandas.DataFrame
        The inputs; not modified.
    changes : mapping of str to mapping
        Column → {old value: new value}. Values not in the mapping are kept. For a
        categorical column, every new value must be one of its categories.
    tolerance : float, default 0.01
        Largest change of the probability accepted as "unchanged", at least 0.
    max_failure_rate : float, default 0.0
        Share of failed rows the test tolerates, in ``[0, 1]``.
    name : str, optional
        Label of the test. Default: ``"<columns> changed"``.

    Returns
    -------
    BehavioralResult
        ``worst_change`` is the largest ``|change|`` of the probability.

    Raises
    ------
    ParameterError
        If ``changes`` is empty, names an unknown column, a mapping is empty, a new
        value is not a category of a categorical column, or no row is changed; or
        ``tolerance`` / ``max_failure_rate`` is out of range.

    Examples
    --------
    >>> X = pd.DataFrame({"sex": ["F", "M", "F"], "income": [10, 50, 90]})
    >>> by_sex = lambda X: (X["sex"] == "M").to_numpy(dtype=float) * 0.3 + 0.2
    >>> result = invariance_test(by_sex, X, {"sex": {"F": "M", "M": "F"}})
    >>> result.n_rows, result.n_failed, result.worst_change
    (3, 3, 0.3)
    """
    owner = "invariance_test"
    _rows_of(X, owner)
    if not isinstance(changes, Mapping) or not changes:
        raise ParameterError(
            f"{owner}: changes must map at least one column to a {{old: new}} mapping"
        )
    check_float("tolerance", tolerance, min=0, owner=owner)
    check_float("max_failure_rate", max_failure_rate, min=0, max=1, owner=owner)
    edited = X.copy()
    touched = np.zeros(len(X), dtype=bool)
    for column, mapping in changes.items():
        check_choice("changes column", column, list(X.columns), owner=owner)
        if not isinstance(mapping, Mapping) or not mapping:
            raise ParameterError(
                f"{owner}: changes[{column!r}] must be a non-empty {{old: new}} mapping"
            )
        edited[column] = _replace(X[column], column, mapping)
        touched |= _differs(X[column], edited[column])
    if not touched.any():
        raise ParameterError(
            f"{owner}: changes {dict(changes)!r} change no row of X: check the values to replace"
        )
    before = positive_proba(model, X[touched])
    after = positive_proba(model, edited[touched])
    change = after - before
    return _result(
        name or f"{', '.join(changes)} changed",
        "invariance",
        X.index[touched],
        before,
        after,
        np.abs(change) > tolerance,
        worst=float(np.abs(change).max(initial=0.0)),
        max_failure_rate=max_failure_rate,
    )


def directional_test(
    model: Any,
    X: pd.DataFrame,
    column: str,
    delta: float,
    *,
    direction: Literal["increase", "decrease"] = "increase",
    clip: tuple[float, float] | None = None,
    tolerance: float = 0.0,
    max_failure_rate: float = 0.0,
    name: str | None = None,
) -> BehavioralResult:
    """Add ``delta`` to one numeric input; the prediction should move in ``direction``.

    ``direction="increase"`` expects the probability of class 1 not to fall; a row
    fails when it falls by more than ``tolerance``. Only rows whose value moves the
    way of ``delta`` are tested: not those already at (or beyond) a ``clip`` bound,
    nor integer values that a fractional ``delta`` leaves unchanged after rounding.

    Parameters
    ----------
    model : estimator or callable
        See :func:`positive_proba`.
    X : pandas.DataFrame
        The inputs; not modified.
    column : str
        A numeric column.
    delta : float
        Added to the column (non-zero; rounded to an integer for integer columns).
    direction : {"increase", "decrease"}, default "increase"
        The expected direction of the probability of class 1.
    clip : (float, float), optional
        Bounds for the edited values (e.g. ``(1, 16)`` for years of education); a
        value is never moved against ``delta`` to fit them.
    tolerance : float, default 0.0
        Largest move in the wrong direction still accepted, at least 0.
    max_failure_rate : float, default 0.0
        Share of failed rows the test tolerates, in ``[0, 1]``.
    name : str, optional
        Label of the test. Default: ``"<column> +<delta>: <direction>"``.

    Returns
    -------
    BehavioralResult
        ``worst_change`` is the largest move in the wrong direction (0 if none).

    Raises
    ------
    ParameterError
        If ``column`` is unknown or not numeric, ``delta`` is zero or not a number,
        ``direction`` or ``clip`` is invalid, no row changes, or ``tolerance`` /
        ``max_failure_rate`` is out of range.

    Examples
    --------
    >>> X = pd.DataFrame({"age": [20, 40, 60]})
    >>> peaks_at_45 = lambda X: 1 - abs(X["age"].to_numpy() - 45) / 45
    >>> result = directional_test(peaks_at_45, X, "age", 10)
    >>> result.n_failed, round(result.worst_change, 3)
    (1, 0.222)
    """
    owner = "directional_test"
    _rows_of(X, owner)
    _numeric_column(X, column, "column", owner)
    check_float("delta", delta, owner=owner)
    if delta == 0:
        raise ParameterError(f"{owner}: delta must be non-zero")
    check_choice("direction", direction, ("increase", "decrease"), owner=owner)
    if clip is not None:
        if not isinstance(clip, tuple | list) or len(clip) != 2:
            raise ParameterError(f"{owner}: clip must be a (low, high) pair; got {clip!r}")
        check_float("clip[0]", clip[0], owner=owner)
        check_float("clip[1]", clip[1], owner=owner)
        if clip[0] > clip[1]:
            raise ParameterError(f"{owner}: clip must be (low, high) with low ≤ high; got {clip!r}")
    check_float("tolerance", tolerance, min=0, owner=owner)
    check_float("max_failure_rate", max_failure_rate, min=0, max=1, owner=owner)
    original = X[column].to_numpy(dtype=float)
    values = original + float(delta)
    if clip is not None:
        values = np.clip(values, clip[0], clip[1])
    if pd.api.types.is_integer_dtype(X[column]):
        values = np.round(values)
    # Only rows moved the way of delta are tested: clipping may leave a value where it
    # was, or even move one outside the bounds back against delta.
    touched = np.sign(values - original) == np.sign(delta)
    edited = X.copy()
    edited[column] = np.where(touched, values, original).astype(X[column].dtype)
    if not touched.any():
        raise ParameterError(
            f"{owner}: adding {delta} to {column!r} (clip {clip}) changes no row of X"
        )
    before = positive_proba(model, X[touched])
    after = positive_proba(model, edited[touched])
    wrong_way = (before - after) if direction == "increase" else (after - before)
    sign = "+" if delta > 0 else ""
    return _result(
        name or f"{column} {sign}{delta}: {direction}",
        "directional",
        X.index[touched],
        before,
        after,
        wrong_way > tolerance,
        worst=float(max(wrong_way.max(initial=0.0), 0.0)),
        max_failure_rate=max_failure_rate,
    )


def behavioral_report(
    results: list[BehavioralResult] | Mapping[str, BehavioralResult],
) -> pd.DataFrame:
    """Tabulate behavioural test results, one row per test.

    Parameters
    ----------
    results : list of BehavioralResult, or mapping of str to BehavioralResult
        The results; with a mapping, its keys become the index (e.g. the model).

    Returns
    -------
    pandas.DataFrame
        Columns ``test``, ``kind``, ``rows``, ``failed``, ``failure rate``,
        ``worst change`` and ``passed``.

    Raises
    ------
    ParameterError
        If ``results`` is empty or holds something else than results.

    Examples
    --------
    >>> X = pd.DataFrame({"age": [20, 40, 60]})
    >>> result = directional_test(lambda X: X["age"].to_numpy() / 100, X, "age", 10)
    >>> behavioral_report([result])[["test", "failed", "passed"]]
                         test  failed  passed
    0  age +10: increase       0    True
    """
    items = list(results.items()) if isinstance(results, Mapping) else list(enumerate(results))
    if not items:
        raise ParameterError("behavioral_report: results must hold at least one BehavioralResult")
    for _, result in items:
        check_type("results (each)", result, BehavioralResult, owner="behavioral_report")
    table = pd.concat([r.to_frame() for _, r in items], ignore_index=True)
    if isinstance(results, Mapping):
        table.index = pd.Index([k for k, _ in items])
    return table


# --- helpers ------------------------------------------------------------------------------------


def _result(
    name: str,
    kind: Kind,
    index: pd.Index,
    before: np.ndarray,
    after: np.ndarray,
    failed: np.ndarray,
    *,
    worst: float,
    max_failure_rate: float,
) -> BehavioralResult:
    details = pd.DataFrame(
        {"before": before, "after": after, "change": after - before, "failed": failed},
        index=index,
    )
    return BehavioralResult(
        name=name,
        kind=kind,
        n_rows=len(details),
        n_failed=int(failed.sum()),
        max_failure_rate=float(max_failure_rate),
        worst_change=worst,
        details=details,
    )


def _rows_of(X: Any, owner: str) -> pd.DataFrame:
    """``X`` if it is a DataFrame with at least one row, else ParameterError."""
    check_type("X", X, pd.DataFrame, owner=owner)
    if len(X) == 0:
        raise ParameterError(f"{owner}: X must have at least one row")
    return X


def _numeric_column(X: pd.DataFrame, column: Any, what: str, owner: str) -> pd.Series:
    """The column of ``X`` that ``what`` names, if it exists and is numeric (not bool)."""
    check_choice(f"{what} column", column, list(X.columns), owner=owner)
    dtype = X[column].dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise ParameterError(
            f"{owner}: {what}: column {column!r} must be numeric; it has dtype {dtype}"
        )
    return X[column]


def _replace(values: pd.Series, column: str, mapping: Mapping[Any, Any]) -> pd.Series:
    """Replace values through ``mapping`` all at once (a swap works), keeping the dtype."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        missing = [v for v in mapping.values() if v not in values.cat.categories]
        if missing:
            raise ParameterError(
                f"invariance_test: changes[{column!r}]: {missing} not among the column's "
                "categories "
                f"{list(values.cat.categories)}"
            )
    replaced: Callable[[Any], Any] = lambda v: mapping.get(v, v)  # noqa: E731
    edited = values.astype(object).map(replaced, na_action="ignore")
    return edited.astype(values.dtype)


def _differs(old: pd.Series, new: pd.Series) -> np.ndarray:
    a, b = old.astype(object), new.astype(object)
    both_missing = a.isna() & b.isna()
    return ((a != b) & ~both_missing).to_numpy(dtype=bool)
