"""Offline, checksummed datasets for every chapter of mlsys-kit.

The kit ships a few small real datasets as Parquet files next to a manifest
(``manifest.toml``) that records, for each one, its file, provenance, license,
citation, shape, target column and sha256. Nothing is ever downloaded at run
time: :func:`load` reads the shipped file after checking its sha256 against the
manifest, so every notebook sees exactly the bytes that were reviewed.

The data folder is, in order of precedence:

1. the folder named by the environment variable ``MLSYS_KIT_DATA``;
2. ``<package dir>/_datasets`` when it exists (installed wheels carry the data there);
3. ``<repo root>/datasets`` (a source checkout or an editable install).

Examples
--------
>>> from mlsys_kit import datasets
>>> datasets.available()
['adult', 'german_credit', 'penguins']
>>> datasets.info("penguins").target
'species'
>>> df = datasets.load("penguins")
>>> df.shape
(344, 8)
"""

from __future__ import annotations

import hashlib
import os
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlsys_kit.params import ParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ENV_VAR",
    "ChecksumError",
    "DatasetError",
    "DatasetInfo",
    "UnknownDatasetError",
    "available",
    "data_dir",
    "info",
    "load",
]

ENV_VAR = "MLSYS_KIT_DATA"
"""Environment variable that, when set, names the data folder to use."""

MANIFEST_NAME = "manifest.toml"
_CHUNK_SIZE = 1 << 20  # bytes read at a time while hashing

_STR_FIELDS = ("file", "title", "source", "license", "citation", "target", "sha256")
_INT_FIELDS = ("rows", "columns")

_lock = threading.Lock()
# (resolved path, mtime_ns, size) -> sha256 actually computed for that file state.
_digest_cache: dict[tuple[str, int, int], str] = {}
# (resolved manifest path, mtime_ns, size) -> parsed manifest.
_manifest_cache: dict[tuple[str, int, int], dict[str, DatasetInfo]] = {}


class DatasetError(Exception):
    """Base class of every error raised by :mod:`mlsys_kit.datasets`."""


class UnknownDatasetError(DatasetError, ParameterError, KeyError):
    """The requested dataset name is not in the manifest.

    A bad argument, so a :class:`~mlsys_kit.params.ParameterError` like every other in
    the kit; also a :class:`KeyError`, so ``except KeyError`` catches it. Unlike a plain
    ``KeyError`` its message is shown as written, not quoted.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ChecksumError(DatasetError):
    """A dataset file's sha256 differs from the one recorded in the manifest."""


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset's manifest entry.

    Attributes
    ----------
    name : str
        Dataset name, the manifest table's key (what :func:`load` takes).
    file : str
        File name inside the data folder.
    title : str
        Human-readable title.
    source : str
        Where the data comes from and how it was obtained.
    license : str
        License of the data (for example ``"CC BY 4.0"``).
    citation : str
        How to cite the data.
    rows : int
        Number of rows.
    columns : int
        Number of columns.
    target : str
        Name of the column usually predicted.
    sha256 : str
        Hex sha256 digest of the file.
    description : str
        What the data is, and anything to know before using it.
    path : pathlib.Path
        Full path of the file in the data folder in use.
    """

    name: str
    file: str
    title: str
    source: str
    license: str
    citation: str
    rows: int
    columns: int
    target: str
    sha256: str
    description: str
    path: Path


def data_dir() -> Path:
    """Return the folder that holds the datasets and their manifest.

    Returns
    -------
    pathlib.Path
        ``$MLSYS_KIT_DATA`` if that variable is set and non-empty; else
        ``<package dir>/_datasets`` if it exists (wheel installs); else
        ``<repo root>/datasets``. The folder is not checked for existence.

    Examples
    --------
    >>> (data_dir() / "manifest.toml").is_file()
    True
    """
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser().resolve()
    package_dir = Path(__file__).resolve().parent
    bundled = package_dir / "_datasets"
    if bundled.is_dir():
        return bundled
    return package_dir.parent / "datasets"


def available() -> list[str]:
    """List the names of the shipped datasets.

    Returns
    -------
    list of str
        Dataset names, sorted.

    Raises
    ------
    DatasetError
        If the manifest is missing or malformed.

    Examples
    --------
    >>> available()
    ['adult', 'german_credit', 'penguins']
    """
    return sorted(_manifest())


def info(name: str) -> DatasetInfo:
    """Return the manifest entry of one dataset.

    Parameters
    ----------
    name : str
        Dataset name, one of :func:`available`.

    Returns
    -------
    DatasetInfo
        The dataset's manifest fields and the full path of its file.

    Raises
    ------
    UnknownDatasetError
        If ``name`` is not in the manifest (the message lists the available names).
    DatasetError
        If the manifest is missing or malformed.

    Examples
    --------
    >>> meta = info("adult")
    >>> meta.target, meta.license
    ('income_gt_50k', 'CC BY 4.0')
    """
    manifest = _manifest()
    try:
        return manifest[name]
    except (KeyError, TypeError):
        names = ", ".join(sorted(manifest)) or "(none)"
        raise UnknownDatasetError(
            f"unknown dataset {name!r}; available datasets: {names}"
        ) from None


def load(name: str, *, verify: bool = True) -> pd.DataFrame:
    """Load a shipped dataset as a pandas DataFrame, after checking its sha256.

    Parameters
    ----------
    name : str
        Dataset name, one of :func:`available`.
    verify : bool, default True
        Check the file's sha256 against the manifest before reading it. The
        result is cached per process for the file's path, modification time and
        size, so repeated loads of an unchanged file hash it only once.

    Returns
    -------
    pandas.DataFrame
        The table, with text columns as strings, numbers as ints/floats, booleans
        as ``bool`` and missing values as NA.

    Raises
    ------
    UnknownDatasetError
        If ``name`` is not in the manifest (the message lists the available names).
    DatasetError
        If the file is missing (the message names the full expected path), or
        the manifest is missing or malformed.
    ChecksumError
        If ``verify`` is true and the file's sha256 differs from the manifest's
        (the message names the file and both digests).

    Examples
    --------
    >>> df = load("adult")
    >>> df.shape
    (48842, 16)
    >>> df["income_gt_50k"].dtype
    dtype('bool')
    """
    meta = info(name)
    path = meta.path
    if not path.is_file():
        raise DatasetError(
            f"file of dataset {name!r} not found: {path} (data folder: {path.parent}; "
            f"set {ENV_VAR} to use another folder)"
        )
    if verify:
        actual = _file_sha256(path)
        if actual != meta.sha256:
            raise ChecksumError(
                f"sha256 mismatch for dataset {name!r} file {path}: "
                f"expected {meta.sha256}, actual {actual}"
            )

    import pandas as pd

    return pd.read_parquet(path, engine="pyarrow")


def _stat_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def _file_sha256(path: Path) -> str:
    """Hex sha256 of ``path``, computed once per (path, mtime, size) in a process."""
    key = _stat_key(path)
    with _lock:
        cached = _digest_cache.get(key)
    if cached is not None:
        return cached
    digest = _sha256(path)
    with _lock:
        _digest_cache[key] = digest
    return digest


def _sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_SIZE):
            hasher.update(chunk)
    return hasher.hexdigest()


def _manifest() -> dict[str, DatasetInfo]:
    folder = data_dir()
    manifest_path = folder / MANIFEST_NAME
    try:
        key = _stat_key(manifest_path)
    except OSError:
        raise DatasetError(
            f"dataset manifest not found: {manifest_path} "
            f"(set {ENV_VAR} to the folder holding {MANIFEST_NAME})"
        ) from None
    with _lock:
        cached = _manifest_cache.get(key)
    if cached is not None:
        return cached
    parsed = _parse_manifest(manifest_path)
    with _lock:
        _manifest_cache[key] = parsed
    return parsed


def _parse_manifest(manifest_path: Path) -> dict[str, DatasetInfo]:
    try:
        with manifest_path.open("rb") as handle:
            raw = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DatasetError(f"cannot read dataset manifest {manifest_path}: {exc}") from exc
    entries: dict[str, DatasetInfo] = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise DatasetError(f"{manifest_path}: [{name}] must be a table")
        entries[name] = _entry(manifest_path, name, table)
    return entries


def _entry(manifest_path: Path, name: str, table: dict[str, Any]) -> DatasetInfo:
    def field(key: str, kind: type) -> Any:
        value = table.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise DatasetError(
                f"{manifest_path}: [{name}] needs {key} as {kind.__name__}, got {value!r}"
            )
        return value

    values: dict[str, Any] = {key: field(key, str) for key in _STR_FIELDS}
    values.update({key: field(key, int) for key in _INT_FIELDS})
    values["description"] = str(table.get("description", ""))
    values["sha256"] = values["sha256"].lower()
    return DatasetInfo(name=name, path=manifest_path.parent / values["file"], **values)
