"""Fingerprints of code, data and parameters: what a model version is made of.

Serves two parts of the book:

* Chapter 1, "Machine Learning Systems Versus Traditional Software": an ML system is code *and*
  data *and* the artifacts made from them. The same training code run on different data gives
  a different system, so recording the version of the code (a git commit) is not enough: the
  data must be versioned (and tested) too.
* Chapter 6, "Experiment Tracking and Versioning": to reproduce or compare runs, record what
  went into each one — the code, the data, the hyperparameters.

A *fingerprint* is a short, stable content hash (hex sha256, truncated): equal inputs give equal
fingerprints in any process on any machine with the same library versions, and any change to
the content changes it. Fingerprints identify content; they are not security features.

* :func:`fingerprint_code` hashes the source code of functions or classes;
* :func:`fingerprint_frame` hashes the content of a DataFrame (column names, dtypes, values);
* :func:`fingerprint_params` hashes JSON-serialisable parameters, whatever their key order.

Why hand-written: each function is a few lines over :mod:`hashlib`,
:func:`pandas.util.hash_pandas_object` and :mod:`json`, and what goes into the hash is the
lesson. ``joblib.hash`` fingerprints any Python object but hashes a DataFrame through pickle,
whose bytes depend on memory layout and pandas internals rather than on the content alone; DVC
and MLflow version whole files and runs (a repository, a tracking server), far more than a
notebook needs to show that the same code on new data is a new system.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"amount": [12.5, 80.0], "new_device": [False, True]})
>>> fingerprint_frame(df) == fingerprint_frame(df.copy())
True
>>> fingerprint_frame(df) == fingerprint_frame(df.assign(amount=[12.5, 80.01]))
False
>>> len(fingerprint_params({"C": 1.0, "max_iter": 1000}))
12
"""

from __future__ import annotations

import hashlib
import inspect
import json
import textwrap
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.params import ParameterError, check_int, check_type

__all__ = ["fingerprint_code", "fingerprint_frame", "fingerprint_params"]

DEFAULT_LENGTH = 12
"""Hex digits kept by default: 48 bits, ample to tell a notebook's versions apart."""


def fingerprint_code(*objects: Any, length: int = DEFAULT_LENGTH) -> str:
    """Fingerprint the source code of one or more functions, classes, methods or modules.

    The source is read with :func:`inspect.getsource` (functions defined in a notebook cell
    work too) and dedented, so that the same code gives the same fingerprint wherever it is
    defined. Only the text counts: a change in a comment, a name or a constant changes the
    fingerprint; the values of global variables the code reads do not.

    Parameters
    ----------
    *objects : function, class, method or module
        The code to fingerprint, in order (``fingerprint_code(f, g)`` differs from
        ``fingerprint_code(g, f)``). At least one.
    length : int, default 12
        Number of hex digits returned (1 to 64).

    Returns
    -------
    str
        ``length`` lowercase hex digits of the sha256 of the sources.

    Raises
    ------
    mlsys_kit.params.ParameterError
        If no object is given, ``length`` is out of range, or an object has no retrievable
        source (a built-in, a lambda typed at a console, an instance).

    Examples
    --------
    >>> def block(amount):
    ...     return amount > 100
    >>> fingerprint_code(block) == fingerprint_code(block)
    True
    >>> fingerprint_code(len)
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: fingerprint_code: cannot fingerprint the code of \
<built-in function len>: its source is not available
    """
    owner = "fingerprint_code"
    if not objects:
        raise ParameterError(f"{owner}: needs at least one function, class or module")
    length = check_int("length", length, min=1, max=64, owner=owner)
    hasher = hashlib.sha256()
    for obj in objects:
        try:
            source = inspect.getsource(obj)
        except (OSError, TypeError) as exc:
            raise ParameterError(
                f"{owner}: cannot fingerprint the code of {obj!r}: its source is not available"
            ) from exc
        hasher.update(textwrap.dedent(source).encode("utf-8"))
        hasher.update(b"\0")
    return hasher.hexdigest()[:length]


def fingerprint_frame(
    df: pd.DataFrame, *, index: bool = False, length: int = DEFAULT_LENGTH
) -> str:
    """Fingerprint the content of a DataFrame: column names, dtypes and every value, in order.

    Values are hashed with :func:`pandas.util.hash_pandas_object`, row by row, so the
    fingerprint changes when any value, the row order, a column name or a dtype changes.
    Missing values hash alike whatever their marker (``NaN``, ``None``, ``NA``) within a dtype.

    Parameters
    ----------
    df : pandas.DataFrame
        The data, e.g. the training set of a model.
    index : bool, default False
        Also hash the index (row labels). By default only the content counts, so a filtered
        frame and the same rows after ``reset_index`` have the same fingerprint.
    length : int, default 12
        Number of hex digits returned (1 to 64).

    Returns
    -------
    str
        ``length`` lowercase hex digits.

    Raises
    ------
    mlsys_kit.params.ParameterError
        If ``df`` is not a DataFrame or ``length`` is out of range.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})
    >>> fingerprint_frame(df) == fingerprint_frame(df.iloc[::-1])  # row order counts
    False
    >>> fingerprint_frame(df) == fingerprint_frame(df.rename(columns={"a": "A"}))
    False
    >>> fingerprint_frame(df.iloc[1:]) == fingerprint_frame(df.iloc[1:].reset_index(drop=True))
    True
    """
    check_type("df", df, pd.DataFrame, owner="fingerprint_frame")
    length = check_int("length", length, min=1, max=64, owner="fingerprint_frame")
    hasher = hashlib.sha256()
    header = [[str(name), str(dtype)] for name, dtype in df.dtypes.items()]
    hasher.update(json.dumps({"columns": header, "rows": len(df)}).encode("utf-8"))
    if len(df.columns) and len(df):
        rows = pd.util.hash_pandas_object(df, index=index)
        hasher.update(np.ascontiguousarray(rows.to_numpy(dtype=np.uint64)).tobytes())
    elif index and len(df):
        rows = pd.util.hash_pandas_object(df.index)
        hasher.update(np.ascontiguousarray(rows.to_numpy(dtype=np.uint64)).tobytes())
    return hasher.hexdigest()[:length]


def fingerprint_params(params: Any, *, length: int = DEFAULT_LENGTH) -> str:
    """Fingerprint JSON-serialisable parameters (hyperparameters, a config), key order ignored.

    Parameters
    ----------
    params : dict, list, str, number, bool or None
        Anything :func:`json.dumps` accepts; nested dicts are fine. NumPy scalars are
        converted to Python numbers.
    length : int, default 12
        Number of hex digits returned (1 to 64).

    Returns
    -------
    str
        ``length`` lowercase hex digits.

    Raises
    ------
    mlsys_kit.params.ParameterError
        If ``params`` holds something JSON cannot represent (an object, a set...) or
        ``length`` is out of range.

    Examples
    --------
    >>> fingerprint_params({"C": 1.0, "seed": 0}) == fingerprint_params({"seed": 0, "C": 1.0})
    True
    >>> fingerprint_params({"C": 1.0}) == fingerprint_params({"C": 0.1})
    False
    """
    length = check_int("length", length, min=1, max=64, owner="fingerprint_params")
    try:
        text = json.dumps(
            params, sort_keys=True, separators=(",", ":"), allow_nan=True, default=_json_default
        )
    except TypeError as exc:
        raise ParameterError(
            f"fingerprint_params: params must be JSON-serialisable: {exc}"
        ) from None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON-serialisable")
