from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mlsys_kit.claims import (
    ClaimFailed,
    check,
    claim,
    claims_from_outputs,
    clear_claims,
    evaluate_claim,
    metrics_from_outputs,
    record,
    verdict,
)
from mlsys_kit.params import ParameterError


@pytest.mark.parametrize(
    ("value", "op", "threshold", "passed"),
    [
        (2, ">", 1, True),
        (1, ">", 1, False),
        (1, ">=", 1, True),
        (0.5, "<", 1, True),
        (1, "<=", 1, True),
        (0, "==", 0, True),
        (1, "==", 0, False),
    ],
)
def test_comparisons(value: float, op: str, threshold: float, passed: bool) -> None:
    assert evaluate_claim("s", value, op, threshold).passed is passed


def test_evidence_rounds_to_the_digits_asked() -> None:
    result = evaluate_claim("AUC gap is large", 0.08123, ">", 0.03, digits=2)
    assert result.evidence == "observed 0.08 > 0.03"
    assert result.line == "✔ AUC gap is large  (observed 0.08 > 0.03)"
    assert result.value == pytest.approx(0.08123)  # full precision kept for the record


def test_units_and_measured_values() -> None:
    assert evaluate_claim("x", 6.07, ">=", 3, unit="×", digits=1).evidence == (
        "observed 6.1× ≥ 3.0×"
    )
    measured = evaluate_claim("faster", 12.34, ">", 2, unit="×", measured=True)
    assert measured.evidence == "observed ~12.34× > 2.00×"


@pytest.fixture(autouse=True)
def _fresh_ledger():
    clear_claims()
    yield
    clear_claims()


def test_a_failed_lesson_is_shown_and_the_verdict_fails_after_all_are_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    claim("Rare", 0.4, "<", 0.1)  # does not raise: later claims are still shown
    claim("Common", 0.9, ">", 0.5)
    check("Sums to one", 1.0, "==", 1.0)
    out = capsys.readouterr().out
    assert "✘ Rare" in out and "✔ Common" in out and "✔ check: Sums to one" in out
    with pytest.raises(
        ClaimFailed, match=r"^1 of 2 lessons failed: Rare \(observed 0.40, needs < 0.10\)$"
    ):
        verdict()
    assert capsys.readouterr().out == "Lessons: 1 of 2 held · checks: 1 of 1 held\n"


def test_a_failed_check_fails_the_verdict_and_is_named_apart() -> None:
    claim("Holds", 2, ">", 1)
    check("Hash catches the edit", 0, "==", 1)
    with pytest.raises(ClaimFailed, match=r"^1 of 1 checks failed: Hash catches the edit"):
        verdict()


def test_verdict_passes_silently_when_all_hold(capsys: pytest.CaptureFixture[str]) -> None:
    claim("a", 1, ">", 0)
    assert verdict() is None
    assert "Lessons: 1 of 1 held · checks: 0 of 0 held" in capsys.readouterr().out


def test_rerunning_a_cell_replaces_its_claim_instead_of_counting_it_twice() -> None:
    claim("a", 0, ">", 1)
    claim("a", 2, ">", 1)  # the reader fixed the cell and re-ran it
    verdict()


def test_lessons_and_checks_keep_their_kind() -> None:
    assert evaluate_claim("s", 1, ">", 0).kind == "lesson"
    assert evaluate_claim("s", 1, ">", 0, kind="check").kind == "check"
    with pytest.raises(ParameterError, match=r"kind='rule' is not allowed"):
        evaluate_claim("s", 1, ">", 0, kind="rule")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "op", "threshold", "margin"),
    [
        (5, ">", 3, 2),
        (5, ">=", 3, 2),
        (1, "<", 3, 2),
        (4, "<=", 3, -1),
        (2, "==", 3, -1),
        (3, "==", 3, 0),
    ],
)
def test_margin_is_positive_on_the_passing_side(value, op, threshold, margin) -> None:
    result = evaluate_claim("s", value, op, threshold)
    assert result.margin == margin
    assert str(result.margin) != "-0.0"
    assert result.relative_margin == pytest.approx(margin / 3)
    assert math.isnan(evaluate_claim("s", 1, ">", 0).relative_margin)


def test_claim_returns_nothing_and_prints_outside_notebooks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert claim("ok", 1, ">", 0) is None
    assert capsys.readouterr().out.startswith("✔ ok")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_value_that_is_not_finite_fails_the_claim_without_stopping_the_run(bad: float) -> None:
    # Past a lesson's edge a ratio can be over zero: the claim fails, shown, and the run goes on.
    result = evaluate_claim("B reaches 80% of A", bad, ">=", 80, unit="%")
    assert not result.passed and math.isnan(result.value) and math.isnan(result.margin)
    assert (
        result.line
        == f"✘ B reaches 80% of A  (observed {bad}: not a finite number, so not ≥ 80.00%)"
    )
    data, metadata = result._repr_mimebundle_()
    strict = json.loads(json.dumps(metadata, allow_nan=False))  # JupyterLab reads strict JSON
    cells = [{"cell_type": "code", "outputs": [{"metadata": strict}]}]
    (back,) = claims_from_outputs(cells)
    assert not back.passed and math.isnan(back.value) and back.evidence == result.evidence


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_threshold_that_is_not_finite_is_refused(bad: float) -> None:
    with pytest.raises(ParameterError, match=r"^claim 's': threshold must be a finite number"):
        evaluate_claim("s", 1, ">", bad)


def test_a_value_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(ParameterError, match=r"^claim 's': value must be a number; got 'high'"):
        evaluate_claim("s", "high", ">", 0)


def test_numpy_scalars_and_booleans_are_numbers() -> None:
    assert evaluate_claim("s", np.float32(0.5), ">", np.int64(0)).passed
    assert evaluate_claim("s", np.bool_(True), "==", 1).passed


def test_unknown_operator_is_refused() -> None:
    with pytest.raises(ParameterError, match=r"^claim 's': op='!=' is not allowed: choose one of"):
        evaluate_claim("s", 1, "!=", 0)  # type: ignore[arg-type]


def test_claims_round_trip_through_notebook_outputs() -> None:
    first = evaluate_claim("a", 1, ">", 0)
    second = evaluate_claim("b", 0, ">", 1)
    data, metadata = first._repr_mimebundle_()
    assert "✔" in data["text/plain"] and "text/html" in data
    cells = [
        {"cell_type": "code", "outputs": [{"output_type": "display_data", "metadata": metadata}]},
        {"cell_type": "markdown"},
        {"cell_type": "code", "outputs": [{"metadata": second._repr_mimebundle_()[1]}]},
    ]
    assert claims_from_outputs(cells) == [first, second]


def test_metrics_are_shown_rounded_and_collected_at_full_precision(
    capsys: pytest.CaptureFixture[str],
) -> None:
    record("delay_days", 12.34567, digits=1)
    assert capsys.readouterr().out == "recorded delay_days = 12.3\n"
    from mlsys_kit.claims import Metric

    metadata = Metric("delay_days", 12.34567)._repr_mimebundle_()[1]
    cells = [{"cell_type": "code", "outputs": [{"metadata": metadata}]}]
    assert metrics_from_outputs(cells) == [Metric("delay_days", 12.34567)]
    assert claims_from_outputs(cells) == []


@pytest.mark.parametrize(("name", "value"), [("two words", 1.0), ("ok", math.nan)])
def test_bad_metrics_are_refused(name: str, value: float) -> None:
    with pytest.raises(ParameterError, match=r"^record"):
        record(name, value)


def test_a_failed_claim_says_what_was_needed_not_a_false_inequality():
    failed = evaluate_claim("Rare events are rare", 0.078, "<", 0.01, digits=3)
    assert not failed.passed
    assert failed.evidence == "observed 0.078, needs < 0.010"
