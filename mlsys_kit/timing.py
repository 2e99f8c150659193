"""Measure wall time robustly, and print it so stored notebook outputs stay stable.

Timings serve many of the book's trade-offs (latency budgets in chapter 1, file
formats and storage engines in chapter 3, serving in chapter 7). They are noisy on
a shared laptop, so:

* :func:`best_of` times a function several times and keeps the fastest run, the
  measurement least disturbed by other processes (the approach of :mod:`timeit`);
* both it and :class:`Stopwatch` take a ``clock``: ``time.process_time`` measures CPU
  time, which other processes on a busy machine (a test run on two cores) do not
  stretch, for work that runs on one thread;
* claims about time compare *ratios* with generous margins;
* every measured number is printed through :func:`format_measured`, which writes
  it as ``~12.3 ms``. The test suite's nbval sanitizer (``tests/nbval_sanitize.cfg``)
  replaces any ``~<number><unit>`` with a placeholder, so re-running a notebook
  does not change what nbval compares.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mlsys_kit.params import check_int

__all__ = ["best_of", "format_measured", "format_duration", "Stopwatch"]

_DURATION_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def best_of(
    fn: Callable[[], Any],
    *,
    repeat: int = 5,
    number: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Seconds per call of ``fn``: the fastest of ``repeat`` rounds of ``number`` calls.

    Parameters
    ----------
    fn : callable
        Called with no arguments.
    repeat : int, default 5
        Rounds to time; the minimum is kept.
    number : int, default 1
        Calls per round (raise it for very fast functions).
    clock : callable, default time.perf_counter
        Returns the current time in seconds; replace it to test timing code.

    Returns
    -------
    float
        Seconds per call.

    Raises
    ------
    ParameterError
        When ``repeat`` or ``number`` is not a positive integer.

    Examples
    --------
    >>> best_of(lambda: sum(range(1000)), repeat=3, number=10) < 1.0
    True
    """
    repeat = check_int("repeat", repeat, min=1, owner="best_of")
    number = check_int("number", number, min=1, owner="best_of")
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        for _ in range(number):
            fn()
        best = min(best, (clock() - start) / number)
    return best


def format_duration(seconds: float, digits: int = 1) -> str:
    """Format seconds with a readable unit and the ``~`` mark of a measurement.

    Examples
    --------
    >>> format_duration(0.01234)
    '~12.3 ms'
    >>> format_duration(2.5e-6)
    '~2.5 µs'
    """
    for scale, unit in _DURATION_UNITS:
        if abs(seconds) >= scale:
            return f"~{seconds / scale:,.{digits}f} {unit}"
    return f"~{seconds / 1e-9:,.{digits}f} ns"


def format_measured(value: float, unit: str = "", digits: int = 1) -> str:
    """Format a noisy measurement as ``~value unit`` (masked by nbval's sanitizer).

    Parameters
    ----------
    value : float
        The measurement.
    unit : str, default ""
        ``"s"`` formats as a duration with an automatic unit; ``"×"`` and ``"%"``
        are attached to the number; anything else (``"rows/s"``, ``"MB"``) follows
        after a space.
    digits : int, default 1
        Decimal places.

    Examples
    --------
    >>> format_measured(5.234, "×")
    '~5.2×'
    >>> format_measured(1234567, "rows/s", digits=0)
    '~1,234,567 rows/s'
    >>> format_measured(0.25, "s")
    '~250.0 ms'
    """
    if unit == "s":
        return format_duration(value, digits)
    number = f"~{value:,.{digits}f}"
    if unit in ("×", "%"):
        return number + unit
    return f"{number} {unit}".rstrip()


class Stopwatch:
    """Context manager that measures the time a block takes.

    Parameters
    ----------
    clock : callable, default time.perf_counter
        Returns the current time in seconds. ``time.process_time`` measures the CPU time
        of this process instead of the wall time: on one thread, the work a block does,
        whatever else the machine runs (other processes stretch the wall time, not it).

    Examples
    --------
    >>> with Stopwatch() as watch:
    ...     _ = sum(range(1000))
    >>> watch.seconds >= 0
    True
    >>> with Stopwatch(clock=time.process_time) as cpu:
    ...     _ = sum(range(1000))
    >>> cpu.seconds >= 0
    True
    """

    def __init__(self, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.seconds: float = float("nan")
        self._clock = clock
        self._start = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = self._clock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = self._clock() - self._start

    def __str__(self) -> str:
        return format_duration(self.seconds)
