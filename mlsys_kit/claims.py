"""Checked claims: the lessons of a notebook, computed from its own run.

Every notebook ends with the book's point stated as claims, of two kinds:

* a **lesson** (:func:`claim`) is an experimental outcome the book predicts and the
  run could contradict, such as "a random split overstates AUC by more than 0.03
  against a time split";
* a **check** (:func:`check`) is mechanics the code guarantees, such as "the
  reproduced run gives the same number" or "a hash catches the edit". Checks are
  welcome, but they are shown and counted apart from lessons.

Both compare a number measured in this run against a threshold and show a ✔ or ✘
line with the evidence. Neither raises: a notebook shows *every* verdict, and its
last cell calls :func:`verdict`, which sums them up and raises :class:`ClaimFailed`
when any lesson or check failed, so papermill, nbval and ``mlsys-kit run`` report
the notebook as failed only after the reader has seen all the evidence. Nothing
is hard-coded: a lesson can always fail.

Notebooks may also :func:`record` named metrics (a detection delay, a PR-AUC) for
parameter sweeps to collect beside the claims.

Every claim's and metric's output carries machine-readable metadata (under the
``"mlsys_kit"`` key of the output's metadata, which nbval does not compare), so
that :mod:`mlsys_kit.kit.runner` can tabulate the claims of an executed notebook.
"""

from __future__ import annotations

import html
import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from mlsys_kit.params import ParameterError, check_choice, check_float, check_int, check_type
from mlsys_kit.timing import format_measured

__all__ = [
    "Claim",
    "ClaimFailed",
    "Metric",
    "claim",
    "check",
    "record",
    "verdict",
    "clear_claims",
    "evaluate_claim",
    "claims_from_outputs",
    "metrics_from_outputs",
    "METADATA_KEY",
    "KINDS",
]

METADATA_KEY = "mlsys_kit"

#: The two kinds of claim: experimental outcomes, and mechanics the code guarantees.
KINDS = ("lesson", "check")

Op = Literal[">", ">=", "<", "<=", "=="]
Kind = Literal["lesson", "check"]

_OPS: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    ">": (operator.gt, ">"),
    ">=": (operator.ge, "≥"),
    "<": (operator.lt, "<"),
    "<=": (operator.le, "≤"),
    "==": (operator.eq, "="),
}

_PASS_COLOUR, _FAIL_COLOUR, _MUTED = "#1a7f37", "#cf222e", "#57606a"


class ClaimFailed(AssertionError):
    """Raised by :func:`verdict` when a lesson or a check of the run did not hold."""


@dataclass(frozen=True)
class Claim:
    """One checked claim and the evidence for it.

    Attributes
    ----------
    statement : str
        The claim in words, e.g. ``"Parquet is at least 3× smaller than CSV"``.
    value : float
        What this run measured.
    op : {">", ">=", "<", "<=", "=="}
        How ``value`` is compared with ``threshold``.
    threshold : float
        The bound the measured value must respect.
    passed : bool
        Whether ``value op threshold`` holds.
    evidence : str
        The comparison as shown to the reader, e.g. ``"observed 6.1× ≥ 3×"``.
    kind : {"lesson", "check"}
        A lesson the run could contradict, or mechanics the code guarantees.
    """

    statement: str
    value: float
    op: str
    threshold: float
    passed: bool
    evidence: str
    kind: str = "lesson"

    @property
    def margin(self) -> float:
        """How far the value is on the passing side of the threshold, in the claim's units.

        Positive when the claim holds with room to spare, negative when it fails;
        for ``"=="``, minus the distance between value and threshold.

        Examples
        --------
        >>> evaluate_claim("gap", 0.08, ">", 0.03).margin.__round__(2)
        0.05
        >>> evaluate_claim("error", 0.12, "<", 0.10).margin.__round__(2)
        -0.02
        """
        if self.op in (">", ">="):
            return self.value - self.threshold
        if self.op in ("<", "<="):
            return self.threshold - self.value
        return 0.0 - abs(self.value - self.threshold)  # 0.0, not -0.0, when equal

    @property
    def relative_margin(self) -> float:
        """:attr:`margin` as a share of ``|threshold|`` (NaN when the threshold is 0)."""
        return self.margin / abs(self.threshold) if self.threshold else math.nan

    @property
    def line(self) -> str:
        """The one-line text a reader sees: mark, kind (for checks), statement and evidence."""
        mark = "✔" if self.passed else "✘"
        tag = "check: " if self.kind == "check" else ""
        return f"{mark} {tag}{self.statement}  ({self.evidence})"

    def to_dict(self) -> dict[str, Any]:
        """The claim as plain JSON-serialisable data (a value that is not a number as ``None``)."""
        data = asdict(self)
        if math.isnan(self.value):
            data["value"] = None  # strict JSON (JupyterLab's reader) has no NaN
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Claim:
        """The claim :meth:`to_dict` wrote (``None`` for a value that was not a number)."""
        value = data["value"]
        return cls(**{**data, "value": math.nan if value is None else value})

    def _repr_mimebundle_(self, include=None, exclude=None):
        colour = _PASS_COLOUR if self.passed else _FAIL_COLOUR
        mark = "✔" if self.passed else "✘"
        tag = f'<span style="color:{_MUTED}">check:</span> ' if self.kind == "check" else ""
        statement = html.escape(self.statement)
        statement = f"<b>{statement}</b>" if self.kind == "lesson" else statement
        html_line = (
            f'<p style="margin:0.2em 0"><span style="color:{colour};font-weight:bold">{mark}</span>'
            f" {tag}{statement}"
            f' <span style="color:{_MUTED}">({html.escape(self.evidence)})</span></p>'
        )
        data = {"text/plain": self.line, "text/html": html_line}
        return data, {METADATA_KEY: {"claim": self.to_dict()}}


@dataclass(frozen=True)
class Metric:
    """A named number a notebook records for sweeps (see :func:`record`)."""

    name: str
    value: float
    digits: int = 3
    unit: str = ""

    @property
    def line(self) -> str:
        """The text a reader sees, rounded to ``digits``."""
        return f"recorded {self.name} = {_format_number(self.value, self.digits, self.unit, False)}"

    def to_dict(self) -> dict[str, Any]:
        """The metric as plain JSON-serialisable data (full precision)."""
        return {"name": self.name, "value": self.value, "unit": self.unit}

    def _repr_mimebundle_(self, include=None, exclude=None):
        html_line = f'<p style="margin:0;color:{_MUTED}">{html.escape(self.line)}</p>'
        data = {"text/plain": self.line, "text/html": html_line}
        return data, {METADATA_KEY: {"metric": self.to_dict()}}


def _format_number(value: float, digits: int, unit: str, measured: bool) -> str:
    if measured:
        return format_measured(value, unit=unit, digits=digits)
    if isinstance(value, bool):
        value = int(value)
    text = f"{value:,.{digits}f}"
    return f"{text}{unit}" if unit in ("×", "%") else f"{text} {unit}".rstrip()


def _as_float(value: Any) -> Any:
    """``value`` as a float when it converts (NumPy scalars, booleans), else unchanged."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return value  # check_float names its type


def evaluate_claim(
    statement: str,
    value: float,
    op: Op,
    threshold: float,
    *,
    digits: int = 2,
    unit: str = "",
    measured: bool = False,
    kind: Kind = "lesson",
) -> Claim:
    """Compare ``value op threshold`` and return the :class:`Claim`; show and record nothing.

    The parameters are those of :func:`claim`, which notebooks use; this is the
    side-effect-free part, for code that checks several claims before showing them.

    Examples
    --------
    >>> evaluate_claim("Batching raises throughput", 12.5, ">", 2, unit="×").line
    '✔ Batching raises throughput  (observed 12.50× > 2.00×)'
    """
    owner = f"claim {statement!r}"
    kind = check_choice("kind", kind, KINDS, owner=owner)
    op = check_choice("op", op, list(_OPS), owner=owner)
    value = _as_float(value)
    if not (isinstance(value, float) and not math.isfinite(value)):  # NaN, ±inf: fail, not raise
        value = check_float("value", value, owner=owner)
    threshold = check_float("threshold", _as_float(threshold), owner=owner)
    compare, symbol = _OPS[op]
    bound = _format_number(threshold, digits, unit, measured=False)
    if not math.isfinite(value):  # e.g. a ratio over zero past a lesson's edge: nothing measured
        evidence = f"observed {value}: not a finite number, so not {symbol} {bound}"
        return Claim(statement, math.nan, op, threshold, False, evidence, kind)
    passed = bool(compare(value, threshold))
    observed = _format_number(value, digits, unit, measured)
    # A failure must not read as a true statement ("observed 0.40 < 0.10"): say what was needed.
    evidence = (
        f"observed {observed} {symbol} {bound}"
        if passed
        else f"observed {observed}, needs {symbol} {bound}"
    )
    return Claim(statement, value, op, threshold, passed, evidence, kind)


#: The claims shown so far in this kernel, by kind and statement: re-running a cell
#: replaces its claims instead of adding them twice.
_LEDGER: dict[tuple[str, str], Claim] = {}


def claim(
    statement: str,
    value: float,
    op: Op,
    threshold: float,
    *,
    digits: int = 2,
    unit: str = "",
    measured: bool = False,
) -> None:
    """State a lesson: check that ``value op threshold`` holds and show the evidence.

    Serves the kit's notebook anatomy (see ``CONTRIBUTING.md``): the last section
    of every notebook states the book's lessons as claims computed from the run.
    A lesson is an outcome the run could contradict; for mechanics the code
    guarantees, use :func:`check`. A failed lesson is shown (✘) but does not stop
    the notebook: the last cell's :func:`verdict` fails the run once every verdict
    is on screen.

    Parameters
    ----------
    statement : str
        The lesson in words. Write it so that it reads as true when it passes.
    value : float
        The quantity this run measured (a difference, a ratio, a count...).
    op : {">", ">=", "<", "<=", "=="}
        The comparison.
    threshold : float
        The bound. Set it from the claims reliability report's margins (unseen
        seeds, test sizes), not from the default run.
    digits : int, default 2
        Decimal places shown for value and threshold. Show only the digits that
        carry the lesson: stored outputs must not change with BLAS builds.
    unit : str, default ""
        Unit printed after the numbers (``"×"``, ``"%"``, ``"ms"``...).
    measured : bool, default False
        Set for noisy measurements such as timings: the observed value is printed
        as ``~value`` so that nbval's sanitizer masks it.

    Raises
    ------
    ParameterError
        When ``op`` is unknown, ``value`` is not a number, or ``threshold`` is not a
        finite number. A ``value`` that is NaN or infinite (a ratio over zero, the
        mean of nothing: typical past a lesson's edge) does not raise: the claim
        fails, shown with that value, and the notebook runs on to :func:`verdict`.

    Examples
    --------
    >>> clear_claims()
    >>> claim("Batching raises throughput", 12.5, ">", 2, unit="×")
    ✔ Batching raises throughput  (observed 12.50× > 2.00×)
    >>> claim("Rare", 0.4, "<", 0.1)
    ✘ Rare  (observed 0.40, needs < 0.10)
    >>> verdict()
    Traceback (most recent call last):
    ...
    mlsys_kit.claims.ClaimFailed: 1 of 2 lessons failed: Rare (observed 0.40, needs < 0.10)
    """
    _state("lesson", statement, value, op, threshold, digits, unit, measured)


def check(
    statement: str,
    value: float,
    op: Op,
    threshold: float,
    *,
    digits: int = 2,
    unit: str = "",
    measured: bool = False,
) -> None:
    """State a check: mechanics the code guarantees, shown and counted apart from lessons.

    Use it for what holds by construction (a reproduced run gives the same number,
    a hash catches an edit, a stopped service refuses): worth showing, but not a
    lesson. Parameters and behaviour are those of :func:`claim`.

    Examples
    --------
    >>> clear_claims()
    >>> check("The rerun reproduces the metric", 0.0, "==", 0.0)
    ✔ check: The rerun reproduces the metric  (observed 0.00 = 0.00)
    """
    _state("check", statement, value, op, threshold, digits, unit, measured)


def _state(kind, statement, value, op, threshold, digits, unit, measured) -> None:
    result = evaluate_claim(
        statement, value, op, threshold, digits=digits, unit=unit, measured=measured, kind=kind
    )
    _LEDGER[(kind, statement)] = result
    _show(result)


def record(name: str, value: float, *, digits: int = 3, unit: str = "") -> None:
    """Record a named number of this run, for parameter sweeps to collect.

    ``mlsys-kit sweep`` puts every recorded metric in its table beside the claims,
    so a sweep can draw, say, the detection delay against the drift size. The
    metric is shown as one grey line, rounded to ``digits``; the sweep gets it at
    full precision.

    Parameters
    ----------
    name : str
        A short identifier, e.g. ``"delay_days"`` (letters, digits, underscores).
    value : float
        The number; must be finite.
    digits : int, default 3
        Decimal places shown (stored outputs must not change with BLAS builds).
    unit : str, default ""

    Examples
    --------
    >>> record("pr_auc", 0.61234)
    recorded pr_auc = 0.612
    """
    name = check_type("name", name, str, owner="record")
    if not name.isidentifier():
        raise ParameterError(
            f"record: name={name!r} must be an identifier (letters, digits, underscores)"
        )
    value = check_float("value", _as_float(value), owner=f"record {name!r}")
    digits = check_int("digits", digits, min=0, owner="record")
    _show(Metric(name, value, digits, unit))


def clear_claims() -> None:
    """Forget the claims shown so far in this kernel (:func:`verdict` starts afresh)."""
    _LEDGER.clear()


def verdict() -> None:
    """Sum up every claim shown so far; raise :class:`ClaimFailed` if any failed.

    The last code cell of every notebook. It shows one line (lessons and checks
    that held), then fails the run when a lesson or a check did not hold, naming
    each failure. Claims are shown one by one before it, so a run past a lesson's
    edge ends with every verdict on screen.

    Raises
    ------
    ClaimFailed
        Naming the failed lessons and checks.

    Examples
    --------
    >>> clear_claims()
    >>> claim("More data helps", 0.9, ">", 0.8)
    ✔ More data helps  (observed 0.90 > 0.80)
    >>> check("The rerun reproduces", 1.0, "==", 1.0)
    ✔ check: The rerun reproduces  (observed 1.00 = 1.00)
    >>> verdict()
    Lessons: 1 of 1 held · checks: 1 of 1 held
    """
    by_kind = {kind: [c for c in _LEDGER.values() if c.kind == kind] for kind in KINDS}
    lessons, checks = by_kind["lesson"], by_kind["check"]
    summary = (
        f"Lessons: {sum(c.passed for c in lessons)} of {len(lessons)} held · "
        f"checks: {sum(c.passed for c in checks)} of {len(checks)} held"
    )
    print(summary)
    failures = []
    for kind, plural in (("lesson", "lessons"), ("check", "checks")):
        failed = [c for c in by_kind[kind] if not c.passed]
        if failed:
            names = "; ".join(f"{c.statement} ({c.evidence})" for c in failed)
            failures.append(f"{len(failed)} of {len(by_kind[kind])} {plural} failed: {names}")
    if failures:
        raise ClaimFailed(" | ".join(failures))


def _show(result: Claim | Metric) -> None:
    """Display the claim or metric in a notebook; print its line anywhere else."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with jupyterlab
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(result)
    else:
        print(result.line)


def _records(cells: Iterable[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    found = []
    for cell in cells:
        for output in cell.get("outputs", []):
            entry = output.get("metadata", {}).get(METADATA_KEY, {}).get(key)
            if entry:
                found.append(entry)
    return found


def claims_from_outputs(cells: Iterable[dict[str, Any]]) -> list[Claim]:
    """Collect the claims recorded in the outputs of executed notebook cells.

    Parameters
    ----------
    cells : iterable of dict
        Notebook cells (``nbformat`` nodes or plain dicts).

    Returns
    -------
    list of Claim
        In the order the notebook showed them, failed ones included; lessons and
        checks alike (see :attr:`Claim.kind`).
    """
    return [Claim.from_dict(entry) for entry in _records(cells, "claim")]


def metrics_from_outputs(cells: Iterable[dict[str, Any]]) -> list[Metric]:
    """Collect the metrics :func:`record` shows in the outputs of executed cells."""
    return [
        Metric(e["name"], e["value"], unit=e.get("unit", "")) for e in _records(cells, "metric")
    ]
