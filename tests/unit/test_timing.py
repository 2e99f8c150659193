from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlsys_kit.params import ParameterError
from mlsys_kit.timing import Stopwatch, best_of, format_duration, format_measured

SANITIZE = Path(__file__).resolve().parents[1] / "nbval_sanitize.cfg"


def _patterns() -> list[tuple[str, str]]:
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", SANITIZE.read_text(), flags=re.M)


def _sanitize(text: str) -> str:
    for regex, replace in _patterns():
        text = re.sub(regex, replace, text)
    return text


def test_best_of_calls_number_times_per_round() -> None:
    calls = []
    assert best_of(lambda: calls.append(1), repeat=3, number=4) >= 0
    assert len(calls) == 12


def test_best_of_keeps_the_fastest_round(scripted_clock) -> None:
    clock = scripted_clock([0.30, 0.10, 0.20, 0.40])
    assert best_of(lambda: None, repeat=4, clock=clock) == pytest.approx(0.10)
    assert clock.calls == 8, "one clock reading at the start and one at the end of each round"


def test_best_of_reports_seconds_per_call(scripted_clock) -> None:
    # rounds of 5 calls lasting 1.0 s and 0.5 s: the fastest is 0.1 s per call
    clock = scripted_clock([1.0, 0.5])
    assert best_of(lambda: None, repeat=2, number=5, clock=clock) == pytest.approx(0.1)


@pytest.mark.parametrize(("repeat", "number", "name"), [(0, 1, "repeat"), (1, 0, "number")])
def test_best_of_refuses_zero_rounds(repeat: int, number: int, name: str) -> None:
    with pytest.raises(
        ParameterError, match=f"best_of: {name}=0 is out of range: allowed {name} ≥ 1"
    ):
        best_of(lambda: None, repeat=repeat, number=number)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2.5, "~2.5 s"), (0.0123, "~12.3 ms"), (4.2e-5, "~42.0 µs"), (3e-9, "~3.0 ns")],
)
def test_format_duration_picks_a_readable_unit(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    "text",
    [
        format_duration(0.0123),
        format_duration(1.5),
        format_measured(5.2, "×"),
        format_measured(1_234_567, "rows/s", digits=0),
        format_measured(12.5, "%"),
        format_measured(3.3, "MB"),
    ],
)
def test_nbval_sanitizer_masks_every_measured_format(text: str) -> None:
    assert _sanitize(f"p99 {text} here") == _sanitize("p99 ~1 s here")


def test_sanitizer_leaves_plain_numbers_alone() -> None:
    assert "0.83" in _sanitize("accuracy 0.83")


def test_stopwatch_measures_a_block() -> None:
    with Stopwatch() as watch:
        sum(range(100))
    assert watch.seconds >= 0 and str(watch).startswith("~")


def test_stopwatch_reads_the_clock_it_is_given(scripted_clock) -> None:
    clock = scripted_clock([0.25])
    with Stopwatch(clock=clock) as watch:
        pass
    assert watch.seconds == pytest.approx(0.25)
    assert clock.calls == 2, "one reading on entry and one on exit"
