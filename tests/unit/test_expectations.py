"""Tests of monitoring.expectations: schemas, inference, and validation that never crashes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.monitoring.expectations import (
    CHECKS,
    REPORT_COLUMNS,
    Expectation,
    Schema,
    ValidationReport,
    infer_schema,
    validate,
    validate_many,
)
from mlsys_kit.params import ParameterError


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
    with pytest.raises(
        ParameterError, match="column='nope' is not allowed: choose one of 'amount'"
    ):
        schema.replace("nope", max=1)
    with pytest.raises(
        ParameterError, match="field='maximum' is not allowed: choose one of 'kind'"
    ):
        schema.replace("amount", maximum=1)
    with pytest.raises(KeyError, match="no column 'nope'"):
        schema["nope"]


def test_validate_many_labels_batches(reference):
    schema = infer_schema(reference)
    table = validate_many({"mon": reference, "tue": reference.assign(amount=-1.0)}, schema)
    assert table["batch"].tolist() == ["tue"]
    empty = validate_many({"mon": reference}, schema)
    assert empty.empty and list(empty.columns) == ["batch", *REPORT_COLUMNS]


def test_validate_many_gives_each_batch_the_verdicts_of_validate(reference, monkeypatch):
    # validate_many skips pandera on batches whose checks all pass: the table must still be
    # exactly the rows validate() gives each batch (unexpected columns left out)
    import mlsys_kit.monitoring.expectations as expectations

    schema = infer_schema(reference).replace("items", required=False)
    text = reference.assign(amount=reference["amount"].astype(object))
    text.loc[:4, "amount"] = "12.50"
    batches = {
        "clean": reference,
        "a few beyond the range (within tolerance)": reference.assign(
            amount=reference["amount"].where(reference.index > 2, 1e9)
        ),
        "unit change": reference.assign(amount=reference["amount"] * 1000),
        "text in a numeric column": text,
        "new category": reference.assign(method="crypto"),
        "nulls": reference.assign(method=None),
        "required column absent": reference.drop(columns="amount"),
        "optional column absent": reference.drop(columns="items"),
        "unexpected column": reference.assign(extra=1),
        "repeated column": pd.concat([reference, reference[["amount"]]], axis=1),
        "empty": reference.iloc[:0],
    }
    one_by_one = [
        validate(batch, schema).table.assign(batch=label) for label, batch in batches.items()
    ]
    expected = pd.concat(one_by_one, ignore_index=True)
    expected = expected[expected["check"] != "unexpected"].reset_index(drop=True)
    table = validate_many(batches, schema)
    pd.testing.assert_frame_equal(table, expected[table.columns.tolist()])
    assert {"clean", "optional column absent", "unexpected column"}.isdisjoint(table["batch"])

    calls = []
    real = expectations._report
    monkeypatch.setattr(
        expectations, "_report", lambda batch, *a: calls.append(len(batch)) or real(batch, *a)
    )
    validate_many({"mon": reference, "tue": reference.assign(amount=-1.0)}, schema)
    assert calls == [len(reference)], "pandera ran on a batch that passes every check"


def test_validate_many_hands_pandera_a_check_that_raises(monkeypatch, reference):
    import mlsys_kit.monitoring.expectations as expectations

    def broken(series, **kwargs):
        raise RuntimeError("boom")

    schema = Schema([Expectation("amount", "numeric", min=0)])
    monkeypatch.setattr(expectations, "_outside_range", broken)
    table = validate_many({"mon": reference}, schema)
    assert table["check"].tolist() == ["range"]
    assert table["observed"].str.contains("could not run").all()


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
        ({"kind": "numeric", "max": float("nan")}, "max must be a finite number"),
        ({"kind": "category", "min": 0}, "apply to kind='numeric' only"),
        ({"kind": "numeric", "allowed": {"a"}}, "allowed applies to kind='category'"),
        ({"kind": "category", "allowed": "abc"}, "collection of str"),
        ({"kind": "numeric", "max_missing": 1.5}, "max_missing=1.5 is out of range: allowed 0 ≤"),
        (
            {"kind": "numeric", "tolerance": 1},
            "tolerance=1.0 is out of range: allowed 0 ≤ tolerance < 1",
        ),
        ({"kind": "numeric", "required": "yes"}, "required must be True or False"),
    ],
)
def test_bad_expectations_raise(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        Expectation("x", **kwargs)


def test_bad_arguments_raise(reference):
    """Misuse raises ParameterError, naming what was given and what is allowed."""
    schema = infer_schema(reference)
    misuses = [
        (lambda: validate([1, 2], schema), "validate: batch must be a DataFrame; got list"),
        (lambda: validate(reference, {"amount": "numeric"}), "schema must be a Schema; got dict"),
        (lambda: infer_schema("data.csv"), "infer_schema: reference must be a DataFrame"),
        (lambda: infer_schema(reference.iloc[:0]), "no rows"),
        (
            lambda: infer_schema(reference, columns=["nope"]),
            "columns='nope' is not allowed: choose one of 'amount'",
        ),
        (
            lambda: infer_schema(reference, missing_slack=-0.1),
            "missing_slack=-0.1 is out of range: allowed 0 ≤ missing_slack < 1",
        ),
        (
            lambda: infer_schema(reference, max_categories=0),
            "max_categories=0 is out of range: allowed max_categories ≥ 1",
        ),
        (
            lambda: Schema([Expectation("x", "numeric"), Expectation("x", "numeric")]),
            r"repeated: \['x'\]",
        ),
        (lambda: Schema(["x"]), "Schema: expectations must be a Expectation; got str"),
        (lambda: validate_many([reference], schema), "batches must be a Mapping; got list"),
        (
            lambda: validate_many({"mon": [1]}, schema),
            "batches\\['mon'\\] must be a DataFrame; got list",
        ),
    ]
    for call, message in misuses:
        with pytest.raises(ParameterError, match=message):
            call()


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


def test_the_schema_is_a_pandera_schema_and_pandera_agrees_with_the_report(reference):
    import pandera.pandas as pa

    schema = infer_schema(reference)
    pandera_schema = schema.to_pandera()
    assert isinstance(pandera_schema, pa.DataFrameSchema)
    assert pandera_schema.strict is True
    assert list(pandera_schema.columns) == list(schema.columns)
    assert all(c.dtype is None and c.nullable for c in pandera_schema.columns.values())
    names = {
        name: [c.name for c in column.checks] for name, column in pandera_schema.columns.items()
    }
    assert names["amount"] == ["type", "missing_rate", "range"]
    assert names["method"] == ["missing_rate", "category"]
    assert names["when"] == ["type", "missing_rate"]
    amount_range = pandera_schema.columns["amount"].checks[2]
    assert not amount_range.element_wise
    assert amount_range.statistics == {
        "low": schema["amount"].min,
        "high": schema["amount"].max,
        "tolerance": 0.01,
    }
    assert pandera_schema.validate(reference) is not None  # the reference passes pandera itself

    batch = reference.assign(amount=reference["amount"] * 100, extra=1)
    batch["items"] = batch["items"].astype("float")
    batch.loc[:29, "items"] = np.nan
    batch.loc[:99, "method"] = "crypto"
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        pandera_schema.validate(batch, lazy=True)
    cases = caught.value.failure_cases
    by_pandera = {}
    for (context, column, number), group in cases.groupby(
        ["schema_context", "column", "check_number"], dropna=False
    ):
        if context == "DataFrameSchema":  # a frame-level check: the unexpected column
            by_pandera[(group["failure_case"].iloc[0], "unexpected")] = 0
        else:
            check = pandera_schema.columns[column].checks[int(number)].name
            by_pandera[(column, check)] = len(group)
    report = validate(batch, schema).table
    by_kit = {(r.column, r.check): r.n_bad for r in report.itertuples()}
    assert by_kit == by_pandera
    assert set(by_kit) == {
        ("amount", "range"),
        ("items", "missing_rate"),
        ("method", "category"),
        ("extra", "unexpected"),
    }


def test_importing_the_module_does_not_import_pandera():
    code = "import sys, mlsys_kit.monitoring.expectations; sys.exit('pandera' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_pandera_switched_off_by_its_config_still_validates(reference):
    from pandera.config import config_context

    batch = reference.assign(amount=-1.0)
    with config_context(validation_enabled=False, validation_depth="SCHEMA_ONLY"):
        report = validate(batch, infer_schema(reference))
    assert checks(report) == {("amount", "range")}


def test_a_check_that_cannot_run_is_a_row_not_a_crash():
    schema = Schema([Expectation("tags", "category", allowed={"a"})])
    report = validate(pd.DataFrame({"tags": [["a"], ["b"]]}), schema)  # lists are unhashable
    assert checks(report) == {("tags", "category")}
    assert report.table["observed"].iloc[0].startswith("the check could not run: TypeError")


def test_zero_tolerance_refuses_a_single_value_and_says_so():
    schema = Schema([Expectation("hour", "numeric", min=0, max=23, tolerance=0)])
    report = validate(pd.DataFrame({"hour": [0, 12, 23] * 100 + [24]}), schema)
    assert report.table[["check", "expected", "observed", "n_bad", "examples"]].values.tolist() == [
        ["range", "[0, 23], none beyond", "[0, 24]", 1, "24"]
    ]


def test_rows_follow_the_schema_then_the_order_of_checks():
    schema = Schema(
        [Expectation("b", "category", allowed={"x"}), Expectation("a", "numeric", min=0, max=1)]
    )
    batch = pd.DataFrame({"a": ["oops", None, None, 0.5], "b": ["y"] * 4, "z": 0})
    table = validate(batch, schema).table
    assert table[["column", "check"]].values.tolist() == [
        ["b", "category"],
        ["a", "type"],
        ["a", "missing_rate"],
        ["z", "unexpected"],
    ]
    assert [CHECKS.index(c) for c in table["check"][1:]] == sorted(
        CHECKS.index(c) for c in table["check"][1:]
    )
