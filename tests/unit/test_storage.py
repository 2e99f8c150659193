"""Tests of ``data_engineering.storage``: one keyed table in SQLite and in DuckDB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

duckdb = pytest.importorskip("duckdb")

from mlsys_kit.data_engineering.storage import (  # noqa: E402
    ENGINES,
    database_size,
    sql_types,
    write_to_engine,
)
from mlsys_kit.params import ParameterError  # noqa: E402


@pytest.fixture
def orders() -> pd.DataFrame:
    n = 300
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "order_id": np.arange(n, dtype=np.int64),
            "created": pd.date_range("2024-01-01", periods=n, freq="37min").astype("M8[us]"),
            "amount": rng.lognormal(3, 1, n).round(2),
            "country": pd.Categorical(rng.choice(["US", "DE", "IN"], n)),
            "is_fraud": rng.random(n) < 0.1,
        }
    )


AGGREGATE = {
    "sqlite": "SELECT country, substr(created, 1, 10) AS day, COUNT(*) AS n, "
    "AVG(is_fraud) AS rate, SUM(amount) AS amount "
    "FROM orders GROUP BY country, day ORDER BY country, day",
    "duckdb": "SELECT country, CAST(created AS DATE) AS day, COUNT(*) AS n, "
    "AVG(CAST(is_fraud AS INTEGER)) AS rate, SUM(amount) AS amount "
    "FROM orders GROUP BY country, day ORDER BY country, day",
}


@pytest.mark.parametrize("engine", ENGINES)
def test_lookup_insert_and_query(orders: pd.DataFrame, tmp_path: Path, engine: str) -> None:
    with write_to_engine(
        orders, tmp_path / f"db.{engine}", engine, table="orders", key="order_id"
    ) as db:
        row = db.lookup(7)
        assert row[0] == 7 and row[2] == orders.loc[7, "amount"]
        assert db.lookup(10_000) is None
        assert db.lookup(np.int64(7)) == row  # NumPy scalars are accepted
        new = orders.iloc[0].to_dict() | {"order_id": 10_000}
        db.insert(new)
        assert db.lookup(10_000)[2] == new["amount"]
        db.insert([10_001, *list(new.values())[1:]])
        count = db.query("SELECT COUNT(*) AS n FROM orders")["n"].iloc[0]
        assert count == len(orders) + 2
        assert db.size > 0


def test_both_engines_aggregate_to_the_same_numbers(orders: pd.DataFrame, tmp_path: Path) -> None:
    results = {}
    for engine in ENGINES:
        with write_to_engine(
            orders, tmp_path / f"db.{engine}", engine, table="orders", key="order_id"
        ) as db:
            result = db.query(AGGREGATE[engine])
        results[engine] = result.assign(day=result["day"].astype(str)).round(6)
    pd.testing.assert_frame_equal(results["sqlite"], results["duckdb"])
    assert results["sqlite"]["n"].sum() == len(orders)


@pytest.mark.parametrize("engine", ENGINES)
def test_types_per_engine(orders: pd.DataFrame, tmp_path: Path, engine: str) -> None:
    with write_to_engine(
        orders, tmp_path / f"db.{engine}", engine, table="orders", key="order_id"
    ) as db:
        _, created, _, country, is_fraud = db.lookup(0)
    if engine == "sqlite":  # no timestamp or boolean type: ISO text and 0/1
        assert created == "2024-01-01 00:00:00" and is_fraud in (0, 1) and isinstance(is_fraud, int)
    else:
        assert created == pd.Timestamp("2024-01-01").to_pydatetime() and isinstance(is_fraud, bool)
    assert country in ("US", "DE", "IN")


@pytest.mark.parametrize("engine", ENGINES)
def test_duplicate_key_insert_is_refused_by_the_engine(
    orders: pd.DataFrame, tmp_path: Path, engine: str
) -> None:
    import sqlite3

    path = tmp_path / f"db.{engine}"
    with (
        write_to_engine(orders, path, engine, table="orders", key="order_id") as db,
        pytest.raises((sqlite3.IntegrityError, duckdb.ConstraintException)),
    ):
        db.insert(orders.iloc[0].to_dict())


@pytest.mark.parametrize("engine", ENGINES)
def test_fsync_can_be_switched(orders: pd.DataFrame, tmp_path: Path, engine: str) -> None:
    with write_to_engine(
        orders, tmp_path / f"db.{engine}", engine, key="order_id", fsync=True
    ) as db:
        db.insert(orders.iloc[0].to_dict() | {"order_id": 5_000})
        db.set_fsync(False)
        db.insert(orders.iloc[0].to_dict() | {"order_id": 5_001})
        with pytest.raises(ParameterError, match="fsync must be True or False"):
            db.set_fsync("yes")


@pytest.mark.parametrize("engine", ENGINES)
def test_table_without_key_keeps_duplicates(
    orders: pd.DataFrame, tmp_path: Path, engine: str
) -> None:
    doubled = pd.concat([orders, orders.head(10)], ignore_index=True)
    with write_to_engine(doubled, tmp_path / f"db.{engine}", engine, table="raw", key=None) as db:
        assert db.query("SELECT COUNT(*) AS n FROM raw")["n"].iloc[0] == len(orders) + 10
        with pytest.raises(ValueError, match="has no primary key"):
            db.lookup(1)


def test_bad_input_is_refused_clearly(orders: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with pytest.raises(
        ParameterError, match=r"write_to_engine: engine='postgres'.*'sqlite', 'duckdb'"
    ):
        write_to_engine(orders, path, "postgres")
    with pytest.raises(ParameterError, match="key 'id' is not a column"):
        write_to_engine(orders, path, "sqlite", key="id")
    with pytest.raises(ParameterError, match="key 'amount' must be an integer column"):
        write_to_engine(orders, path, "sqlite", key="amount")
    doubled = pd.concat([orders, orders.head(2)])
    with pytest.raises(ParameterError, match="2 duplicated values"):
        write_to_engine(doubled, path, "sqlite", key="order_id")
    with pytest.raises(ParameterError, match="table name 'orders; DROP'"):
        write_to_engine(orders, path, "sqlite", table="orders; DROP", key="order_id")
    with pytest.raises(
        ParameterError, match=r"write_to_engine: threads=0 is out of range: allowed threads ≥ 1"
    ):
        write_to_engine(orders, path, "duckdb", key="order_id", threads=0)
    with pytest.raises(ParameterError, match="fsync must be True or False"):
        write_to_engine(orders, path, "duckdb", key="order_id", fsync=1)
    assert not path.exists()
    with write_to_engine(orders, path, "sqlite", key="order_id"):
        pass
    with pytest.raises(ParameterError, match="already exists"):
        write_to_engine(orders, path, "sqlite", key="order_id")
    with write_to_engine(orders.head(5), path, "sqlite", key="order_id", replace=True) as db:
        assert db.query("SELECT COUNT(*) AS n FROM transactions")["n"].iloc[0] == 5


def test_insert_with_wrong_columns_is_refused(orders: pd.DataFrame, tmp_path: Path) -> None:
    with write_to_engine(orders, tmp_path / "db.sqlite", "sqlite", key="order_id") as db:
        with pytest.raises(ParameterError, match=r"missing columns \['is_fraud'\]"):
            db.insert({k: v for k, v in orders.iloc[0].to_dict().items() if k != "is_fraud"})
        with pytest.raises(ParameterError, match="3 values for 5 columns"):
            db.insert([1, 2, 3])


def test_sql_types_refuse_unmapped_dtypes() -> None:
    df = pd.DataFrame({"wait": pd.to_timedelta([1, 2], unit="s")})
    with pytest.raises(ParameterError, match="column 'wait' has dtype timedelta64"):
        sql_types(df, "sqlite")
    with pytest.raises(ParameterError, match="column name 'bad name'"):
        sql_types(pd.DataFrame({"bad name": [1]}), "duckdb")
    assert sql_types(pd.DataFrame({"s": ["a"]}), "duckdb") == {"s": "VARCHAR"}


def test_database_size_counts_the_write_ahead_log(tmp_path: Path) -> None:
    (tmp_path / "x.db").write_bytes(b"a" * 10)
    (tmp_path / "x.db-wal").write_bytes(b"b" * 5)
    assert database_size(tmp_path / "x.db") == 15


def test_the_writer_is_not_called_load() -> None:
    """``load`` is :func:`mlsys_kit.datasets.load` (reading); writing a table has its own name."""
    import mlsys_kit.data_engineering.storage as storage

    assert "load" not in storage.__all__
    assert not hasattr(storage, "load")
