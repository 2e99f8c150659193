"""Checked claims: the lesson of a notebook, computed from its own run.

Every notebook ends with the book's point stated as one or more claims, such as
"a random split overstates AUC by more than 0.03 against a time split". A claim
compares a number measured in this run against a threshold. When the comparison
holds, the notebook shows a ✔ line with the evidence; when it does not, the
notebook shows a ✘ line and raises :class:`ClaimFailed`, so papermill, nbval and
``mlsys-kit run`` all report the notebook as failed. Nothing is hard-coded: a claim
can always fail.

Each claim's output also carries machine-readable metadata (under the
``"mlsys_kit"`` key of the output's metadata, which nbval does not compare), so
that :mod:`mlsys_kit.kit.runner` can tabulate the claims of an executed notebook.
"""

from __future__ import annotations

import html
import operator
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from mlsys_kit.params import check_choice, check_float
from mlsys_kit.timing import format_measured

__all__ = ["Claim", "ClaimFailed", "claim", "evaluate_claim", "claims_from_outputs", "METADATA_KEY"]

METADATA_KEY = "mlsys_kit"

Op = Literal[">", ">=", "<", "<=", "=="]

_OPS: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    ">": (operator.gt, ">"),
    ">=": (operator.ge, "≥"),
    "<": (operator.lt, "<"),
    "<=": (operator.le, "≤"),
    "==": (operator.eq, "="),
}


class ClaimFailed(AssertionError):
    """Raised when a notebook's claim does not hold for this run."""


@dataclass(frozen=True)
class Claim:
    """One checked claim and the evidence for it.

    Attributes
    ----------
    statement : str
        The lesson in words, e.g. ``"Parquet is at least 3× smaller than CSV"``.
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
    """

    statement: str
    value: float
    op: str
    threshold: float
    passed: bool
    evidence: str

    @property
    def line(self) -> str:
        """The one-line text a reader sees: mark, statement and evidence."""
        mark = "✔" if self.passed else "✘"
        return f"{mark} {self.statement}  ({self.evidence})"

    def to_dict(self) -> dict[str, Any]:
        """The claim as plain JSON-serialisable data."""
        return asdict(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        colour = "#1a7f37" if self.passed else "#cf222e"
        mark = "✔" if self.passed else "✘"
        html_line = (
            f'<p style="margin:0.2em 0"><span style="color:{colour};font-weight:bold">{mark}</span>'
            f" <b>{html.escape(self.statement)}</b>"
            f' <span style="color:#57606a">({html.escape(self.evidence)})</span></p>'
        )
        data = {"text/plain": self.line, "text/html": html_line}
        return data, {METADATA_KEY: {"claim": self.to_dict()}}


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
) -> Claim:
    """Compare ``value op threshold`` and return the :class:`Claim`; never raises for a fail.

    The parameters are those of :func:`claim`, which notebooks use; this is the
    side-effect-free part, for code that checks several claims before showing them.

    Examples
    --------
    >>> evaluate_claim("Batching raises throughput", 12.5, ">", 2, unit="×").line
    '✔ Batching raises throughput  (observed 12.50× > 2.00×)'
    """
    owner = f"claim {statement!r}"
    op = check_choice("op", op, list(_OPS), owner=owner)
    value = check_float("value", _as_float(value), owner=owner)
    threshold = check_float("threshold", _as_float(threshold), owner=owner)
    compare, symbol = _OPS[op]
    passed = bool(compare(value, threshold))
    evidence = (
        f"observed {_format_number(value, digits, unit, measured)} {symbol} "
        f"{_format_number(threshold, digits, unit, measured=False)}"
    )
    return Claim(statement, value, op, threshold, passed, evidence)


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
    """Check that ``value op threshold`` holds, show the evidence, raise if not.

    Serves the kit's notebook anatomy (see ``CONTRIBUTING.md``): the last section
    of every notebook states the book's lesson as claims computed from the run.
    Like ``assert``, it returns nothing; the ✔ or ✘ line is displayed.

    Parameters
    ----------
    statement : str
        The lesson in words. Write it so that it reads as true when it passes.
    value : float
        The quantity this run measured (a difference, a ratio, a count...).
    op : {">", ">=", "<", "<=", "=="}
        The comparison.
    threshold : float
        The bound. Choose it so the claim holds across seeds and parameter
        ranges, with a margin, not only for the default run.
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
    ClaimFailed
        When the comparison does not hold. The claim's ✘ line is shown first.
    ParameterError
        When ``op`` is unknown or ``value`` or ``threshold`` is not a finite number.

    Examples
    --------
    >>> claim("Batching raises throughput", 12.5, ">", 2, unit="×")
    ✔ Batching raises throughput  (observed 12.50× > 2.00×)
    >>> claim("Rare events are rare", 0.4, "<", 0.1)
    Traceback (most recent call last):
    ...
    mlsys_kit.claims.ClaimFailed: Rare events are rare: observed 0.40 < 0.10 does not hold
    """
    result = evaluate_claim(
        statement, value, op, threshold, digits=digits, unit=unit, measured=measured
    )
    _show(result)
    if not result.passed:
        raise ClaimFailed(f"{statement}: {result.evidence} does not hold")


def _show(result: Claim) -> None:
    """Display the claim in a notebook; print its line anywhere else."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with jupyterlab
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(result)
    else:
        print(result.line)


def claims_from_outputs(cells: Iterable[dict[str, Any]]) -> list[Claim]:
    """Collect the claims recorded in the outputs of executed notebook cells.

    Parameters
    ----------
    cells : iterable of dict
        Notebook cells (``nbformat`` nodes or plain dicts).

    Returns
    -------
    list of Claim
        In the order the notebook showed them, failed ones included.
    """
    found = []
    for cell in cells:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get(METADATA_KEY, {}).get("claim")
            if record:
                found.append(Claim(**record))
    return found
