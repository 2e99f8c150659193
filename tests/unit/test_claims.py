from __future__ import annotations

import math

import numpy as np
import pytest

from mlsys_kit.claims import ClaimFailed, claim, claims_from_outputs, evaluate_claim
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


def test_failed_claim_raises_with_the_evidence(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ClaimFailed, match=r"Rare: observed 0.40 < 0.10 does not hold"):
        claim("Rare", 0.4, "<", 0.1)
    assert "✘ Rare" in capsys.readouterr().out  # the reader sees the failed line first


def test_claim_returns_nothing_and_prints_outside_notebooks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert claim("ok", 1, ">", 0) is None
    assert capsys.readouterr().out.startswith("✔ ok")


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_values_are_refused(bad: float) -> None:
    with pytest.raises(ParameterError, match=r"^claim 's': value must be a finite number"):
        evaluate_claim("s", bad, ">", 0)
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
