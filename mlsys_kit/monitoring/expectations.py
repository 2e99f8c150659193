"""Schema and expectation checks on raw input batches, run by pandera: a violation is a report.

Serves Chapter 8, "Monitoring and Observability", its "Monitoring raw inputs" and "Feature
monitoring" (Chip Huyen, *Designing Machine Learning Systems*, 2022): before a batch of raw
inputs reaches a model, check that it still looks like data the model can use. The book lists
the checks (the columns exist, each has the expected type, values within their range, categories
from a known set, few missing values) and the tools that run them (Great Expectations, Deequ).

A :class:`Schema` holds one :class:`Expectation` per column. :func:`infer_schema` writes a first
draft from a reference batch (the data the model was trained on); a person then edits it with
:meth:`Schema.replace` (widen a range, allow a new category, tolerate more missing values),
because an inferred schema only knows what happened to occur in the reference.
:meth:`Schema.to_pandera` turns it into a `pandera <https://pandera.readthedocs.io>`_
``DataFrameSchema``, and :func:`validate` runs that schema on a batch (``lazy=True``, so that
every failure is collected) and folds pandera's ``failure_cases`` (one row per failing value)
into a :class:`ValidationReport` with **one row per violated expectation**: which column, which
check, what was expected, what was observed, how many values broke it, and a few examples. Bad
data never raises: strings in a numeric column, a column full of nulls, a missing column, an
empty batch all become rows of the report. Only a misuse of the API (a batch that is not a
DataFrame, a bad argument) raises :class:`~mlsys_kit.params.ParameterError`, naming what was
wrong and what is allowed.

The checks, per column (``check`` column of the report, and the ``name`` of the pandera
``Check``):

================  =========================================================================
``missing``       the column is absent from the batch (``required=True``; pandera's
                  ``column_in_dataframe``)
``type``          values that are not of the expected kind (``"numeric"``, ``"category"``,
                  ``"boolean"``, ``"datetime"``); e.g. ``"12.50"`` text in a numeric column
``missing_rate``  the share of missing values exceeds ``max_missing``
``range``         more than ``tolerance`` of the non-missing values lie outside
                  ``[min, max]`` (a few values beyond the reference's extremes are expected;
                  a unit change moves most of them)
``category``      more than ``tolerance`` of the values are not in ``allowed``
``unexpected``    a column of the batch the schema does not know (report-only; pandera's
                  ``strict=True``, ``column_in_schema``)
================  =========================================================================

**Why pandera, and what the kit adds.** pandera is the library a Python team would reach for:
a schema is a plain object (``DataFrameSchema`` of ``Column`` s with ``Check`` s), validation is
one call, and ``validate(lazy=True)`` collects every failure into a ``failure_cases`` table
instead of stopping at the first. The kit adds three things the lesson needs. *Tolerance*:
pandera's built-in ``Check.in_range`` and ``Check.isin`` fail on a single value, while a new
batch always holds a few values beyond the reference's extremes; each kit check is a vectorised
``Check(element_wise=False)`` that passes while at most ``tolerance`` of the values break it, and
otherwise returns the mask of the values that do, so that ``failure_cases`` still lists them.
*One row per violation*: ``failure_cases`` has a row per failing value (a unit change gives
hundreds), the report one per violated expectation, with counts and examples. *Robustness to
bad types*: the columns declare no pandera dtype (``dtype=None``) and the checks convert values
themselves, because pandera's dtype checks and coercion turn one text value in a numeric column
into several failure rows (``coerce_dtype``, ``dtype``) plus a ``TypeError`` inside
``Check.in_range``, which then reports no range at all; the kit's ``type`` check counts the text
values once and ``range`` judges the others. :func:`infer_schema` builds on
``pandera.infer_schema`` (column kinds and numeric ranges) and adds what a monitoring schema
needs and pandera's inference leaves out: the categories of text columns, a missing-value
budget, a tolerance, and a draft meant to be edited.

**Why not Great Expectations or Deequ,** the tools the book names. Great Expectations is a
framework: a data context, a project layout on disk, stores for suites and results,
checkpoints; Deequ runs on Spark. Their checks are the same ones; the kit needs them in a
notebook cell, not a deployment.

Examples
--------
>>> import pandas as pd
>>> reference = pd.DataFrame({"amount": [10.0, 25.0, 40.0, 12.5], "method": list("abab")})
>>> schema = infer_schema(reference)
>>> batch = pd.DataFrame({"amount": [1000.0, 2500.0, None, 1250.0], "method": list("abcb")})
>>> validate(batch, schema).to_frame()[["column", "check", "n_bad"]]
   column         check  n_bad
0  amount  missing_rate      1
1  amount         range      3
2  method      category      1
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_type,
)
from mlsys_kit.results import Report

if TYPE_CHECKING:  # pandera costs ~0.7 s to import: only the functions that run it import it
    import pandera.pandas as pa

__all__ = [
    "CHECKS",
    "COLUMN_KINDS",
    "REPORT_COLUMNS",
    "Expectation",
    "Schema",
    "ValidationReport",
    "infer_schema",
    "validate",
    "validate_many",
]

Kind = Literal["numeric", "category", "boolean", "datetime"]
#: The kinds of column an :class:`Expectation` can declare.
COLUMN_KINDS: tuple[str, ...] = ("numeric", "category", "boolean", "datetime")
#: The checks, in the order the report lists them for one column.
CHECKS: tuple[str, ...] = ("missing", "type", "missing_rate", "range", "category", "unexpected")
#: The columns of :meth:`ValidationReport.to_frame`.
REPORT_COLUMNS: tuple[str, ...] = (
    "column",
    "check",
    "expected",
    "observed",
    "n_bad",
    "share_bad",
    "examples",
)
_N_EXAMPLES = 3


# --------------------------------------------------------------------------------------------
# Expectations and schemas
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    """What one column of a batch must look like.

    Parameters
    ----------
    column : str
        The column's name.
    kind : {"numeric", "category", "boolean", "datetime"}
        The kind of values expected.
    min, max : float, optional
        The allowed range of a numeric column (inclusive); ``None`` for no bound.
    allowed : frozenset of str, optional
        The allowed values of a category column; ``None`` allows any.
    max_missing : float, default 0.0
        The largest acceptable share of missing values, in [0, 1].
    tolerance : float, default 0.01
        The largest acceptable share of non-missing values outside the range or the allowed
        categories, in [0, 1): a new batch may hold a few values beyond the reference's extremes.
    required : bool, default True
        Whether a batch without this column is a violation.

    Raises
    ------
    ParameterError
        If a field has a value that is not allowed (the message says what is).

    Examples
    --------
    >>> Expectation("amount", "numeric", min=0, max=5000)
    Expectation(column='amount', kind='numeric', min=0.0, max=5000.0, allowed=None, \
max_missing=0.0, tolerance=0.01, required=True)
    >>> Expectation("amount", "money")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: Expectation('amount'): kind='money' is not allowed: ...
    """

    column: str
    kind: Kind
    min: float | None = None
    max: float | None = None
    allowed: frozenset[str] | None = None
    max_missing: float = 0.0
    tolerance: float = 0.01
    required: bool = True

    def __post_init__(self) -> None:
        where = f"Expectation({self.column!r})"
        check_type("column", self.column, str, owner="Expectation")
        if not self.column:
            raise ParameterError("Expectation: column must be a non-empty str; got ''")
        check_choice("kind", self.kind, COLUMN_KINDS, owner=where)
        for name in ("min", "max"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check_float(name, value, owner=where))
        if (self.min is not None or self.max is not None) and self.kind != "numeric":
            raise ParameterError(
                f"{where}: min and max apply to kind='numeric' only, not {self.kind!r}"
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ParameterError(f"{where}: min={self.min!r} is above max={self.max!r}")
        if self.allowed is not None:
            if self.kind != "category":
                raise ParameterError(f"{where}: allowed applies to kind='category' only")
            if isinstance(self.allowed, str) or not isinstance(self.allowed, Iterable):
                raise ParameterError(
                    f"{where}: allowed must be a collection of str; got {self.allowed!r}"
                )
            object.__setattr__(self, "allowed", frozenset(str(v) for v in self.allowed))
        missing = check_float("max_missing", self.max_missing, min=0, max=1, owner=where)
        tolerance = check_float(
            "tolerance", self.tolerance, min=0, max=1, open_max=True, owner=where
        )
        object.__setattr__(self, "max_missing", missing)
        object.__setattr__(self, "tolerance", tolerance)
        check_bool("required", self.required, owner=where)
        object.__setattr__(self, "required", bool(self.required))

    @property
    def expected(self) -> dict[str, str]:
        """What each of the column's checks expects, as the report and pandera show it."""
        texts = {"type": self.kind, "missing_rate": f"≤ {self.max_missing:.1%} missing"}
        beyond = f"≤ {self.tolerance * 100:.3g}% beyond" if self.tolerance else "none beyond"
        if self.min is not None or self.max is not None:
            texts["range"] = f"[{_fmt(self.min)}, {_fmt(self.max)}], {beyond}"
        if self.allowed is not None:
            other = f"≤ {self.tolerance * 100:.3g}% other" if self.tolerance else "no other"
            texts["category"] = f"one of {'|'.join(sorted(self.allowed))}, {other}"
        return texts


@dataclass(frozen=True)
class Schema:
    """The expectations of a batch, one per column, in column order.

    Build one with :func:`infer_schema` or from :class:`Expectation` objects; edit it with
    :meth:`replace`; show it with :meth:`to_frame`; run it with :func:`validate`, or get the
    pandera schema it stands for with :meth:`to_pandera`.

    Raises
    ------
    ParameterError
        If an item is not an :class:`Expectation`, or two describe the same column.

    Examples
    --------
    >>> schema = Schema([Expectation("n_items", "numeric", min=1)])
    >>> schema.columns
    ('n_items',)
    >>> schema.replace("n_items", max=50)["n_items"].max
    50.0
    """

    expectations: tuple[Expectation, ...] = field(default_factory=tuple)

    def __init__(self, expectations: Iterable[Expectation]) -> None:
        items = tuple(expectations)
        for item in items:
            check_type("expectations", item, Expectation, owner="Schema")
        names = [e.column for e in items]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ParameterError(
                f"Schema: each column may have one expectation; repeated: {repeated}"
            )
        object.__setattr__(self, "expectations", items)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the schema knows, in order."""
        return tuple(e.column for e in self.expectations)

    def __getitem__(self, column: str) -> Expectation:
        for e in self.expectations:
            if e.column == column:
                return e
        raise KeyError(f"the schema has no column {column!r}; it has {list(self.columns)}")

    def __len__(self) -> int:
        return len(self.expectations)

    def replace(self, column: str, **changes: Any) -> Schema:
        """A copy of the schema with one column's expectation edited.

        Parameters
        ----------
        column : str
            The column to edit (it must be in the schema).
        **changes
            New values of :class:`Expectation` fields, e.g. ``max=10_000`` or
            ``allowed={"card", "wallet", "crypto"}``.

        Returns
        -------
        Schema

        Raises
        ------
        ParameterError
            If the schema has no such column, a field is unknown, or the edited expectation
            is invalid.

        Examples
        --------
        >>> schema = Schema([Expectation("hour", "numeric", min=1, max=22)])
        >>> schema.replace("hour", min=0, max=23)["hour"]  # doctest: +ELLIPSIS
        Expectation(column='hour', kind='numeric', min=0.0, max=23.0, ...)
        """
        check_choice("column", column, self.columns, owner="Schema.replace")
        known = [f.name for f in fields(Expectation) if f.name != "column"]
        for name in changes:
            check_choice("field", name, known, owner="Schema.replace")
        old = self[column]
        return Schema(replace(e, **changes) if e is old else e for e in self.expectations)

    def to_frame(self) -> pd.DataFrame:
        """The schema as a table, one row per column (categories sorted, joined by ``|``)."""
        rows = []
        for e in self.expectations:
            rows.append(
                {
                    "column": e.column,
                    "kind": e.kind,
                    "min": e.min,
                    "max": e.max,
                    "allowed": "|".join(sorted(e.allowed)) if e.allowed is not None else "",
                    "max_missing": e.max_missing,
                    "tolerance": e.tolerance,
                    "required": e.required,
                }
            )
        return pd.DataFrame(rows).set_index("column")

    def to_pandera(self) -> pa.DataFrameSchema:
        """The pandera ``DataFrameSchema`` that :func:`validate` runs.

        One ``Column`` per expectation, with no dtype (the ``type`` check counts values of the
        wrong kind instead), ``nullable=True`` (the ``missing_rate`` check budgets missing
        values instead), ``required`` as declared, and one vectorised
        ``Check(element_wise=False)`` per check, named as in the report (``type``,
        ``missing_rate``, ``range``, ``category``), its ``error`` the expectation in words and
        its ``statistics`` the bounds. ``strict=True`` reports the columns the schema does not
        know. Use it where pandera fits (a ``@pa.check_input`` decorator, a pipeline step):
        ``schema.to_pandera().validate(batch, lazy=True)`` raises ``SchemaErrors`` whose
        ``failure_cases`` lists each failing value; :func:`validate` turns that into a report.

        Returns
        -------
        pandera.pandas.DataFrameSchema

        Examples
        --------
        >>> schema = Schema([Expectation("hour", "numeric", min=0, max=23, tolerance=0)])
        >>> pandera_schema = schema.to_pandera()
        >>> type(pandera_schema).__name__
        'DataFrameSchema'
        >>> pandera_schema.columns["hour"].checks
        [<Check type: numeric>, <Check missing_rate: ≤ 0.0% missing>, <Check range: [0, 23], \
none beyond>]
        """
        import pandera.pandas as pa

        return pa.DataFrameSchema(
            {e.column: _pandera_column(pa, e) for e in self.expectations},
            strict=True,
        )


def _pandera_column(pa: Any, e: Expectation) -> pa.Column:
    """One expectation as a pandera Column of vectorised, tolerant checks."""
    expected = e.expected
    options = {"element_wise": False, "ignore_na": False}  # the checks handle missing values
    checks = [
        pa.Check(function, name=name, error=expected[name], **kwargs, **options)
        for name, function, kwargs in _expectation_checks(e)
    ]
    return pa.Column(None, checks=checks, nullable=True, required=e.required, name=e.column)


def _expectation_checks(e: Expectation) -> list[tuple[str, Callable[..., Any], dict[str, Any]]]:
    """The checks of one expectation, in order: (name, check function, its keyword arguments)."""
    checks: list[tuple[str, Callable[..., Any], dict[str, Any]]] = []
    if e.kind != "category":  # any value has a text form: a category column has no bad type
        checks.append(("type", _bad_type, {"kind": e.kind}))
    if e.max_missing < 1:
        checks.append(("missing_rate", _too_many_missing, {"max_missing": e.max_missing}))
    if "range" in e.expected:
        bounds = {"low": e.min, "high": e.max, "tolerance": e.tolerance}
        checks.append(("range", _outside_range, bounds))
    if "category" in e.expected:
        allowed = {"allowed": e.allowed, "tolerance": e.tolerance}
        checks.append(("category", _not_allowed, allowed))
    return checks


def _passes_every_check(batch: pd.DataFrame, schema: Schema) -> bool:
    """Whether pandera would find nothing but unexpected columns in the batch.

    It calls the check functions pandera would call, directly: pandera's cost per batch is its
    machinery (about 5 ms for a one-column schema), not the checks. False whenever pandera's
    answer could differ: a required column absent, a repeated column name, or a check function
    that raises (pandera then reports that it could not run).
    """
    if batch.columns.has_duplicates:
        return False
    for e in schema.expectations:
        if e.column not in batch.columns:
            if e.required:
                return False
            continue
        series = batch[e.column]
        for _, function, kwargs in _expectation_checks(e):
            try:
                if function(series, **kwargs) is not True:
                    return False
            except Exception:  # pandera turns it into a report row
                return False
    return True


# --------------------------------------------------------------------------------------------
# The check functions: each gets a column (a Series) and returns True while the share of
# failing values stays within its tolerance, else the mask of the values that pass (so that
# pandera's failure_cases lists the others).
# --------------------------------------------------------------------------------------------


def _verdict(series: pd.Series, failing: np.ndarray, too_many: bool) -> bool | pd.Series:
    return pd.Series(~failing, index=series.index) if too_many else True


def _as_numbers(series: pd.Series) -> np.ndarray:
    """The values as floats, NaN where missing or not a number (booleans are not numbers)."""
    if pd.api.types.is_bool_dtype(series):
        return np.full(len(series), np.nan)
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    coerced = pd.to_numeric(pd.Series(series.to_numpy(dtype=object)), errors="coerce")
    return coerced.to_numpy(dtype=float, na_value=np.nan)


def _wrong_kind(series: pd.Series, kind: str) -> np.ndarray:
    """The mask of present values that are not of ``kind``."""
    missing = series.isna().to_numpy(dtype=bool)
    if kind == "numeric":
        return ~missing & np.isnan(_as_numbers(series))
    if kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(series):
        values = pd.Series(series.to_numpy(dtype=object))
        converted = pd.to_datetime(values, errors="coerce", format="mixed")
        return ~missing & converted.isna().to_numpy()
    if kind == "boolean" and not pd.api.types.is_bool_dtype(series) and len(series):
        values = series.to_numpy(dtype=object)
        ok = np.array(
            [v is True or v is False or (type(v) is not str and v in (0, 1)) for v in values]
        )
        return ~missing & ~ok
    return np.zeros(len(series), dtype=bool)


def _bad_type(series: pd.Series, *, kind: str) -> bool | pd.Series:
    wrong = _wrong_kind(series, kind)
    return _verdict(series, wrong, bool(wrong.any()))


def _too_many_missing(series: pd.Series, *, max_missing: float) -> bool | pd.Series:
    missing = series.isna().to_numpy(dtype=bool)
    return _verdict(series, missing, bool(len(series)) and missing.mean() > max_missing)


def _outside_range(
    series: pd.Series, *, low: float | None, high: float | None, tolerance: float
) -> bool | pd.Series:
    numbers = _as_numbers(series)
    valid = ~np.isnan(numbers)
    outside = np.zeros(len(series), dtype=bool)
    if low is not None:
        outside |= valid & (numbers < low)
    if high is not None:
        outside |= valid & (numbers > high)
    return _verdict(series, outside, outside.sum() > tolerance * valid.sum())


def _not_allowed(
    series: pd.Series, *, allowed: frozenset[str], tolerance: float
) -> bool | pd.Series:
    if isinstance(series.dtype, pd.CategoricalDtype):  # compare the categories, not the rows
        codes = series.cat.codes.to_numpy()
        distinct = series.cat.categories.to_numpy(dtype=object)
    else:
        codes, distinct = pd.factorize(series, use_na_sentinel=True)
    known = np.array([str(v) in allowed for v in distinct] + [True], dtype=bool)
    new = ~known[codes]  # code -1 (missing) picks the final True
    return _verdict(series, new, new.sum() > tolerance * (codes >= 0).sum())


# --------------------------------------------------------------------------------------------
# Inference
# --------------------------------------------------------------------------------------------


def _kind_of(dtype: Any) -> str:
    """The kind of a column from the dtype pandera inferred for it."""
    from pandera import dtypes

    if dtypes.is_bool(dtype):
        return "boolean"
    if dtypes.is_datetime(dtype):
        return "datetime"
    if dtypes.is_numeric(dtype):
        return "numeric"
    return "category"


def infer_schema(
    reference: pd.DataFrame,
    *,
    columns: Iterable[str] | None = None,
    missing_slack: float = 0.02,
    tolerance: float = 0.01,
    max_categories: int = 50,
) -> Schema:
    """A first draft of the schema from a reference batch: types, ranges, categories, missing.

    ``pandera.infer_schema`` reads each column's dtype and a numeric column's minimum and
    maximum; the kit turns the dtype into a kind (bool, datetime, numeric, anything else is a
    category) and adds what pandera's inference leaves out: a category column's set of values
    seen (``None``, any value allowed, beyond ``max_categories`` distinct values: an id or free
    text), ``max_missing`` (the reference's missing share plus ``missing_slack``, where pandera
    only records whether a column had any null) and the ``tolerance``. Review the draft: the
    reference only shows what happened to occur in it.

    Parameters
    ----------
    reference : pandas.DataFrame
        Data the model was trained on, or a batch known to be good. Must have rows.
    columns : iterable of str, optional
        The columns to describe; all of them by default.
    missing_slack : float, default 0.02
        Added to each column's missing share to get ``max_missing``, in [0, 1).
    tolerance : float, default 0.01
        The ``tolerance`` of every expectation (see :class:`Expectation`), in [0, 1).
    max_categories : int, default 50
        A category column with more distinct values gets no ``allowed`` set.

    Returns
    -------
    Schema

    Raises
    ------
    ParameterError
        If ``reference`` is not a DataFrame or is empty, a column is absent, or an argument
        is out of range.

    Examples
    --------
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"x": [1.0, 2.0, None, 4.0], "c": ["a", "b", "a", "a"]})
    >>> infer_schema(ref).to_frame()[["kind", "min", "max", "allowed", "max_missing"]]
                kind  min  max allowed  max_missing
    column
    x        numeric  1.0  4.0                 0.27
    c       category  NaN  NaN     a|b         0.02
    """
    owner = "infer_schema"
    check_type("reference", reference, pd.DataFrame, owner=owner)
    if len(reference) == 0:
        raise ParameterError(
            f"{owner}: reference has no rows: a schema cannot be inferred from an empty batch"
        )
    slack = check_float("missing_slack", missing_slack, min=0, max=1, open_max=True, owner=owner)
    tolerance = check_float("tolerance", tolerance, min=0, max=1, open_max=True, owner=owner)
    max_categories = check_int("max_categories", max_categories, min=1, owner=owner)
    names = list(reference.columns) if columns is None else list(columns)
    for name in names:
        check_choice("columns", name, list(reference.columns), owner=owner)

    import pandera.pandas as pa

    drafted = pa.infer_schema(reference[names]).columns
    expectations = []
    for name in names:
        column = drafted[name]
        kind = _kind_of(column.dtype)
        series = reference[name]
        spec: dict[str, Any] = {
            "max_missing": min(1.0, round(float(series.isna().mean()) + slack, 4)),
            "tolerance": tolerance,
        }
        if kind == "numeric":
            bounds = {k: v for check in column.checks for k, v in check.statistics.items()}
            if "min_value" in bounds and "max_value" in bounds:
                spec.update(min=float(bounds["min_value"]), max=float(bounds["max_value"]))
        elif kind == "category":
            values = series.dropna().astype(str).unique()
            if len(values) <= max_categories:
                spec["allowed"] = frozenset(values)
        expectations.append(Expectation(str(name), kind, **spec))
    return Schema(expectations)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class ValidationReport(Report):
    """The result of :func:`validate`: one row per violated expectation.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns :data:`REPORT_COLUMNS`; empty when the batch meets every expectation.
    n_rows : int
        Rows in the validated batch.
    n_expectations : int
        Expectations checked.
    """

    table: pd.DataFrame
    n_rows: int
    n_expectations: int

    @property
    def ok(self) -> bool:
        """Whether the batch meets every expectation (``unexpected`` columns do not count)."""
        return bool((self.table["check"] == "unexpected").all())

    @property
    def violations(self) -> int:
        """Number of violated expectations (``unexpected`` columns do not count)."""
        return int((self.table["check"] != "unexpected").sum())

    @property
    def columns(self) -> list[str]:
        """Columns with at least one violation, in report order."""
        shown = self.table.loc[self.table["check"] != "unexpected", "column"]
        return list(dict.fromkeys(shown))

    def to_frame(self) -> pd.DataFrame:
        """A copy of the report table."""
        return self.table.copy()

    def __len__(self) -> int:
        return len(self.table)

    def _summary(self) -> str:
        if self.ok:
            n = self.n_expectations
            return f"ValidationReport: {self.n_rows:,} rows meet all {n} expectations"
        return (
            f"ValidationReport: {self.violations} violated expectation(s) in {self.n_rows:,} "
            f"rows: {', '.join(self.columns)}"
        )

    def _display(self) -> pd.DataFrame:
        shown = self.table.copy()
        shown["share_bad"] = shown["share_bad"].map(lambda s: f"{s:.1%}")
        return shown

    def __repr__(self) -> str:
        if self.table.empty:
            return self._summary()
        return f"{self._summary()}\n{self._display().to_string(index=False)}"


def _fmt(value: float | None) -> str:
    if value is None:
        return "any"
    return f"{value:,.6g}"


def _examples(values: Iterable[str]) -> str:
    return ", ".join(list(dict.fromkeys(values))[:_N_EXAMPLES])


def _row(column: str, check: str, expected: str, observed: str, n_bad: int, n: int, ex: str):
    return {
        "column": column,
        "check": check,
        "expected": expected,
        "observed": observed,
        "n_bad": int(n_bad),
        "share_bad": (n_bad / n) if n else 0.0,
        "examples": ex,
    }


def _violation(e: Expectation, check: str, failing: pd.Series, series: pd.Series) -> dict:
    """The report row of one failed pandera check, from its failure cases (the bad values)."""
    n, n_bad = len(series), len(failing)
    expected = e.expected[check]
    if check == "missing_rate":
        return _row(e.column, check, expected, f"{n_bad / n:.1%} missing", n_bad, n, "")
    if check == "type":
        observed = f"{n_bad:,} value(s) not {e.kind} (dtype {series.dtype})"
        return _row(e.column, check, expected, observed, n_bad, n, _examples(map(str, failing)))
    if check == "range":
        numbers = _as_numbers(series)
        numbers = numbers[~np.isnan(numbers)]
        observed = f"[{_fmt(float(numbers.min()))}, {_fmt(float(numbers.max()))}]"
        shown = (_fmt(float(v)) for v in _as_numbers(failing.iloc[: 50 * _N_EXAMPLES]))
        return _row(e.column, check, expected, observed, n_bad, n, _examples(shown))
    new = sorted({str(v) for v in failing})
    observed = f"{len(new)} new value(s)"
    return _row(e.column, check, expected, observed, n_bad, n, ", ".join(new[:_N_EXAMPLES]))


def _table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The report table, with the same dtypes whether or not there are rows."""
    if not rows:
        return _EMPTY_TABLE.copy()
    data: dict[str, Any] = {c: [r[c] for r in rows] for c in REPORT_COLUMNS}
    data["n_bad"] = np.array(data["n_bad"], dtype="int64")
    data["share_bad"] = np.array(data["share_bad"], dtype="float64")
    return pd.DataFrame(data, columns=list(REPORT_COLUMNS))


_EMPTY_TABLE = pd.DataFrame(
    {
        "column": pd.Series([], dtype=str),
        "check": pd.Series([], dtype=str),
        "expected": pd.Series([], dtype=str),
        "observed": pd.Series([], dtype=str),
        "n_bad": pd.Series([], dtype="int64"),
        "share_bad": pd.Series([], dtype="float64"),
        "examples": pd.Series([], dtype=str),
    }
)


def _failure_cases(pandera_schema: pa.DataFrameSchema, batch: pd.DataFrame) -> pd.DataFrame:
    """pandera's ``failure_cases`` of the batch: one row per failing value, none if it passes."""
    import pandera.pandas as pa
    from pandera.config import ValidationDepth, config_context

    # Environment variables can turn pandera off (PANDERA_VALIDATION_ENABLED=False) or make it
    # skip the data checks (PANDERA_VALIDATION_DEPTH): the kit's checks always run in full.
    with config_context(validation_enabled=True, validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        try:
            pandera_schema.validate(batch, lazy=True)
        except pa.errors.SchemaErrors as errors:
            return errors.failure_cases
    return _NO_FAILURE


_NO_FAILURE = pd.DataFrame(columns=["column", "check", "check_number", "failure_case", "index"])


def _report(
    batch: pd.DataFrame, schema: Schema, pandera_schema: pa.DataFrameSchema
) -> ValidationReport:
    """Run the pandera schema on the batch; fold its failure cases into report rows."""
    n = len(batch)
    cases = _failure_cases(pandera_schema, batch)
    if cases is _NO_FAILURE and not batch.columns.has_duplicates:
        return ValidationReport(table=_table([]), n_rows=n, n_expectations=len(schema))
    repeated = set(batch.columns[batch.columns.duplicated()])
    frame_level = cases["check"].isin(["column_in_dataframe", "column_in_schema"])
    absent = {str(v) for v in cases.loc[cases["check"] == "column_in_dataframe", "failure_case"]}
    unexpected = {str(v) for v in cases.loc[cases["check"] == "column_in_schema", "failure_case"]}
    by_check = cases[~frame_level].groupby(["column", "check_number"], sort=False)
    failed = {(str(column), int(number)): group for (column, number), group in by_check}
    rows: list[dict[str, Any]] = []
    for e, column in zip(schema.expectations, pandera_schema.columns.values(), strict=True):
        if e.column in absent:
            rows.append(_row(e.column, "missing", "column present", "absent", n, n, ""))
        elif e.column in repeated:  # pandera checked each copy; the kit reports the name once
            observed = f"{batch.columns.tolist().count(e.column)} columns of that name"
            rows.append(_row(e.column, "type", e.kind, observed, n, n, ""))
        else:
            for number, check in enumerate(column.checks):
                group = failed.get((e.column, number))
                if group is None:
                    continue
                if group["index"].isna().all():  # no failing value: the check function raised
                    observed = f"the check could not run: {group['failure_case'].iloc[0]}"
                    expected = e.expected[check.name]
                    rows.append(_row(e.column, check.name, expected, observed, n, n, ""))
                else:
                    series = batch[e.column]
                    rows.append(_violation(e, check.name, group["failure_case"], series))
    for name in batch.columns:
        if str(name) in unexpected:
            rows.append(_row(str(name), "unexpected", "not in schema", "present", 0, n, ""))
    return ValidationReport(table=_table(rows), n_rows=n, n_expectations=len(schema))


def validate(batch: pd.DataFrame, schema: Schema) -> ValidationReport:
    """Check a batch against a schema: one report row per violated expectation, never a crash.

    Runs :meth:`Schema.to_pandera` on the batch with ``lazy=True`` and folds pandera's
    ``failure_cases`` (one row per failing value) into one row per violated expectation.

    Parameters
    ----------
    batch : pandas.DataFrame
        The raw inputs to check, of any dtypes (text where numbers were expected, nulls...).
    schema : Schema
        The expectations, e.g. from :func:`infer_schema`.

    Returns
    -------
    ValidationReport
        ``.ok`` is True when no expectation is violated; ``.to_frame()`` has one row per
        violation (columns :data:`REPORT_COLUMNS`), and one ``unexpected`` row per column
        the schema does not know (those do not make the batch fail).

    Raises
    ------
    ParameterError
        Only for misuse: ``batch`` is not a DataFrame or ``schema`` not a Schema.

    Examples
    --------
    >>> import pandas as pd
    >>> schema = Schema([Expectation("age", "numeric", min=0, max=120)])
    >>> validate(pd.DataFrame({"age": [30, 41]}), schema).ok
    True
    >>> report = validate(pd.DataFrame({"age": ["30", "forty"]}), schema)
    >>> report.to_frame()[["column", "check", "n_bad", "examples"]]
      column check  n_bad examples
    0    age  type      1    forty
    """
    check_type("batch", batch, pd.DataFrame, owner="validate")
    check_type("schema", schema, Schema, owner="validate")
    return _report(batch, schema, schema.to_pandera())


def validate_many(batches: Mapping[Any, pd.DataFrame], schema: Schema) -> pd.DataFrame:
    """Validate several batches (e.g. one per day) into one table of violations.

    Each batch gets the verdicts :func:`validate` would give it. A batch on which every check
    function passes is not handed to pandera: the result is the same (no violation), and a
    day-by-day monitor of a few hundred clean batches stays fast.

    Parameters
    ----------
    batches : mapping
        Batch label (a day number, a file name) to its DataFrame.
    schema : Schema

    Returns
    -------
    pandas.DataFrame
        The rows of every report, with a first column ``batch`` holding the label; batches
        without violation contribute no row (``unexpected`` rows are left out).

    Raises
    ------
    ParameterError
        If ``batches`` is not a mapping of DataFrames or ``schema`` not a Schema.

    Examples
    --------
    >>> import pandas as pd
    >>> schema = Schema([Expectation("x", "numeric", min=0, max=1)])
    >>> days = {1: pd.DataFrame({"x": [0.5]}), 2: pd.DataFrame({"x": [50.0]})}
    >>> validate_many(days, schema)[["batch", "column", "check"]]
       batch column  check
    0      2      x  range
    """
    check_type("batches", batches, Mapping, owner="validate_many")
    check_type("schema", schema, Schema, owner="validate_many")
    for label, batch in batches.items():
        check_type(f"batches[{label!r}]", batch, pd.DataFrame, owner="validate_many")
    pandera_schema = schema.to_pandera()  # built once, run on every batch that may fail
    frames = []
    for label, batch in batches.items():
        if _passes_every_check(batch, schema):  # pandera would report nothing to keep
            continue
        table = _report(batch, schema, pandera_schema).table
        table = table[table["check"] != "unexpected"]
        if len(table):
            frames.append(table.assign(batch=label))
    if not frames:
        return _table([]).assign(batch=pd.Series([], dtype=object))[["batch", *REPORT_COLUMNS]]
    out = pd.concat(frames, ignore_index=True)
    return out[["batch", *REPORT_COLUMNS]]
