"""Tests of ``design.versioning``: fingerprints of code, data and parameters."""

from __future__ import annotations

import string

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.design.versioning import fingerprint_code, fingerprint_frame, fingerprint_params
from mlsys_kit.params import ParameterError

HEX = set(string.hexdigits.lower())


def rule_v1(amount):
    return amount > 100


def rule_v1_again(amount):
    return amount > 100


def rule_v2(amount):
    return amount > 50


class Model:
    def predict(self, amount):
        return amount > 100


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [12.5, 80.0, 250.0],
            "country": pd.Series(["US", None, "DE"], dtype="str"),
            "new_device": [False, True, True],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
        }
    )


# --- fingerprint_code ---------------------------------------------------------------------


def test_code_fingerprint_is_short_hex_and_stable() -> None:
    fp = fingerprint_code(rule_v1)
    assert len(fp) == 12 and set(fp) <= HEX
    assert fingerprint_code(rule_v1) == fp


def test_code_fingerprint_changes_with_the_code() -> None:
    assert fingerprint_code(rule_v1) != fingerprint_code(rule_v2)
    # The name is part of the source: a renamed copy is different code.
    assert fingerprint_code(rule_v1) != fingerprint_code(rule_v1_again)


def test_code_fingerprint_of_several_objects_depends_on_order() -> None:
    both = fingerprint_code(rule_v1, rule_v2)
    assert both == fingerprint_code(rule_v1, rule_v2)
    assert both != fingerprint_code(rule_v2, rule_v1)
    assert both != fingerprint_code(rule_v1)


def test_code_fingerprint_of_classes_methods_and_modules() -> None:
    assert fingerprint_code(Model) != fingerprint_code(Model.predict)
    import mlsys_kit.design.versioning as module

    assert len(fingerprint_code(module)) == 12


def test_code_fingerprint_ignores_indentation(tmp_path, monkeypatch) -> None:
    """The same function nested in a block (as in a class or an `if`) has the same fingerprint."""
    import importlib

    (tmp_path / "flat_mod.py").write_text("def f(x):\n    return x + 1\n")
    (tmp_path / "nested_mod.py").write_text("if True:\n    def f(x):\n        return x + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    flat, nested = importlib.import_module("flat_mod"), importlib.import_module("nested_mod")
    assert fingerprint_code(flat.f) == fingerprint_code(nested.f)


def test_code_fingerprint_length() -> None:
    assert len(fingerprint_code(rule_v1, length=64)) == 64
    assert fingerprint_code(rule_v1, length=64).startswith(fingerprint_code(rule_v1))


@pytest.mark.parametrize("obj", [len, 3, "def f(): pass", np.sum.__call__])
def test_code_fingerprint_without_source(obj) -> None:
    with pytest.raises(ParameterError, match="cannot fingerprint the code"):
        fingerprint_code(obj)


def test_code_fingerprint_of_exec_code_has_no_source() -> None:
    namespace: dict = {}
    exec("def g():\n    return 1\n", namespace)
    with pytest.raises(ParameterError, match="source is not available"):
        fingerprint_code(namespace["g"])


def test_code_fingerprint_needs_an_object() -> None:
    with pytest.raises(ParameterError, match="at least one"):
        fingerprint_code()


# --- fingerprint_frame --------------------------------------------------------------------


def test_frame_fingerprint_equal_content_equal_fingerprint() -> None:
    df = _frame()
    assert fingerprint_frame(df) == fingerprint_frame(_frame())
    assert fingerprint_frame(df) == fingerprint_frame(df.copy())
    assert len(fingerprint_frame(df)) == 12


@pytest.mark.parametrize(
    "change",
    [
        lambda df: df.assign(amount=df["amount"] + 0.01),  # one value
        lambda df: df.iloc[::-1],  # row order
        lambda df: df.iloc[:2],  # fewer rows
        lambda df: df.rename(columns={"amount": "value"}),  # a column name
        lambda df: df.astype({"amount": "float32"}),  # a dtype
        lambda df: df[["country", "amount", "new_device", "when"]],  # column order
        lambda df: df.assign(extra=1),  # a new column
        lambda df: df.assign(country=["US", "FR", "DE"]),  # a missing value filled
    ],
)
def test_frame_fingerprint_changes_with_the_content(change) -> None:
    df = _frame()
    assert fingerprint_frame(change(df)) != fingerprint_frame(df)


def test_frame_fingerprint_ignores_index_unless_asked() -> None:
    df = _frame()
    shifted = df.set_axis([10, 11, 12])
    assert fingerprint_frame(shifted) == fingerprint_frame(df)
    assert fingerprint_frame(shifted, index=True) != fingerprint_frame(df, index=True)


def test_frame_fingerprint_of_empty_frames() -> None:
    empty = fingerprint_frame(pd.DataFrame())
    assert empty == fingerprint_frame(pd.DataFrame())
    assert empty != fingerprint_frame(pd.DataFrame(columns=["a"]))
    assert empty != fingerprint_frame(pd.DataFrame(index=[0, 1]))


@pytest.mark.parametrize("not_a_frame", [pd.Series([1, 2]), np.ones((2, 2)), [[1, 2]], None])
def test_frame_fingerprint_rejects_non_frames(not_a_frame) -> None:
    with pytest.raises(ParameterError, match="fingerprint_frame: df must be a DataFrame"):
        fingerprint_frame(not_a_frame)


# --- fingerprint_params -------------------------------------------------------------------


def test_params_fingerprint_ignores_key_order_not_values() -> None:
    a = {"C": 1.0, "penalty": "l2", "nested": {"x": 1, "y": [1, 2]}}
    b = {"nested": {"y": [1, 2], "x": 1}, "penalty": "l2", "C": 1.0}
    assert fingerprint_params(a) == fingerprint_params(b)
    assert fingerprint_params(a) != fingerprint_params({**a, "C": 0.5})
    assert fingerprint_params({"y": [1, 2]}) != fingerprint_params({"y": [2, 1]})


def test_params_fingerprint_accepts_numpy_scalars() -> None:
    assert fingerprint_params({"n": np.int64(3)}) == fingerprint_params({"n": 3})
    assert fingerprint_params({"x": np.float64(0.5)}) == fingerprint_params({"x": 0.5})


@pytest.mark.parametrize("bad", [{"s": {1, 2}}, {"f": object()}, {"a": np.ones(2)}])
def test_params_fingerprint_rejects_non_json(bad) -> None:
    with pytest.raises(ParameterError, match="JSON-serialisable"):
        fingerprint_params(bad)


# --- length -------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 65, -1, 2.5, True, "12"])
def test_length_out_of_range(length) -> None:
    with pytest.raises(ParameterError, match="length"):
        fingerprint_frame(_frame(), length=length)
    with pytest.raises(ParameterError, match="length"):
        fingerprint_params({}, length=length)
    with pytest.raises(ParameterError, match="length"):
        fingerprint_code(rule_v1, length=length)
