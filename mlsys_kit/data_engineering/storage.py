"""One table in a row store (SQLite) and a column store (DuckDB), behind one small interface.

Serves Chapter 3 of *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022),
"Data Storage Engines and Processing": transactional processing (OLTP: many small reads and
writes of whole rows, each its own transaction) versus analytical processing (OLAP: a few
queries that scan some columns of many rows), row-major versus column-major storage engines,
and ETL versus ELT.

* SQLite (Python's :mod:`sqlite3`) stores each table as a B-tree of whole rows, keyed by the
  ``INTEGER PRIMARY KEY``: finding, adding or changing one row touches one short path of pages.
* DuckDB stores each column separately, compressed, in row groups of about 120,000 rows, and
  executes queries on vectors of values: a scan reads only the columns it needs, while a
  single-row change has to go through that machinery for one value per column.

:func:`write_to_engine` writes a DataFrame into either engine (a database file, bulk-loaded in one
transaction) and returns an :class:`Engine` with the same three operations for both:
:meth:`Engine.lookup` (one row by primary key), :meth:`Engine.insert` (one row, committed on its
own, as a web request would) and :meth:`Engine.query` (any SQL, result as a DataFrame).

Durability is set the same way in both engines: with ``fsync=True`` every commit waits until
the disk confirms the write (SQLite ``synchronous=FULL`` in WAL mode, DuckDB
``fsync_mode='STANDARD'``); with ``fsync=False`` both hand the write to the operating system
and return (``synchronous=OFF``, ``fsync_mode='NONE'``), which survives a crash of the program
but not of the machine. The default, ``False``, measures the engines rather than the disk.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> df = pd.DataFrame({"id": [1, 2, 3], "amount": [9.5, 20.0, 3.25]})
>>> folder = Path(tempfile.mkdtemp())
>>> for name in ENGINES:
...     with write_to_engine(df, folder / f"shop.{name}", name, table="orders", key="id") as db:
...         db.insert({"id": 4, "amount": 1.0})
...         total = db.query("SELECT SUM(amount) AS total FROM orders")["total"].iloc[0]
...         print(name, db.lookup(2), db.lookup(9), float(total))
sqlite (2, 20.0) None 33.75
duckdb (2, 20.0) None 33.75
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.params import ParameterError, check_bool, check_choice, check_int, check_type

__all__ = ["ENGINES", "Engine", "write_to_engine", "sql_types", "sqlite_rows", "database_size"]

#: The engines :func:`write_to_engine` knows: a row store and a column store.
ENGINES: tuple[str, ...] = ("sqlite", "duckdb")

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def sql_types(df: pd.DataFrame, engine: str) -> dict[str, str]:
    """The SQL column type each column of ``df`` gets in ``engine``.

    SQLite has no boolean or timestamp type: booleans are stored as the integers 0 and 1 and
    timestamps as ISO 8601 text (``"2024-01-01 00:01:25"``), which sorts and compares
    correctly as text. DuckDB has native ``BOOLEAN`` and ``TIMESTAMP`` types.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    engine : {"sqlite", "duckdb"}
        The target engine.

    Returns
    -------
    dict
        Column name to SQL type, in column order.

    Raises
    ------
    mlsys_kit.params.ParameterError
        For an unknown engine, a column name that is not a plain identifier, or a column
        whose dtype has no mapping (e.g. lists or timedeltas), naming it.

    Examples
    --------
    >>> df = pd.DataFrame({"ok": [True], "n": [1], "at": pd.to_datetime(["2024-01-01"])})
    >>> sql_types(df, "sqlite")
    {'ok': 'INTEGER', 'n': 'INTEGER', 'at': 'TEXT'}
    >>> sql_types(df, "duckdb")
    {'ok': 'BOOLEAN', 'n': 'BIGINT', 'at': 'TIMESTAMP'}
    """
    owner = "sql_types"
    check_type("df", df, pd.DataFrame, owner=owner)
    sqlite = check_choice("engine", engine, ENGINES, owner=owner) == "sqlite"
    types = {}
    for name, dtype in df.dtypes.items():
        if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
            raise ParameterError(
                f"{owner}: column name {name!r} is not a plain SQL identifier (letters, digits, _)"
            )
        if pd.api.types.is_bool_dtype(dtype):
            types[name] = "INTEGER" if sqlite else "BOOLEAN"
        elif pd.api.types.is_integer_dtype(dtype):
            types[name] = "INTEGER" if sqlite else "BIGINT"
        elif pd.api.types.is_float_dtype(dtype):
            types[name] = "REAL" if sqlite else "DOUBLE"
        elif pd.api.types.is_datetime64_dtype(dtype):
            types[name] = "TEXT" if sqlite else "TIMESTAMP"
        elif isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
            types[name] = "TEXT" if sqlite else "VARCHAR"
        else:
            raise ParameterError(
                f"{owner}: column {name!r} has dtype {dtype}, which has no SQL type here"
            )
    return types


def database_size(path: str | Path) -> int:
    """Bytes on disk of a database: its file plus any write-ahead log next to it."""
    path = Path(path)
    parts = [path, Path(f"{path}-wal"), Path(f"{path}.wal")]
    return sum(part.stat().st_size for part in parts if part.exists())


@dataclass
class Engine:
    """An open database holding one keyed table; the same operations for both engines.

    Use :func:`write_to_engine` to create one. Works as a context manager that closes the
    connection.

    Attributes
    ----------
    name : {"sqlite", "duckdb"}
        The engine.
    path : pathlib.Path
        The database file.
    connection : sqlite3.Connection or duckdb.DuckDBPyConnection
        The open connection, in autocommit mode: each statement is its own transaction.
    table : str
        The table :func:`write_to_engine` created.
    key : str or None
        Its primary-key column, or ``None`` for a table without one.
    columns : tuple of str
        Its columns, in order.
    """

    name: str
    path: Path
    connection: Any
    table: str
    key: str | None
    columns: tuple[str, ...]
    _lookup_sql: str = field(init=False, repr=False)
    _insert_sql: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._lookup_sql = f'SELECT * FROM "{self.table}" WHERE "{self.key}" = ?'
        marks = ", ".join("?" * len(self.columns))
        self._insert_sql = f'INSERT INTO "{self.table}" VALUES ({marks})'

    def lookup(self, key: Any) -> tuple | None:
        """The row whose primary key is ``key``, as a tuple, or ``None`` if there is none.

        Raises
        ------
        ValueError
            When the table has no primary key.
        """
        if self.key is None:
            raise ValueError(f"table {self.table!r} has no primary key to look rows up by")
        row = self.connection.execute(self._lookup_sql, [_plain(key)]).fetchone()
        return None if row is None else tuple(row)

    def insert(self, row: Mapping[str, Any] | Sequence[Any]) -> None:
        """Insert one row and commit it, as its own transaction.

        Parameters
        ----------
        row : mapping or sequence
            Values by column name (every column), or in column order.

        Raises
        ------
        mlsys_kit.params.ParameterError
            When ``row`` misses columns, has unknown ones, or has the wrong length.
        sqlite3.IntegrityError or duckdb.ConstraintException
            When the primary key already exists (the engine's own error).
        """
        if isinstance(row, Mapping):
            missing = [c for c in self.columns if c not in row]
            unknown = [c for c in row if c not in self.columns]
            if missing or unknown:
                raise ParameterError(
                    f"insert: row: missing columns {missing}, unknown columns {unknown}"
                )
            values = [row[c] for c in self.columns]
        else:
            values = list(row)
            if len(values) != len(self.columns):
                raise ParameterError(
                    f"insert: row has {len(values)} values for {len(self.columns)} columns"
                )
        convert = _to_sqlite if self.name == "sqlite" else _plain
        self.connection.execute(self._insert_sql, [convert(v) for v in values])

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement that returns no rows (``CREATE TABLE ... AS``, ``CHECKPOINT``...)."""
        self.connection.execute(sql, [_plain(p) for p in params])

    def set_fsync(self, fsync: bool) -> None:
        """Whether each commit from now on waits for the disk (see the module notes)."""
        fsync = check_bool("fsync", fsync, owner="set_fsync")
        if self.name == "sqlite":
            self.execute(f"PRAGMA synchronous={'FULL' if fsync else 'OFF'}")
        else:
            self.execute(f"SET fsync_mode = '{'STANDARD' if fsync else 'NONE'}'")

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Run ``sql`` (with ``?`` placeholders for ``params``) and return the result."""
        cursor = self.connection.execute(sql, [_plain(p) for p in params])
        names = [d[0] for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=names)

    @property
    def size(self) -> int:
        """Bytes on disk, write-ahead log included (see :func:`database_size`)."""
        return database_size(self.path)

    def close(self) -> None:
        """Close the connection (DuckDB writes its data into the file, then)."""
        self.connection.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_to_engine(
    df: pd.DataFrame,
    path: str | Path,
    engine: str,
    *,
    table: str = "transactions",
    key: str | None = "transaction_id",
    fsync: bool = False,
    threads: int = 1,
    replace: bool = False,
) -> Engine:
    """Create a database file holding ``df`` as a table keyed by ``key``, and open it.

    The rows are bulk-loaded in a single transaction: SQLite inserts them row by row into its
    B-tree; DuckDB appends them column by column from the DataFrame.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows (index ignored). Column names must be plain SQL identifiers.
    path : str or pathlib.Path
        The database file to create; an existing file is refused unless ``replace``.
    engine : {"sqlite", "duckdb"}
        ``"sqlite"``, a row store for transactional work, or ``"duckdb"``, a column store for
        analytics.
    table : str, default "transactions"
        The table's name.
    key : str or None, default "transaction_id"
        The primary-key column, an integer column of unique values; ``None`` for a table
        without a primary key (a raw log may hold the same event twice).
    fsync : bool, default False
        Whether each commit waits for the disk to confirm the write (see the module notes).
    threads : int, default 1
        Threads DuckDB may use for a query (SQLite always uses one).
    replace : bool, default False
        Delete an existing database at ``path`` (and its write-ahead log) first, so that a
        notebook cell can be run again.

    Returns
    -------
    Engine
        The open database; close it (or use ``with``) when done.

    Raises
    ------
    mlsys_kit.params.ParameterError
        For an unknown engine, a bad table or column name, a key that is not a column, is
        not integer or is not unique, ``threads < 1``, an existing file at ``path``, or a
        column without an SQL type (see :func:`sql_types`).
    """
    owner = "write_to_engine"
    check_type("df", df, pd.DataFrame, owner=owner)
    check_choice("engine", engine, ENGINES, owner=owner)
    if not isinstance(table, str) or not _IDENTIFIER.fullmatch(table):
        raise ParameterError(
            f"{owner}: table name {table!r} is not a plain SQL identifier (letters, digits, _)"
        )
    path = Path(path)
    if key is not None:
        if key not in df.columns:
            raise ParameterError(
                f"{owner}: key {key!r} is not a column; columns are {list(df.columns)}"
            )
        if not pd.api.types.is_integer_dtype(df[key].dtype):
            raise ParameterError(
                f"{owner}: key {key!r} must be an integer column; it is {df[key].dtype}"
            )
        if df[key].duplicated().any():
            n = int(df[key].duplicated().sum())
            raise ParameterError(
                f"{owner}: key {key!r} has {n} duplicated values: a primary key must be unique"
            )
    threads = check_int("threads", threads, min=1, owner=owner)
    fsync = check_bool("fsync", fsync, owner=owner)
    replace = check_bool("replace", replace, owner=owner)
    if path.exists() and not replace:
        raise ParameterError(
            f"{owner}: {path.name} already exists: pass replace=True to overwrite it"
        )
    for part in (path, Path(f"{path}-wal"), Path(f"{path}.wal")):
        part.unlink(missing_ok=True)
    types = sql_types(df, engine)
    key_type = "INTEGER PRIMARY KEY" if engine == "sqlite" else "BIGINT PRIMARY KEY"
    columns_sql = ", ".join(f'"{c}" {key_type if c == key else t}' for c, t in types.items())
    create = f'CREATE TABLE "{table}" ({columns_sql})'
    if engine == "sqlite":
        connection = _load_sqlite(df, path, table, create)
    else:
        connection = _load_duckdb(df, path, table, create, threads)
    db = Engine(engine, path, connection, table, key, tuple(df.columns))
    db.set_fsync(fsync)
    return db


def _load_sqlite(df: pd.DataFrame, path: Path, table: str, create: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)  # autocommit: one statement, one tx
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(create)
    marks = ", ".join("?" * len(df.columns))
    connection.execute("BEGIN")
    connection.executemany(f'INSERT INTO "{table}" VALUES ({marks})', sqlite_rows(df))
    connection.execute("COMMIT")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # move the rows into the file itself
    return connection


def sqlite_rows(df: pd.DataFrame) -> list[tuple]:
    """A frame's rows as SQLite stores them: timestamps as ISO 8601 text, booleans as 0/1.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows to insert; categorical columns are stored as their text.

    Returns
    -------
    list of tuple
        One tuple per row, in column order, for ``sqlite3.Connection.executemany``.

    Examples
    --------
    >>> frame = pd.DataFrame({"t": pd.to_datetime(["2024-01-02"]), "ok": [True], "x": [1.5]})
    >>> sqlite_rows(frame)
    [('2024-01-02', 1, 1.5)]
    """
    columns = []
    for name in df.columns:
        col = df[name]
        if pd.api.types.is_datetime64_dtype(col.dtype):
            columns.append(col.astype(str).tolist())
        elif pd.api.types.is_bool_dtype(col.dtype):
            columns.append(col.astype(int).tolist())
        elif isinstance(col.dtype, pd.CategoricalDtype):
            columns.append(col.astype(str).tolist())
        else:
            columns.append(col.tolist())
    return list(zip(*columns, strict=True))


def _load_duckdb(df: pd.DataFrame, path: Path, table: str, create: str, threads: int) -> Any:
    import duckdb  # imported here: only the notebooks that compare engines need it

    connection = duckdb.connect(str(path))
    connection.execute(f"SET threads = {threads}")
    connection.execute(create)
    connection.register("_incoming", df)
    connection.execute(f'INSERT INTO "{table}" SELECT * FROM _incoming')
    connection.unregister("_incoming")
    connection.execute("CHECKPOINT")  # move the rows from the write-ahead log into the file
    return connection


def _plain(value: Any) -> Any:
    """NumPy and pandas scalars as the Python values database drivers accept."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _to_sqlite(value: Any) -> Any:
    """A value as SQLite stores it: booleans as 0/1, timestamps as ISO 8601 text."""
    value = _plain(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return value
