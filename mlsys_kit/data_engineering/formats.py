"""Write and read one table as CSV, JSON lines or Parquet, and look inside the files.

Serves Chapter 3 of *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022),
"Data Formats": JSON, row-major versus column-major formats, text versus binary formats.
The same :class:`pandas.DataFrame` can be stored in any of :data:`FORMATS`:

* ``"csv"``: text, row-major, no schema (written and read with :mod:`pyarrow.csv`);
* ``"jsonl"``: text, row-major, one JSON object per line, every key repeated on every line
  (written with :meth:`pandas.DataFrame.to_json`, since pyarrow has no JSON writer; read with
  :mod:`pyarrow.json`);
* ``"parquet"``: binary, column-major in row groups, with its schema and per-row-group
  statistics in the file (:mod:`pyarrow.parquet`).

Reading policy: text files carry no types, so :func:`read_table` reads them with an explicit
schema when one is given (see :func:`table_schema`), and a value that does not fit the schema
is an error, :class:`FormatError`, that names the file, the column, the row and the value;
never a silent ``NaN`` or a column quietly turned into text. Only an empty field counts as
missing (``"NA"`` or ``"N/A"`` are refused, not read as nulls). A Parquet file whose stored
schema differs from the expected one is refused the same way.

Readers run on one thread (``use_threads=False``): on a shared laptop this keeps timings
comparable between formats; it does not change what is read.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> df = pd.DataFrame({"id": [1, 2, 3], "amount": [9.5, 20.0, 3.25]})
>>> folder = Path(tempfile.mkdtemp())
>>> sizes = {fmt: write_table(df, folder / f"t.{fmt}", fmt) for fmt in FORMATS}
>>> sizes["csv"] < sizes["jsonl"]
True
>>> read_table(folder / "t.parquet", "parquet", columns=["amount"])
   amount
0    9.50
1   20.00
2    3.25
>>> read_table(folder / "t.csv", "xml")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
mlsys_kit.params.ParameterError: read_table: fmt='xml' is not allowed: ...'csv', 'jsonl', 'parquet'
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.dataset as pa_ds
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from mlsys_kit.params import ParameterError, check_choice, check_int, check_type

__all__ = [
    "FORMATS",
    "FormatError",
    "RowGroups",
    "table_schema",
    "write_table",
    "read_table",
    "file_size",
    "bytes_read",
    "row_groups",
    "text_bytes_per_value",
    "parquet_bytes_per_value",
    "compare_values",
]

#: The formats :func:`write_table` and :func:`read_table` know, text formats first.
FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet")

#: Parquet compression codecs accepted by :func:`write_table`.
COMPRESSIONS: tuple[str, ...] = ("snappy", "zstd", "gzip", "none")

PathLike = str | Path


class FormatError(ValueError):
    """A file cannot be read as the format or the schema it is expected to have."""


class RowGroups(NamedTuple):
    """What :func:`row_groups` counts: row groups a reader must open, of how many."""

    read: int
    total: int


def table_schema(df: pd.DataFrame) -> pa.Schema:
    """The explicit Arrow schema of ``df``: what a text file does not store, and Parquet does.

    Parameters
    ----------
    df : pandas.DataFrame
        The table whose column names and types to describe (its index is ignored).

    Returns
    -------
    pyarrow.Schema
        One field per column; categoricals become dictionary-encoded strings.

    Examples
    --------
    >>> table_schema(pd.DataFrame({"id": [1], "ok": [True]}))
    id: int64
    ok: bool
    """
    return pa.Schema.from_pandas(df, preserve_index=False).remove_metadata()


def write_table(
    df: pd.DataFrame,
    path: PathLike,
    fmt: str,
    *,
    compression: str = "snappy",
    row_group_size: int | None = None,
) -> int:
    """Write ``df`` to ``path`` in format ``fmt`` and return the file's size in bytes.

    Parameters
    ----------
    df : pandas.DataFrame
        The table (its index is not written).
    path : str or pathlib.Path
        Destination file; overwritten if it exists.
    fmt : {"csv", "jsonl", "parquet"}
        The format.
    compression : {"snappy", "zstd", "gzip", "none"}, default "snappy"
        Parquet only: the codec applied to each column chunk after encoding.
    row_group_size : int, optional
        Parquet only: rows per row group (pyarrow's default when omitted). Each row group
        stores the minimum and maximum of every column, which lets readers skip it.

    Returns
    -------
    int
        Bytes on disk.

    Raises
    ------
    mlsys_kit.params.ParameterError
        For an unknown format or compression, or a row group size below 1.

    Notes
    -----
    JSON lines are written by pandas with its defaults: ISO 8601 times to the microsecond and
    floats rounded to 10 decimal places (``double_precision=10``), so a float can come back
    slightly different. CSV floats are written in full (shortest round-trip form).
    """
    owner = "write_table"
    check_type("df", df, pd.DataFrame, owner=owner)
    check_choice("fmt", fmt, FORMATS, owner=owner)
    path = Path(path)
    if fmt == "parquet":
        check_choice("compression", compression, COMPRESSIONS, owner=owner)
        if row_group_size is not None:
            row_group_size = check_int("row_group_size", row_group_size, min=1, owner=owner)
        table = pa.Table.from_pandas(df, preserve_index=False)
        pq.write_table(table, path, compression=compression, row_group_size=row_group_size)
    elif fmt == "csv":
        pa_csv.write_csv(pa.Table.from_pandas(df, preserve_index=False), path)
    else:
        df.to_json(path, orient="records", lines=True, date_format="iso", date_unit="us")
    return file_size(path)


def file_size(path: PathLike) -> int:
    """Size of the file at ``path`` in bytes."""
    return Path(path).stat().st_size


class _CountingFile(io.RawIOBase):
    """A file opened for reading that counts the bytes read from it (seeks cost nothing)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 -- closed by close()
        self.count = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._file.readinto(buffer)
        self.count += n or 0
        return n or 0

    def close(self) -> None:
        self._file.close()
        super().close()


def bytes_read(
    path: PathLike,
    fmt: str,
    *,
    columns: Sequence[str] | None = None,
    filter: pc.Expression | None = None,
) -> int:
    """Bytes a reader fetches from the file to read ``columns`` of the rows ``filter`` keeps.

    The file is read as :func:`read_table` reads it, through a file object that counts every
    byte handed to the reader: a measurement, not an estimate, and the same on every run
    (unlike a timing). A text reader fetches the whole file whatever it is asked for: it must
    parse every line to find where each field starts. A Parquet reader fetches its footer, then
    only the column chunks of ``columns`` in the row groups whose statistics do not rule
    ``filter`` out (see :func:`row_groups`).

    Parameters
    ----------
    path : str or pathlib.Path
        A file written by :func:`write_table`.
    fmt : {"csv", "jsonl", "parquet"}
        Its format.
    columns : sequence of str, optional
        The columns wanted (all when omitted). With a ``filter``, include the columns it
        names: a reader needs them to filter the rows of each row group it opens.
    filter : pyarrow.compute.Expression, optional
        Keep only the rows where it is true, e.g. ``pc.field("country") == "DE"``.

    Returns
    -------
    int
        Bytes read from the file (the Parquet footer is fetched with one read of up to 64 KiB,
        so a small file can count more bytes than its size).

    Raises
    ------
    mlsys_kit.params.ParameterError
        For an unknown format.
    FileNotFoundError
        When there is no file at ``path``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> df = pd.DataFrame({"id": range(10_000), "amount": np.linspace(0, 1, 10_000)})
    >>> csv = write_table(df, folder / "t.csv", "csv")
    >>> bytes_read(folder / "t.csv", "csv", columns=["id"]) == csv
    True
    >>> _ = write_table(df, folder / "t.parquet", "parquet")
    >>> one = bytes_read(folder / "t.parquet", "parquet", columns=["id"])
    >>> both = bytes_read(folder / "t.parquet", "parquet")
    >>> one < both
    True
    """
    owner = "bytes_read"
    check_choice("fmt", fmt, FORMATS, owner=owner)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {fmt} file at {path}")
    wanted = list(columns) if columns is not None else None
    counter = _CountingFile(path)
    try:
        if fmt == "parquet":
            file = pq.ParquetFile(counter)
            groups = (
                list(range(file.metadata.num_row_groups))
                if filter is None
                else _matching_row_groups(path, filter)
            )
            file.read_row_groups(groups, columns=wanted, use_threads=False)
        elif fmt == "csv":
            pa_csv.read_csv(
                counter,
                read_options=pa_csv.ReadOptions(use_threads=False),
                convert_options=pa_csv.ConvertOptions(include_columns=wanted or []),
            )
        else:
            pa_json.read_json(counter, read_options=pa_json.ReadOptions(use_threads=False))
        return counter.count
    finally:
        counter.close()


def read_table(
    path: PathLike,
    fmt: str,
    *,
    schema: pa.Schema | None = None,
    columns: Sequence[str] | None = None,
    filter: pc.Expression | None = None,
) -> pd.DataFrame:
    """Read a file written by :func:`write_table` into a DataFrame.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    fmt : {"csv", "jsonl", "parquet"}
        Its format.
    schema : pyarrow.Schema, optional
        The expected schema (e.g. :func:`table_schema` of the original table). Text files
        are parsed with these types; a Parquet file's stored types must match them.
        Without it, text readers infer the types from the text.
    columns : sequence of str, optional
        Read only these columns. Parquet reads only their column chunks; a text reader still
        has to scan every byte of every line to find where the wanted fields are.
    filter : pyarrow.compute.Expression, optional
        Keep only the rows where it is true, e.g. ``pc.field("day") == 3``. Parquet skips the
        row groups whose statistics rule the filter out (see :func:`row_groups`); a text file
        is read in full, then filtered.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    FormatError
        When the file does not parse as ``fmt``, a value does not fit ``schema``, or a
        Parquet file's schema differs from ``schema``. The message names the file (not
        its folder) and, where it can, the column, the row and the offending value.
    mlsys_kit.params.ParameterError
        For an unknown format, or a column not in ``schema``.
    FileNotFoundError
        When there is no file at ``path``.
    """
    owner = "read_table"
    check_choice("fmt", fmt, FORMATS, owner=owner)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {fmt} file at {path}")
    wanted = list(columns) if columns is not None else None
    if schema is not None and wanted is not None:
        unknown = [c for c in wanted if c not in schema.names]
        if unknown:
            raise ParameterError(f"{owner}: columns {unknown} are not in the schema {schema.names}")
        schema = pa.schema([schema.field(c) for c in wanted])
    try:
        if fmt == "parquet":
            table = _read_parquet(path, schema, wanted, filter)
        else:
            table = _read_text(path, fmt, schema, wanted)
            if filter is not None:
                table = table.filter(filter)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        detail = _locate_bad_value(path, schema) if fmt == "csv" and schema else None
        raise FormatError(
            f"{path.name} cannot be read as {fmt}"
            + (" with the expected schema" if schema is not None else "")
            + f": {detail or _first_line(err)}"
        ) from err
    return table.to_pandas()


def _read_parquet(
    path: Path,
    schema: pa.Schema | None,
    columns: list[str] | None,
    filter: pc.Expression | None,
) -> pa.Table:
    # ParquetFile reads synchronously in the calling thread; pq.read_table would go through
    # the dataset scanner and its thread pools, which a busy machine makes slow and erratic.
    file = pq.ParquetFile(path)
    if schema is not None:
        problems = _schema_differences(file.schema_arrow, schema)
        if problems:
            raise FormatError(
                f"{path.name} does not have the expected schema: " + "; ".join(problems)
            )
        columns = schema.names
    if filter is None:
        return file.read(columns=columns, use_threads=False)
    groups = _matching_row_groups(path, filter)
    if not groups:
        table = file.schema_arrow.empty_table()
    else:  # all columns: the filter may need some that are not asked for
        table = file.read_row_groups(groups, use_threads=False)
    table = table.filter(filter)
    return table.select(columns) if columns is not None else table


def _matching_row_groups(path: Path, filter: pc.Expression) -> list[int]:
    """Row groups whose statistics do not rule ``filter`` out (pyarrow's own pruning)."""
    fragment = next(iter(pa_ds.dataset(path, format="parquet").get_fragments()))
    return [group.id for part in fragment.split_by_row_group(filter) for group in part.row_groups]


def _text_types(schema: pa.Schema) -> pa.Schema:
    """The schema a text reader can parse: categories are read as strings, then encoded."""
    return pa.schema(
        [
            pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
            for f in schema
        ]
    )


def _read_text(
    path: Path, fmt: str, schema: pa.Schema | None, columns: list[str] | None
) -> pa.Table:
    if fmt == "csv":
        convert = pa_csv.ConvertOptions(
            column_types=_text_types(schema) if schema is not None else None,
            include_columns=columns or [],
            null_values=[""],
            strings_can_be_null=False,
        )
        table = pa_csv.read_csv(
            path, read_options=pa_csv.ReadOptions(use_threads=False), convert_options=convert
        )
    else:
        parse = pa_json.ParseOptions(
            explicit_schema=_text_types(schema) if schema is not None else None,
            unexpected_field_behavior="ignore" if schema is not None else "infer",
        )
        table = pa_json.read_json(
            path, read_options=pa_json.ReadOptions(use_threads=False), parse_options=parse
        )
        if columns is not None:
            table = table.select(columns)
    if schema is not None:
        missing = [name for name in schema.names if name not in table.column_names]
        if fmt == "jsonl" and table.num_rows:  # a key absent from every line reads as nulls
            missing += [c for c in schema.names if table.column(c).null_count == table.num_rows]
        if missing:
            raise FormatError(f"{path.name} has no column(s) {missing}: no value in any row")
        table = table.select(schema.names).cast(schema)
    return table


def _schema_differences(found: pa.Schema, expected: pa.Schema) -> list[str]:
    """How a file's stored schema differs from the expected one (empty when it matches)."""
    problems = []
    for field in expected:
        if field.name not in found.names:
            problems.append(f"column {field.name!r} is missing")
        elif _logical(found.field(field.name).type) != _logical(field.type):
            stored = _logical(found.field(field.name).type)
            problems.append(f"column {field.name!r} is {stored}, expected {_logical(field.type)}")
    return problems


def _logical(type_: pa.DataType) -> str:
    """A type's name up to physical details (string width, dictionary index width)."""
    if pa.types.is_dictionary(type_):
        return f"category of {_logical(type_.value_type)}"
    if pa.types.is_large_string(type_) or pa.types.is_string_view(type_):
        return "string"
    return str(type_)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0]


def _locate_bad_value(path: Path, schema: pa.Schema) -> str | None:
    """Find the first CSV field that does not parse as its column's type, for the message."""
    try:
        strings = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(use_threads=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in schema.names},
                include_columns=schema.names,
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None  # not even the fields can be split: the reader's own message says why
    for field in _text_types(schema):
        text = strings.column(field.name).to_pandas()
        bad = ~_parses(text, field.type)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            return (
                f"row {row} (line {row + 2} of the file), column {field.name!r}: "
                f"{text.iloc[row]!r} is not a valid {field.type}"
            )
    return None


def _parses(text: pd.Series, type_: pa.DataType) -> pd.Series:
    """Which strings parse as ``type_`` (an empty string never does: it means missing)."""
    if pa.types.is_boolean(type_):
        return text.isin(["true", "false", "True", "False", "1", "0"])
    if pa.types.is_integer(type_):
        return text.str.fullmatch(r"[+-]?\d+").fillna(False).astype(bool)
    if pa.types.is_floating(type_):
        return pd.to_numeric(text, errors="coerce").notna()
    if pa.types.is_timestamp(type_) or pa.types.is_date(type_):
        return pd.to_datetime(text, errors="coerce", format="ISO8601").notna()
    return pd.Series(True, index=text.index)


def row_groups(path: PathLike, filter: pc.Expression | None = None) -> RowGroups:
    """How many row groups of a Parquet file a reader must open for ``filter``, of how many.

    A row group can be skipped when its statistics (the minimum and maximum of each column,
    stored in the file's footer) prove that no row in it satisfies the filter.

    Parameters
    ----------
    path : str or pathlib.Path
        A Parquet file.
    filter : pyarrow.compute.Expression, optional
        The filter; without one every row group is read.

    Returns
    -------
    RowGroups
        ``(read, total)``: row groups to read, total row groups.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "t.parquet"
    >>> _ = write_table(pd.DataFrame({"day": range(100)}), path, "parquet", row_group_size=10)
    >>> row_groups(path, pc.field("day") >= 95)
    RowGroups(read=1, total=10)
    """
    total = pq.ParquetFile(Path(path)).metadata.num_row_groups
    if filter is None:
        return RowGroups(total, total)
    return RowGroups(len(_matching_row_groups(Path(path), filter)), total)


def text_bytes_per_value(df: pd.DataFrame) -> pd.Series:
    """Bytes per value of each column when written as CSV text (field plus its delimiter).

    Each column is written alone, without header, by the same CSV writer as
    :func:`write_table`; its size divided by the number of rows is the cost of one value,
    counting the comma or newline after it and any quotes around strings.

    Examples
    --------
    >>> text_bytes_per_value(pd.DataFrame({"n": [1_000_000, 7]}))
    n    5.0
    dtype: float64
    """
    check_type("df", df, pd.DataFrame, owner="text_bytes_per_value")
    if len(df) == 0:
        raise ParameterError("text_bytes_per_value: df has no rows: bytes per value is undefined")
    table = pa.Table.from_pandas(df, preserve_index=False)
    sizes = {}
    for name in table.column_names:
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(
            table.select([name]), sink, write_options=pa_csv.WriteOptions(include_header=False)
        )
        sizes[name] = sink.getvalue().size / len(df)
    return pd.Series(sizes, dtype=float)


def parquet_bytes_per_value(path: PathLike) -> pd.Series:
    """Bytes per value of each column in a Parquet file (encoded and compressed column chunks).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "t.parquet"
    >>> _ = write_table(pd.DataFrame({"flag": [True] * 1000}), path, "parquet")
    >>> bool(parquet_bytes_per_value(path)["flag"] < 1)
    True
    """
    meta = pq.ParquetFile(Path(path)).metadata
    if meta.num_rows == 0:
        raise ValueError(f"{Path(path).name} has no rows: bytes per value is undefined")
    names = [meta.schema.column(j).name for j in range(meta.num_columns)]
    sizes = np.zeros(meta.num_columns)
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        sizes += [group.column(j).total_compressed_size for j in range(meta.num_columns)]
    return pd.Series(sizes / meta.num_rows, index=names, dtype=float)


def compare_values(original: pd.DataFrame, restored: pd.DataFrame) -> pd.DataFrame:
    """Column by column: did a round trip keep the type, and how many values changed?

    Parameters
    ----------
    original, restored : pandas.DataFrame
        The table before writing and after reading back, rows in the same order.

    Returns
    -------
    pandas.DataFrame
        Indexed by column: ``original_type``, ``restored_type`` (pandas dtypes, categoricals
        shown as ``category``), ``same_type`` and ``n_changed`` (values not equal, two
        missing values counting as equal).

    Raises
    ------
    mlsys_kit.params.ParameterError
        When the two tables differ in columns or row count.

    Examples
    --------
    >>> a = pd.DataFrame({"x": [0.1, 0.2]})
    >>> compare_values(a, a.round(0))
      original_type restored_type  same_type  n_changed
    x       float64       float64       True          2
    """
    if list(original.columns) != list(restored.columns) or len(original) != len(restored):
        raise ParameterError(
            f"compare_values: cannot compare: columns {list(original.columns)} x "
            f"{len(original)} rows vs {list(restored.columns)} x {len(restored)} rows"
        )
    rows = {}
    for name in original.columns:
        before, after = original[name], restored[name]
        a, b = _plain(before), _plain(after)
        equal = (a == b) | (pd.isna(a) & pd.isna(b))
        rows[name] = {
            "original_type": _dtype_name(before),
            "restored_type": _dtype_name(after),
            "same_type": _dtype_name(before) == _dtype_name(after),
            "n_changed": int((~equal).sum()),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _plain(series: pd.Series) -> np.ndarray:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.astype(object).to_numpy()
    return series.to_numpy()


def _dtype_name(series: pd.Series) -> str:
    return re.sub(r"^category.*", "category", str(series.dtype))
