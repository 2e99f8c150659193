from __future__ import annotations

import math

import pytest

from mlsys_kit.params import (
    ParameterError,
    check_bool,
    check_choice,
    check_file_names,
    check_float,
    check_int,
)


def test_check_int_accepts_and_returns_in_range_values() -> None:
    assert check_int("n_rows", 5_000, min=1_000, max=10_000) == 5_000


@pytest.mark.parametrize("bad", [1.5, "10", True, None])
def test_check_int_refuses_non_integers(bad: object) -> None:
    with pytest.raises(ParameterError, match="n_rows must be an integer"):
        check_int("n_rows", bad)


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (10, {"min": 100}, r"n_rows=10 is out of range: allowed n_rows ≥ 100"),
        (10, {"max": 5}, r"allowed n_rows ≤ 5"),
        (10, {"min": 100, "max": 1_000}, r"allowed 100 ≤ n_rows ≤ 1,000"),
    ],
)
def test_check_int_names_the_allowed_range(value: int, kwargs: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        check_int("n_rows", value, **kwargs)


def test_check_float_accepts_integers_and_refuses_nan_and_bools() -> None:
    assert check_float("alpha", 1, min=0, max=1) == 1.0
    with pytest.raises(ParameterError, match="finite"):
        check_float("alpha", math.nan)
    with pytest.raises(ParameterError, match="must be a number"):
        check_float("alpha", False)
    with pytest.raises(ParameterError, match=r"alpha=1.5 is out of range"):
        check_float("alpha", 1.5, max=1)


def test_check_choice_lists_the_choices() -> None:
    assert check_choice("split", "time", ("random", "time")) == "time"
    with pytest.raises(ParameterError, match="choose one of 'random', 'time'"):
        check_choice("split", "rnadom", ("random", "time"))


def test_check_bool_refuses_strings() -> None:
    assert check_bool("shuffle", False) is False
    with pytest.raises(ParameterError, match="True or False"):
        check_bool("shuffle", "False")


def test_parameter_error_is_a_value_error() -> None:
    assert issubclass(ParameterError, ValueError)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["ada", "ada"], "must not repeat a name: ada"),
        (["a/b"], "'a/b' may only hold"),
        ([".hidden"], "not starting with a dot"),
        (["ok", "sp ace"], "'sp ace'"),
    ],
)
def test_check_file_names_refuses_what_cannot_name_a_file(values, message):
    with pytest.raises(ParameterError, match=message):
        check_file_names("students", values, owner="release")


def test_check_file_names_keeps_safe_names_in_order():
    assert check_file_names("names", ["b.c", " a@x+1 ", "", "-z"]) == ["b.c", "a@x+1", "-z"]
