"""Tests of ``data_engineering.formats``: one table as CSV, JSON lines or Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from mlsys_kit.data_engineering.formats import (
    FORMATS,
    FormatError,
    bytes_read,
    compare_values,
    file_size,
    parquet_bytes_per_value,
    read_table,
    row_groups,
    table_schema,
    text_bytes_per_value,
    write_table,
)
from mlsys_kit.params import ParameterError


@pytest.fixture
def table() -> pd.DataFrame:
    n = 500
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "at": pd.date_range("2024-01-01", periods=n, freq="h").astype("datetime64[us]"),
            "amount": rng.lognormal(3, 1, n).round(2),
            "ratio": rng.random(n),
            "country": pd.Categorical(rng.choice(["US", "DE", "IN"], n)),
            "flag": rng.random(n) < 0.1,
        }
    )


@pytest.fixture
def files(table: pd.DataFrame, tmp_path: Path) -> dict[str, Path]:
    paths = {fmt: tmp_path / f"t.{fmt}" for fmt in FORMATS}
    for fmt, path in paths.items():
        write_table(table, path, fmt, row_group_size=100)
    return paths


def test_formats_are_the_three_of_the_chapter() -> None:
    assert FORMATS == ("csv", "jsonl", "parquet")


def test_unknown_format_is_refused_with_the_allowed_ones(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"write_table: fmt='xlsx'.*'csv', 'jsonl', 'parquet'"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.xlsx", "xlsx")
    with pytest.raises(ParameterError, match=r"read_table: fmt='xlsx'.*'csv', 'jsonl', 'parquet'"):
        read_table(tmp_path / "t.xlsx", "xlsx")


def test_write_returns_the_size_on_disk(table: pd.DataFrame, tmp_path: Path) -> None:
    size = write_table(table, tmp_path / "t.csv", "csv")
    assert size == file_size(tmp_path / "t.csv") > 0


def test_parquet_is_smaller_than_csv_and_csv_than_jsonl(files: dict[str, Path]) -> None:
    sizes = {fmt: file_size(path) for fmt, path in files.items()}
    assert sizes["parquet"] < sizes["csv"] < sizes["jsonl"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_with_schema_keeps_types(
    table: pd.DataFrame, files: dict[str, Path], fmt: str
) -> None:
    back = read_table(files[fmt], fmt, schema=table_schema(table))
    report = compare_values(table, back)
    assert report["same_type"].all(), report
    assert report.drop(index="ratio")["n_changed"].eq(0).all(), report


def test_csv_and_parquet_keep_floats_exactly_pandas_json_rounds_them(
    table: pd.DataFrame, files: dict[str, Path]
) -> None:
    schema = table_schema(table)
    for fmt in ("csv", "parquet"):
        assert (
            compare_values(table, read_table(files[fmt], fmt, schema=schema)).loc[
                "ratio", "n_changed"
            ]
            == 0
        )
    back = read_table(files["jsonl"], "jsonl", schema=schema)
    assert np.allclose(back["ratio"], table["ratio"], rtol=0, atol=1e-9)


def test_without_schema_text_loses_types(files: dict[str, Path]) -> None:
    csv = read_table(files["csv"], "csv")
    jsonl = read_table(files["jsonl"], "jsonl")
    parquet = read_table(files["parquet"], "parquet")
    assert not isinstance(csv["country"].dtype, pd.CategoricalDtype)
    assert not pd.api.types.is_datetime64_dtype(jsonl["at"].dtype)
    assert isinstance(parquet["country"].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_column(table: pd.DataFrame, files: dict[str, Path], fmt: str) -> None:
    back = read_table(files[fmt], fmt, schema=table_schema(table), columns=["amount"])
    assert list(back.columns) == ["amount"]
    assert np.array_equal(back["amount"].to_numpy(), table["amount"].to_numpy())


@pytest.mark.parametrize("fmt", FORMATS)
def test_filter_gives_the_same_rows_in_every_format(
    table: pd.DataFrame, files: dict[str, Path], fmt: str
) -> None:
    expr = (pc.field("id") >= 120) & (pc.field("id") < 180)
    back = read_table(files[fmt], fmt, schema=table_schema(table), filter=expr)
    assert back["id"].tolist() == list(range(120, 180))


def test_filter_with_columns_that_the_filter_does_not_name(
    table: pd.DataFrame, files: dict[str, Path]
) -> None:
    expr = pc.field("id") < 3
    back = read_table(files["parquet"], "parquet", columns=["amount"], filter=expr)
    assert back["amount"].tolist() == table["amount"].head(3).tolist()


def test_row_groups_counts_what_statistics_rule_out(files: dict[str, Path]) -> None:
    assert row_groups(files["parquet"]) == (5, 5)
    assert row_groups(files["parquet"], pc.field("id") >= 450).read == 1
    assert row_groups(files["parquet"], pc.field("id") >= 450) == (1, 5)
    assert row_groups(files["parquet"], pc.field("id") > 10_000) == (0, 5)
    empty = read_table(files["parquet"], "parquet", filter=pc.field("id") > 10_000)
    assert len(empty) == 0


def test_corrupted_csv_value_is_refused_naming_row_column_and_value(
    table: pd.DataFrame, files: dict[str, Path], tmp_path: Path
) -> None:
    lines = files["csv"].read_text().splitlines(keepends=True)
    fields = lines[4].split(",")
    fields[2] = "N/A"  # row 3 (line 5), column amount: not a missing value under the policy
    lines[4] = ",".join(fields)
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(lines))
    with pytest.raises(FormatError, match=r"bad\.csv.*row 3 \(line 5.*'amount'.*'N/A'"):
        read_table(bad, "csv", schema=table_schema(table))
    assert not pd.api.types.is_float_dtype(read_table(bad, "csv")["amount"].dtype)


def test_csv_with_a_missing_field_is_refused(
    table: pd.DataFrame, files: dict[str, Path], tmp_path: Path
) -> None:
    lines = files["csv"].read_text().splitlines(keepends=True)
    lines[3] = lines[3].split(",", 1)[1]  # drop the first field of one row
    bad = tmp_path / "short.csv"
    bad.write_text("".join(lines))
    with pytest.raises(FormatError, match=r"short\.csv cannot be read as csv.*columns"):
        read_table(bad, "csv", schema=table_schema(table))


def test_malformed_json_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n{"id": 2\n')
    with pytest.raises(FormatError, match=r"bad\.jsonl cannot be read as jsonl"):
        read_table(bad, "jsonl")


def test_parquet_schema_mismatch_is_refused(table: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "text_amount.parquet"
    write_table(table.assign(amount=table["amount"].astype(str)), path, "parquet")
    with pytest.raises(FormatError, match="column 'amount' is string, expected double"):
        read_table(path, "parquet", schema=table_schema(table))
    write_table(table.drop(columns="flag"), path, "parquet")
    with pytest.raises(FormatError, match="column 'flag' is missing"):
        read_table(path, "parquet", schema=table_schema(table))


def test_text_file_missing_a_schema_column_is_refused(table: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_table(table.drop(columns="flag"), path, "jsonl")
    with pytest.raises(FormatError, match="flag"):
        read_table(path, "jsonl", schema=table_schema(table))


def test_bad_arguments(table: pd.DataFrame, files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no csv file"):
        read_table(tmp_path / "nothing.csv", "csv")
    with pytest.raises(
        ParameterError, match=r"read_table: columns \['nope'\] are not in the schema"
    ):
        read_table(files["csv"], "csv", schema=table_schema(table), columns=["nope"])
    with pytest.raises(ParameterError, match="write_table: compression='lzma' is not allowed"):
        write_table(table, tmp_path / "t.parquet", "parquet", compression="lzma")
    with pytest.raises(ParameterError, match="write_table: row_group_size=0 is out of range"):
        write_table(table, tmp_path / "t.parquet", "parquet", row_group_size=0)


def test_table_schema_has_no_pandas_metadata(table: pd.DataFrame) -> None:
    schema = table_schema(table)
    assert schema.metadata is None
    assert schema.field("at").type == pa.timestamp("us")
    assert pa.types.is_dictionary(schema.field("country").type)


def test_bytes_per_value(table: pd.DataFrame, files: dict[str, Path]) -> None:
    text = text_bytes_per_value(table)
    assert text["at"] == len("2024-01-01 00:00:00.000000,")  # 26 characters and a delimiter
    assert text["flag"] > 5  # "false" or "true", spelled out
    binary = parquet_bytes_per_value(files["parquet"])
    assert list(binary.index) == list(table.columns)
    assert binary["flag"] < 1 < text["flag"]
    with pytest.raises(ParameterError, match="text_bytes_per_value: df has no rows"):
        text_bytes_per_value(table.head(0))


def test_compare_values_counts_changes_and_types(table: pd.DataFrame) -> None:
    changed = table.assign(amount=table["amount"] + 1, country=table["country"].astype(str))
    report = compare_values(table, changed)
    assert report.loc["amount", "n_changed"] == len(table)
    assert not report.loc["country", "same_type"]
    assert report.loc["country", "n_changed"] == 0
    with pytest.raises(ParameterError, match="compare_values: cannot compare"):
        compare_values(table, table.head(3))


def test_bytes_read_text_reads_the_whole_file_parquet_only_what_is_asked(
    table: pd.DataFrame, files: dict[str, Path]
) -> None:
    for fmt in ("csv", "jsonl"):
        size = files[fmt].stat().st_size
        assert bytes_read(files[fmt], fmt) == size
        assert bytes_read(files[fmt], fmt, columns=["amount"]) == size
    parquet = files["parquet"]
    every = bytes_read(parquet, "parquet")
    one = bytes_read(parquet, "parquet", columns=["amount"])
    assert one < every
    assert bytes_read(parquet, "parquet", columns=["amount"]) == one  # a measurement, repeatable


def test_bytes_read_skips_row_groups_the_filter_rules_out(
    table: pd.DataFrame, files: dict[str, Path]
) -> None:
    # the fixture's rows are in `id` order, in row groups of 100: ids < 100 are in one of 5
    parquet = files["parquet"]
    few = bytes_read(parquet, "parquet", filter=pc.field("id") < 100)
    every = bytes_read(parquet, "parquet")
    assert few < every
    assert bytes_read(parquet, "parquet", filter=pc.field("id") >= 0) == every


def test_bytes_read_bad_arguments(files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"bytes_read: fmt='xml'"):
        bytes_read(files["csv"], "xml")
    with pytest.raises(FileNotFoundError, match="no parquet file"):
        bytes_read(tmp_path / "missing.parquet", "parquet")
