"""Schema and expectation checks on raw input batches: a violation is a report, never a crash.

Serves Chapter 8, "Monitoring and Observability", its "Monitoring raw inputs" and "Feature
monitoring" (Chip Huyen, *Designing Machine Learning Systems*, 2022): before a batch of raw
inputs reaches a model, check that it still looks like data the model can use. The book lists
the checks (the columns exist, each has the expected type, values within their range, categories
from a known set, few missing values) and the tools that run them (Great Expectations, Deequ).

A :class:`Schema` holds one :class:`Expectation` per column. :func:`infer_schema` writes a first
draft from a reference batch (the data the model was trained on); a person then edits it with
:meth:`Schema.replace` (widen a range, allow a new category, tolerate more missing values),
because an inferred schema only knows what happened to occur in the reference. :func:`validate`
checks a batch and returns a :class:`ValidationReport` with **one row per violated
expectation**: which column, which check, what was expected, what was observed, how many values
broke it, and a few examples. Bad data never raises: strings in a numeric column, a column full
of nulls, a missing column, an empty batch all become rows of the report. Only a misuse of the
API (a batch that is not a DataFrame, a bad argument) raises, with a message naming what was
wrong and what is allowed.

The checks, per column (``check`` column of the report):

================  =========================================================================
``missing``       the column is absent from the batch (``required=True``)
``type``          values that are not of the expected kind (``"numeric"``, ``"category"``,
                  ``"boolean"``, ``"datetime"``); e.g. ``"12.50"`` text in a numeric column
``missing_rate``  the share of missing values exceeds ``max_missing``
``range``         more than ``tolerance`` of the non-missing values lie outside
                  ``[min, max]`` (a few values beyond the reference's extremes are expected;
                  a unit change moves most of them)
``category``      more than ``tolerance`` of the values are not in ``allowed``
``unexpected``    a column of the batch the schema does not know (report-only)
================  =========================================================================

**Why hand-written.** Great Expectations (a large framework with its own project layout, data
context and stores) and pandera (not installed in the kit's environment, and tied to specific
pandas releases) are what practitioners use; the checks themselves are a few vectorised pandas
lines each, and the lesson of the notebook is exactly what those checks are and how a violation
is reported, so the kit writes them out in one readable module instead of configuring a
framework. Porting a :class:`Schema` to pandera's ``DataFrameSchema`` (``Check.in_range``,
``Check.isin``, ``nullable``) or to a Great Expectations suite is mechanical.

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

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlsys_kit.params import check_choice
from mlsys_kit.results import Report

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
        if not isinstance(self.column, str) or not self.column:
            raise ValueError(f"Expectation: column must be a non-empty str; got {self.column!r}")
        check_choice("kind", self.kind, COLUMN_KINDS, owner=where)
        for name in ("min", "max"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise ValueError(f"{where}: {name} must be a number or None; got {value!r}")
            if math.isnan(float(value)):
                raise ValueError(f"{where}: {name} must not be NaN")
            object.__setattr__(self, name, float(value))
        if (self.min is not None or self.max is not None) and self.kind != "numeric":
            raise ValueError(
                f"{where}: min and max apply to kind='numeric' only, not {self.kind!r}"
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{where}: min={self.min!r} is above max={self.max!r}")
        if self.allowed is not None:
            if self.kind != "category":
                raise ValueError(f"{where}: allowed applies to kind='category' only")
            if isinstance(self.allowed, str) or not isinstance(self.allowed, Iterable):
                raise ValueError(
                    f"{where}: allowed must be a collection of str; got {self.allowed!r}"
                )
            object.__setattr__(self, "allowed", frozenset(str(v) for v in self.allowed))
        for name, high in (("max_missing", 1.0), ("tolerance", 1.0)):
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not (0 <= value <= high) or (name == "tolerance" and value == 1):
                bound = "0 ≤ max_missing ≤ 1" if name == "max_missing" else "0 ≤ tolerance < 1"
                raise ValueError(f"{where}: {name}={value!r} is out of range: allowed {bound}")
            object.__setattr__(self, name, float(value))
        if not isinstance(self.required, bool):
            raise ValueError(f"{where}: required must be True or False; got {self.required!r}")


@dataclass(frozen=True)
class Schema:
    """The expectations of a batch, one per column, in column order.

    Build one with :func:`infer_schema` or from :class:`Expectation` objects; edit it with
    :meth:`replace`; show it with :meth:`to_frame`.

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
            if not isinstance(item, Expectation):
                raise TypeError(f"Schema holds Expectation objects; got {type(item).__name__}")
        names = [e.column for e in items]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"Schema: each column may have one expectation; repeated: {repeated}")
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
        KeyError
            If the schema has no such column.
        ValueError
            If a field is unknown or the edited expectation is invalid.
        """
        known = {f.name for f in fields(Expectation)} - {"column"}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown Expectation field(s) {unknown}: choose from {sorted(known)}")
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


def _kind_of(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series):
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

    Each column gets its kind from its dtype (bool, datetime, numeric, anything else is a
    category), a numeric column the reference's minimum and maximum, a category column the set
    of values seen (``None``, any value allowed, beyond ``max_categories`` distinct values, an
    id or free text), and ``max_missing`` the reference's missing share plus ``missing_slack``.
    Review the draft: the reference only shows what happened to occur in it.

    Parameters
    ----------
    reference : pandas.DataFrame
        Data the model was trained on, or a batch known to be good. Must have rows.
    columns : iterable of str, optional
        The columns to describe; all of them by default.
    missing_slack : float, default 0.02
        Added to each column's missing share to get ``max_missing``, in [0, 1].
    tolerance : float, default 0.01
        The ``tolerance`` of every expectation (see :class:`Expectation`).
    max_categories : int, default 50
        A category column with more distinct values gets no ``allowed`` set.

    Returns
    -------
    Schema

    Raises
    ------
    TypeError
        If ``reference`` is not a DataFrame.
    ValueError
        If it is empty, a column is absent, or an argument is out of range.

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
    if not isinstance(reference, pd.DataFrame):
        raise TypeError(f"reference must be a pandas DataFrame; got {type(reference).__name__}")
    if len(reference) == 0:
        raise ValueError("reference has no rows: a schema cannot be inferred from an empty batch")
    for name, value, high in (("missing_slack", missing_slack, 1), ("tolerance", tolerance, 1)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < high:
            raise ValueError(f"{name}={value!r} is out of range: allowed 0 ≤ {name} < {high}")
    if (
        isinstance(max_categories, bool)
        or not isinstance(max_categories, int)
        or max_categories < 1
    ):
        raise ValueError(f"max_categories must be an int ≥ 1; got {max_categories!r}")
    names = list(reference.columns) if columns is None else list(columns)
    absent = [n for n in names if n not in reference.columns]
    if absent:
        raise ValueError(f"columns {absent} are not in reference; it has {list(reference.columns)}")
    expectations = []
    for name in names:
        series = reference[name]
        kind = _kind_of(series)
        missing = float(series.isna().mean())
        spec: dict[str, Any] = {
            "max_missing": min(1.0, round(missing + missing_slack, 4)),
            "tolerance": tolerance,
        }
        present = series.dropna()
        if kind == "numeric" and len(present):
            spec.update(min=float(present.min()), max=float(present.max()))
        elif kind == "category":
            values = present.astype(str).unique()
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


def _examples(values: np.ndarray) -> str:
    shown = pd.unique(np.asarray([str(v) for v in values[: 50 * _N_EXAMPLES]], dtype=object))
    return ", ".join(shown[:_N_EXAMPLES])


def _as_kind(series: pd.Series, kind: str, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values converted to ``kind`` and the mask of present values that are not of that kind.

    Numeric values come back as a float array (NaN where missing or not a number); other
    kinds as an object array of the original values.
    """
    if kind == "numeric":
        if pd.api.types.is_bool_dtype(series):
            converted = np.full(len(series), np.nan)
        elif pd.api.types.is_numeric_dtype(series):
            converted = series.to_numpy(dtype=float, na_value=np.nan)
        else:
            coerced = pd.to_numeric(pd.Series(series.to_numpy(dtype=object)), errors="coerce")
            converted = coerced.to_numpy(dtype=float, na_value=np.nan)
        return converted, ~missing & np.isnan(converted)
    fine = np.zeros(len(series), dtype=bool)
    if kind == "category":  # any value has a text form; only the allowed set can be violated
        if isinstance(series.dtype, pd.CategoricalDtype):
            return series.cat.codes.to_numpy(), fine  # codes stand for the values
        return series.to_numpy(), fine
    values = series.to_numpy(dtype=object)
    if kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(series):
            return values, fine
        converted = pd.to_datetime(pd.Series(values), errors="coerce", format="mixed")
        return values, ~missing & converted.isna().to_numpy()
    if kind == "boolean":
        if pd.api.types.is_bool_dtype(series):
            return values, fine
        ok = np.array(
            [v is True or v is False or (type(v) is not str and v in (0, 1)) for v in values]
        )
        return values, ~missing & ~ok if len(values) else fine
    return values, fine  # pragma: no cover - every kind is handled above


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


def _column_violations(series: pd.Series, e: Expectation) -> list[dict[str, Any]]:
    rows = []
    n = len(series)
    missing = series.isna().to_numpy(dtype=bool)
    n_missing = int(missing.sum())
    if n and n_missing / n > e.max_missing:
        rows.append(
            _row(
                e.column,
                "missing_rate",
                f"≤ {e.max_missing:.1%} missing",
                f"{n_missing / n:.1%} missing",
                n_missing,
                n,
                "",
            )
        )
    converted, wrong_type = _as_kind(series, e.kind, missing)
    n_wrong = int(wrong_type.sum())
    if n_wrong:
        rows.append(
            _row(
                e.column,
                "type",
                e.kind,
                f"{n_wrong:,} value(s) not {e.kind} (dtype {series.dtype})",
                n_wrong,
                n,
                _examples(series.to_numpy(dtype=object)[wrong_type]),
            )
        )
    valid = converted[~missing & ~wrong_type]
    if e.kind == "numeric" and (e.min is not None or e.max is not None) and len(valid):
        outside = np.zeros(len(valid), dtype=bool)
        if e.min is not None:
            outside |= valid < e.min
        if e.max is not None:
            outside |= valid > e.max
        n_out = int(outside.sum())
        if n_out > e.tolerance * len(valid):
            rows.append(
                _row(
                    e.column,
                    "range",
                    f"[{_fmt(e.min)}, {_fmt(e.max)}]",
                    f"[{_fmt(float(valid.min()))}, {_fmt(float(valid.max()))}]",
                    n_out,
                    n,
                    _examples(
                        np.array([_fmt(float(v)) for v in valid[outside][:50]], dtype=object)
                    ),
                )
            )
    if e.kind == "category" and e.allowed is not None and len(valid):
        if isinstance(series.dtype, pd.CategoricalDtype):  # fast path: compare the categories
            codes = series.cat.codes.to_numpy()
            codes = codes[codes >= 0]
            distinct = series.cat.categories.to_numpy(dtype=object)
        else:
            codes, distinct = pd.factorize(valid)
        known = np.array([str(v) in e.allowed for v in distinct], dtype=bool)
        used = np.bincount(codes, minlength=len(distinct)) > 0  # declared, unused: fine
        unknown = [v for v, ok, u in zip(distinct, known, used, strict=True) if u and not ok]
        if unknown:
            new = ~known[codes]
            n_new = int(new.sum())
            if n_new > e.tolerance * len(valid):
                names = sorted(str(v) for v in unknown)
                rows.append(
                    _row(
                        e.column,
                        "category",
                        f"one of {'|'.join(sorted(e.allowed))}",
                        f"{len(names)} new value(s)",
                        n_new,
                        n,
                        ", ".join(names[:_N_EXAMPLES]),
                    )
                )
    return rows


def _table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The report table, with fixed dtypes whether or not there are rows."""
    if not rows:
        return _EMPTY_TABLE.copy()
    data: dict[str, Any] = {c: [r[c] for r in rows] for c in REPORT_COLUMNS}
    data["n_bad"] = np.array(data["n_bad"], dtype="int64")
    data["share_bad"] = np.array(data["share_bad"], dtype="float64")
    return pd.DataFrame(data, columns=list(REPORT_COLUMNS))


_EMPTY_TABLE = pd.DataFrame(
    {
        "column": pd.Series([], dtype=object),
        "check": pd.Series([], dtype=object),
        "expected": pd.Series([], dtype=object),
        "observed": pd.Series([], dtype=object),
        "n_bad": pd.Series([], dtype="int64"),
        "share_bad": pd.Series([], dtype="float64"),
        "examples": pd.Series([], dtype=object),
    }
)


def validate(batch: pd.DataFrame, schema: Schema) -> ValidationReport:
    """Check a batch against a schema: one report row per violated expectation, never a crash.

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
    TypeError
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
    if not isinstance(batch, pd.DataFrame):
        raise TypeError(f"batch must be a pandas DataFrame; got {type(batch).__name__}")
    if not isinstance(schema, Schema):
        raise TypeError(f"schema must be a Schema (see infer_schema); got {type(schema).__name__}")
    rows: list[dict[str, Any]] = []
    n = len(batch)
    for e in schema.expectations:
        if e.column not in batch.columns:
            if e.required:
                rows.append(_row(e.column, "missing", "column present", "absent", n, n, ""))
            continue
        column = batch[e.column]
        if isinstance(column, pd.DataFrame):  # a repeated column name
            rows.append(
                _row(e.column, "type", e.kind, f"{column.shape[1]} columns of that name", n, n, "")
            )
            continue
        rows.extend(_column_violations(column, e))
    for name in batch.columns:
        if name not in schema.columns:
            rows.append(_row(str(name), "unexpected", "not in schema", "present", 0, n, ""))
    table = _table(rows)
    return ValidationReport(table=table, n_rows=n, n_expectations=len(schema))


def validate_many(batches: Mapping[Any, pd.DataFrame], schema: Schema) -> pd.DataFrame:
    """Validate several batches (e.g. one per day) into one table of violations.

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

    Examples
    --------
    >>> import pandas as pd
    >>> schema = Schema([Expectation("x", "numeric", min=0, max=1)])
    >>> days = {1: pd.DataFrame({"x": [0.5]}), 2: pd.DataFrame({"x": [50.0]})}
    >>> validate_many(days, schema)[["batch", "column", "check"]]
       batch column  check
    0      2      x  range
    """
    if not isinstance(batches, Mapping):
        raise TypeError(
            f"batches must be a mapping of label to DataFrame; got {type(batches).__name__}"
        )
    frames = []
    for label, batch in batches.items():
        table = validate(batch, schema).table
        table = table[table["check"] != "unexpected"]
        if len(table):
            frames.append(table.assign(batch=label))
    if not frames:
        return pd.DataFrame(columns=["batch", *REPORT_COLUMNS])
    out = pd.concat(frames, ignore_index=True)
    return out[["batch", *REPORT_COLUMNS]]
