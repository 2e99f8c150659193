"""Tests of monitoring.expectations: schemas, inference, and validation that never crashes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.monitoring.expectations import (
    REPORT_COLUMNS,
    Expectation,
    Schema,
    ValidationReport,
    infer_schema,
    validate,
    validate_many,
)


@pytest.fixture
def reference() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 500
    return pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, n),
            "method": pd.Series(rng.choice(["card", "wallet"], n), dtype="str"),
            "items": rng.integers(1, 5, n),
            "new_device": rng.random(n) < 0.1,
            "when": pd.date_range("2024-01-01", periods=n, freq="h"),
            "group": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        }
    )


def checks(report: ValidationReport) -> set[tuple[str, str]]:
    return set(zip(report.table["column"], report.table["check"], strict=True))


def test_infer_schema_kinds_ranges_categories(reference):
    schema = infer_schema(reference)
    assert schema.columns == tuple(reference.columns)
    kinds = {e.column: e.kind for e in schema.expectations}
    assert kinds == {
        "amount": "numeric",
        "method": "category",
        "items": "numeric",
        "new_device": "boolean",
        "when": "datetime",
        "group": "category",
    }
    assert schema["amount"].min == pytest.approx(reference["amount"].min())
    assert schema["amount"].max == pytest.approx(reference["amount"].max())
    assert schema["method"].allowed == frozenset({"card", "wallet"})
    assert schema["group"].allowed == frozenset({"a", "b", "c"})
    assert schema["amount"].max_missing == pytest.approx(0.02)


def test_reference_meets_its_own_schema(reference):
    report = validate(reference, infer_schema(reference))
    assert report.ok
    assert report.violations == 0
    assert list(report.to_frame().columns) == list(REPORT_COLUMNS)
    assert "meet all 6 expectations" in repr(report)


def test_many_categories_allow_anything():
    ids = pd.DataFrame({"id": [f"u{i}" for i in range(100)]})
    assert infer_schema(ids, max_categories=50)["id"].allowed is None
    assert validate(pd.DataFrame({"id": ["new"]}), infer_schema(ids)).ok


def test_unit_change_is_a_range_violation(reference):
    batch = reference.assign(amount=reference["amount"] * 100)
    report = validate(batch, infer_schema(reference))
    assert checks(report) == {("amount", "range")}
    assert not report.ok
    assert report.columns == ["amount"]


def test_a_few_values_beyond_the_range_are_tolerated(reference):
    schema = infer_schema(reference, tolerance=0.01)
    batch = reference.copy()
    batch.loc[:3, "amount"] = 1e9  # 4 of 500 values: 0.8% < 1%
    assert validate(batch, schema).ok
    batch.loc[:9, "amount"] = 1e9  # 10 of 500: 2%
    assert checks(validate(batch, schema)) == {("amount", "range")}


def test_column_full_of_nulls_is_reported_not_raised(reference):
    batch = reference.assign(amount=np.nan, method=None)
    report = validate(batch, infer_schema(reference))
    assert ("amount", "missing_rate") in checks(report)
    assert ("method", "missing_rate") in checks(report)
    row = report.table.set_index(["column", "check"]).loc[("amount", "missing_rate")]
    assert row["share_bad"] == 1.0


def test_new_category_lists_the_new_values(reference):
    batch = reference.copy()
    batch.loc[:99, "method"] = "crypto"
    report = validate(batch, infer_schema(reference))
    assert checks(report) == {("method", "category")}
    assert report.table["examples"].iloc[0] == "crypto"
    assert report.table["n_bad"].iloc[0] == 100


def test_wrong_types_are_reported(reference):
    batch = reference.astype({"amount": "object", "items": "object", "new_device": "object"})
    batch.loc[0, "amount"] = "12,50"
    batch.loc[1, "items"] = "two"
    batch.loc[2, "new_device"] = "yes"
    batch["when"] = batch["when"].astype("object")
    batch.loc[3, "when"] = "not a date"
    report = validate(batch, infer_schema(reference))
    assert {("amount", "type"), ("items", "type"), ("new_device", "type"), ("when", "type")} <= (
        checks(report)
    )
    table = report.table.set_index(["column", "check"])
    assert table.loc[("items", "type"), "examples"] == "two"
    assert table.loc[("amount", "type"), "n_bad"] == 1


def test_numbers_as_text_are_numbers():
    schema = Schema([Expectation("x", "numeric", min=0, max=10)])
    assert validate(pd.DataFrame({"x": ["1", "2.5", None]}), schema).to_frame()[
        "check"
    ].tolist() == ["missing_rate"]


def test_missing_and_unexpected_columns(reference):
    schema = infer_schema(reference)
    batch = reference.drop(columns=["amount"]).assign(extra=1)
    report = validate(batch, schema)
    assert checks(report) == {("amount", "missing"), ("extra", "unexpected")}
    assert report.violations == 1
    optional = schema.replace("amount", required=False)
    assert validate(batch, optional).ok  # only the unexpected column: report-only


def test_empty_batch_and_repeated_column_do_not_crash(reference):
    schema = infer_schema(reference)
    assert validate(reference.iloc[:0], schema).ok
    doubled = pd.concat([reference[["amount"]], reference[["amount"]]], axis=1)
    report = validate(doubled, Schema([schema["amount"]]))
    assert checks(report) == {("amount", "type")}


def test_schema_replace_edits_one_column(reference):
    schema = infer_schema(reference)
    edited = schema.replace("amount", min=0, max=None)
    assert edited["amount"].max is None
    assert edited["amount"].min == 0.0
    assert edited["method"] == schema["method"]
    assert schema["amount"].max is not None  # the original is unchanged
    with pytest.raises(KeyError, match="no column 'nope'"):
        schema.replace("nope", max=1)
    with pytest.raises(ValueError, match="unknown Expectation field"):
        schema.replace("amount", maximum=1)


def test_validate_many_labels_batches(reference):
    schema = infer_schema(reference)
    table = validate_many({"mon": reference, "tue": reference.assign(amount=-1.0)}, schema)
    assert table["batch"].tolist() == ["tue"]
    empty = validate_many({"mon": reference}, schema)
    assert empty.empty and list(empty.columns) == ["batch", *REPORT_COLUMNS]


def test_html_repr_escapes(reference):
    batch = reference.copy()
    batch.loc[:99, "method"] = "<script>"
    html = validate(batch, infer_schema(reference))._repr_html_()
    assert "&lt;script&gt;" in html and "<script>" not in html


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "money"}, "kind='money' is not allowed: choose one of 'numeric'"),
        ({"kind": "numeric", "min": 2, "max": 1}, "above max"),
        ({"kind": "numeric", "min": "0"}, "min must be a number"),
        ({"kind": "numeric", "max": float("nan")}, "max must not be NaN"),
        ({"kind": "category", "min": 0}, "apply to kind='numeric' only"),
        ({"kind": "numeric", "allowed": {"a"}}, "allowed applies to kind='category'"),
        ({"kind": "category", "allowed": "abc"}, "collection of str"),
        ({"kind": "numeric", "max_missing": 1.5}, "max_missing=1.5 is out of range"),
        ({"kind": "numeric", "tolerance": 1}, "tolerance=1 is out of range"),
        ({"kind": "numeric", "required": "yes"}, "required must be True or False"),
    ],
)
def test_bad_expectations_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Expectation("x", **kwargs)


def test_bad_arguments_raise(reference):
    with pytest.raises(TypeError, match="batch must be a pandas DataFrame"):
        validate([1, 2], infer_schema(reference))
    with pytest.raises(TypeError, match="schema must be a Schema"):
        validate(reference, {"amount": "numeric"})
    with pytest.raises(TypeError, match="reference must be a pandas DataFrame"):
        infer_schema("data.csv")
    with pytest.raises(ValueError, match="no rows"):
        infer_schema(reference.iloc[:0])
    with pytest.raises(ValueError, match="not in reference"):
        infer_schema(reference, columns=["nope"])
    with pytest.raises(ValueError, match="missing_slack"):
        infer_schema(reference, missing_slack=-0.1)
    with pytest.raises(ValueError, match="max_categories"):
        infer_schema(reference, max_categories=0)
    with pytest.raises(ValueError, match="repeated"):
        Schema([Expectation("x", "numeric"), Expectation("x", "numeric")])
    with pytest.raises(TypeError, match="Expectation objects"):
        Schema(["x"])
    with pytest.raises(TypeError, match="mapping"):
        validate_many([reference], infer_schema(reference))


def test_categorical_dtype_new_and_unused_categories():
    reference = pd.DataFrame({"c": pd.Categorical(["a", "b"] * 50)})
    schema = infer_schema(reference)
    unused = pd.DataFrame({"c": pd.Categorical(["a"] * 10, categories=["a", "b", "z"])})
    assert validate(unused, schema).ok  # "z" is declared but never occurs
    new = pd.DataFrame({"c": pd.Categorical(["a", "z", None, "z"])})
    report = validate(new, schema)
    table = report.table.set_index("check")
    assert table.loc["category", "n_bad"] == 2
    assert table.loc["category", "examples"] == "z"
