"""Experiment tracking with MLflow, and hyperparameter search at an equal budget.

Serves Chapter 6 of *Designing Machine Learning Systems* (Chip Huyen, 2022), "Model Development
and Offline Evaluation": the sections "Experiment Tracking and Versioning" and "AutoML" (soft
AutoML: hyperparameter tuning).

**Tracking.** :class:`LocalTracker` keeps an MLflow tracking store inside one folder: a SQLite
database (``mlflow.db``; MLflow's plain-file store is deprecated) and an artifact folder
(``artifacts/``), with no server. Each run records its parameters, metrics, artifacts, the
*data version* (a content hash of the data,
:func:`mlsys_kit.design.versioning.fingerprint_frame`) and
the *code version* (a hash of the training code's source, :func:`mlsys_kit.design.versioning.
fingerprint_code`). :func:`reproduce` re-runs a recorded run and refuses, with
:class:`ReproductionError`, when the data or code at hand are not the recorded ones.

MLflow does the tracking; this module only makes it safe to run anywhere: it writes **nothing
outside the folder** you give it. MLflow's defaults would write an ``./mlruns`` folder next to
the notebook (the artifact root of its ``Default`` experiment) and a telemetry file under the
home directory (``~/.config/mlflow``), and would send usage telemetry over the network; so
telemetry is switched off (``MLFLOW_DISABLE_TELEMETRY``), every artifact location is set inside
the folder, and MLflow's and Alembic's INFO log lines ("Creating initial MLflow database
tables...") are silenced. The tracker uses an :class:`mlflow.MlflowClient` bound to its own
store and never changes MLflow's global tracking URI or active run. A new store is made by
some sixty Alembic migrations, each a transaction that SQLite syncs to disk (1 to 3 s in all,
more on a busy disk); the tracker's connections skip those syncs (``PRAGMA synchronous=OFF``),
which SQLite documents as safe against a crash of the program (the rollback journal is kept)
and unsafe only against a power loss or an operating-system crash in mid-write: a fair trade
for a notebook's record of its own runs.

**Search at an equal budget.** scikit-learn's ``GridSearchCV``, ``RandomizedSearchCV`` and
``HalvingRandomSearchCV`` do the searching. What they do not report is what a search *cost*,
which is what a fair comparison must hold equal. :func:`budget_spent` counts it in training rows
× fits (each fit of a k-fold evaluation on m rows trains on m·(k-1)/k rows), a cost that
successive halving spends on many candidates on small subsamples first;
:func:`halving_n_candidates` sizes a halving search to the budget of a full-data search; and
:func:`search_trace` replays a finished search in evaluation order, giving the incumbent (the
best candidate so far) against the budget spent, for a "best score against budget" plot.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> tracker = LocalTracker(folder, experiment="demo")
>>> run_id = tracker.log_run("first", params={"C": 1.0}, metrics={"auc": 0.81},
...                          data_version="d41d8cd98f00", code_version="0123456789ab")
>>> tracker.runs()[["run", "C", "auc", "data_version"]]
     run    C   auc  data_version
0  first  1.0  0.81  d41d8cd98f00
>>> tracker.record(run_id).params
{'C': 1.0}
>>> sorted(p.name for p in folder.iterdir())
['artifacts', 'mlflow.db']
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pandas as pd

from mlsys_kit.design.versioning import fingerprint_code, fingerprint_frame
from mlsys_kit.params import ParameterError, check_int, check_type

__all__ = [
    "LocalTracker",
    "RunRecord",
    "ReproductionError",
    "reproduce",
    "snapshot",
    "changed_paths",
    "budget_spent",
    "halving_n_candidates",
    "search_trace",
]

PARAMS_ARTIFACT = "params.json"
"""Artifact holding a run's exact parameters (MLflow stores parameters as strings)."""

_QUIET_LOGGERS = ("mlflow", "alembic")


class ReproductionError(RuntimeError):
    """A run cannot be reproduced: the data or the code differ from those recorded."""


def _mlflow() -> Any:
    """Import MLflow with telemetry off and its INFO logging silenced (idempotent)."""
    # Telemetry would write ~/.config/mlflow/telemetry.json and call the network; it is read
    # from the environment when MLflow is imported, and again by set_telemetry_client().
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    import mlflow
    from mlflow.telemetry.client import set_telemetry_client

    set_telemetry_client()  # drops a client created by an earlier import, if any
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return mlflow


_UNSYNCED_FOLDERS: set[Path] = set()
"""Folders whose SQLite databases are opened without syncing to disk (see the module doc)."""


def _skip_disk_syncs_in(folder: Path) -> None:
    """Open SQLite databases inside ``folder`` with ``PRAGMA synchronous=OFF`` from now on.

    A listener on every SQLAlchemy engine's new connections (MLflow makes its own engines)
    that touches only SQLite files inside the registered folders.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _without_disk_syncs):
        event.listen(Engine, "connect", _without_disk_syncs)
    _UNSYNCED_FOLDERS.add(folder)


def _without_disk_syncs(dbapi_connection: Any, connection_record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    files = [row[2] for row in dbapi_connection.execute("PRAGMA database_list")]
    main_file = Path(files[0]) if files and files[0] else None
    if main_file is not None and any(main_file.is_relative_to(f) for f in _UNSYNCED_FOLDERS):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


def _local_path(uri: str) -> Path:
    return Path(url2pathname(urlparse(uri).path))


def _plain(value: Any) -> Any:
    """NumPy scalars (as search spaces produce them) to plain Python values, for JSON."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class RunRecord:
    """What the tracking store knows about one run, enough to reproduce it.

    Attributes
    ----------
    run_id : str
        MLflow's id of the run (random: do not display it in stored outputs).
    name : str
        The run's name.
    params : dict
        The exact parameters, with their types, read from the run's ``params.json`` artifact.
    metrics : dict
        The metrics logged, by name.
    data_version, code_version : str
        The fingerprints of the data and of the training code recorded with the run.
    artifact_dir : pathlib.Path
        The local folder of the run's artifacts.
    """

    run_id: str
    name: str
    params: dict[str, Any]
    metrics: dict[str, float]
    data_version: str
    code_version: str
    artifact_dir: Path


@dataclass
class LocalTracker:
    """An MLflow tracking store kept entirely inside one folder (SQLite, no server).

    Parameters
    ----------
    folder : str or pathlib.Path
        Where the store lives: ``folder/mlflow.db`` and ``folder/artifacts/``. Created if
        missing. Pass the notebook's run folder, :func:`mlsys_kit.output_dir`.
    experiment : str, default "mlsys-kit"
        The MLflow experiment to log to; created (with its artifact location inside
        ``folder``) unless it exists.

    Attributes
    ----------
    uri : str
        The tracking URI, ``sqlite:///<folder>/mlflow.db``.
    client : mlflow.MlflowClient
        A client bound to this store: use it for MLflow's own queries (``search_runs``).
    experiment_id : str
        The experiment's id.

    Raises
    ------
    ParameterError
        If ``experiment`` is empty, or exists with its artifacts outside ``folder``.

    Examples
    --------
    >>> import tempfile
    >>> tracker = LocalTracker(tempfile.mkdtemp(), experiment="demo")
    >>> tracker.uri.startswith("sqlite:///") and tracker.uri.endswith("mlflow.db")
    True
    """

    folder: Path
    experiment: str = "mlsys-kit"
    uri: str = field(init=False)
    client: Any = field(init=False, repr=False)
    experiment_id: str = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.experiment, str) or not self.experiment.strip():
            raise ParameterError(
                f"LocalTracker: experiment must be a non-empty name; got {self.experiment!r}"
            )
        self.folder = Path(self.folder).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        artifacts = self.folder / "artifacts"
        self.uri = "sqlite:///" + (self.folder / "mlflow.db").as_posix()
        mlflow = _mlflow()
        _skip_disk_syncs_in(self.folder)
        with warnings.catch_warnings():
            # MLflow's store asks SQLAlchemy for a deprecated loader when imported (3.17).
            warnings.filterwarnings("ignore", message=".*noload.*", category=DeprecationWarning)
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

            # The first connection creates the tables and MLflow's "Default" experiment; give
            # it an artifact root inside the folder (MLflow's default: ./mlruns, in the cwd).
            SqlAlchemyStore(self.uri, artifacts.as_uri())
            self.client = mlflow.MlflowClient(tracking_uri=self.uri)
            existing = self.client.get_experiment_by_name(self.experiment)
        if existing is None:
            self.experiment_id = self.client.create_experiment(
                self.experiment, artifact_location=(artifacts / self.experiment).as_uri()
            )
        else:
            location = _local_path(existing.artifact_location)
            if not location.is_relative_to(self.folder):
                raise ParameterError(
                    f"LocalTracker: experiment {self.experiment!r} keeps its artifacts outside "
                    f"{self.folder}"
                )
            self.experiment_id = existing.experiment_id

    def log_run(
        self,
        name: str,
        *,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        data_version: str,
        code_version: str,
        tags: Mapping[str, str] | None = None,
        artifacts: Mapping[str, pd.DataFrame | str] | None = None,
    ) -> str:
        """Record one finished run: parameters, metrics, versions, tags and artifacts.

        Parameters
        ----------
        name : str
            The run's name (shown in the runs table; need not be unique).
        params : mapping
            The parameters needed to reproduce the run. JSON-serialisable values (NumPy
            scalars are converted). Logged as MLflow parameters (strings) and, exactly,
            as the ``params.json`` artifact.
        metrics : mapping of str to float
            The run's measurements, e.g. ``{"cv_auc": 0.88, "test_auc": 0.87}``.
        data_version, code_version : str
            Fingerprints of the data and of the training code
            (:mod:`mlsys_kit.design.versioning`), logged as the tags ``data_version`` and
            ``code_version``.
        tags : mapping of str to str, optional
            More tags (e.g. ``{"strategy": "grid"}``).
        artifacts : mapping of str to DataFrame or str, optional
            Files to attach, by file name: a DataFrame is written as CSV, a string as text.

        Returns
        -------
        str
            The MLflow run id.

        Raises
        ------
        ParameterError
            If ``name`` or a version is empty, a metric is not a finite number, an
            artifact name is not a plain file name, or a parameter is not JSON-serialisable.
        """
        from mlflow.entities import Metric, Param, RunTag

        owner = "log_run"
        if not isinstance(name, str) or not name.strip():
            raise ParameterError(f"{owner}: name must be a non-empty string; got {name!r}")
        for label, version in (("data_version", data_version), ("code_version", code_version)):
            if not isinstance(version, str) or not version:
                raise ParameterError(
                    f"{owner}: {label} must be a non-empty fingerprint; got {version!r}"
                )
        exact = {str(k): _plain(v) for k, v in params.items()}
        try:
            params_json = json.dumps(exact, sort_keys=True, indent=1)
        except TypeError as exc:
            raise ParameterError(f"{owner}: params must be JSON-serialisable: {exc}") from None
        values = {}
        for key, value in metrics.items():
            number = float(_plain(value))
            if not np.isfinite(number):
                raise ParameterError(
                    f"{owner}: metric {key!r} must be a finite number; got {value!r}"
                )
            values[str(key)] = number
        files = {PARAMS_ARTIFACT: params_json, **dict(artifacts or {})}
        for file_name in files:
            if not file_name or Path(file_name).name != file_name:
                raise ParameterError(
                    f"{owner}: artifact names must be plain file names; got {file_name!r}"
                )

        run = self.client.create_run(self.experiment_id, run_name=name)
        run_id = run.info.run_id
        all_tags = {"data_version": data_version, "code_version": code_version, **(tags or {})}
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, v, 0, 0) for k, v in values.items()],
            params=[Param(k, str(v)) for k, v in exact.items()],
            tags=[RunTag(k, str(v)) for k, v in all_tags.items()],
        )
        with tempfile.TemporaryDirectory(dir=self.folder, prefix="staging-") as staging:
            for file_name, content in files.items():
                path = Path(staging) / file_name
                if isinstance(content, pd.DataFrame):
                    content.to_csv(path, index=False)
                else:
                    path.write_text(str(content), encoding="utf-8")
                self.client.log_artifact(run_id, str(path))
        self.client.set_terminated(run_id)
        return run_id

    def record(self, run_id: str) -> RunRecord:
        """Read one run back from the store.

        Parameters
        ----------
        run_id : str
            An id returned by :meth:`log_run` or found with ``client.search_runs``.

        Returns
        -------
        RunRecord
        """
        run = self.client.get_run(run_id)
        artifact_dir = _local_path(run.info.artifact_uri)
        params = json.loads((artifact_dir / PARAMS_ARTIFACT).read_text(encoding="utf-8"))
        return RunRecord(
            run_id=run_id,
            name=run.info.run_name,
            params=params,
            metrics=dict(run.data.metrics),
            data_version=run.data.tags.get("data_version", ""),
            code_version=run.data.tags.get("code_version", ""),
            artifact_dir=artifact_dir,
        )

    def runs(self, filter_string: str = "", order_by: str | None = None) -> pd.DataFrame:
        """The experiment's runs as one table: name, parameters, metrics, tags.

        Parameters
        ----------
        filter_string : str, optional
            An MLflow search filter, e.g. ``"tags.strategy = 'grid'"`` or
            ``"metrics.cv_auc > 0.8"``.
        order_by : str, optional
            An MLflow ordering, e.g. ``"metrics.cv_auc DESC"``. Runs are in the order they
            were logged otherwise.

        Returns
        -------
        pandas.DataFrame
            One row per run: ``run``, then parameters, metrics and tags (MLflow's own
            ``mlflow.*`` tags left out). No ids or times, so that it can be shown as is.
        """
        order = [order_by] if order_by else ["attributes.start_time ASC"]
        found = self.client.search_runs(
            [self.experiment_id], filter_string=filter_string, order_by=order
        )
        rows = []
        for run in found:
            record = self.record(run.info.run_id)
            tags = {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}
            rows.append({"run": record.name, **record.params, **record.metrics, **tags})
        return pd.DataFrame(rows)


def reproduce(
    record: RunRecord,
    train: Callable[..., Mapping[str, float]],
    data: pd.DataFrame,
    *,
    code: Sequence[Any] | None = None,
) -> dict[str, float]:
    """Re-run a recorded run, after checking that the data and the code are the recorded ones.

    Parameters
    ----------
    record : RunRecord
        The run, from :meth:`LocalTracker.record`.
    train : callable
        The training function, called as ``train(data, **record.params)``; it returns the
        run's metrics.
    data : pandas.DataFrame
        The data to train on; its content must be the recorded data version.
    code : sequence of functions or classes, optional
        The code whose fingerprint (:func:`~mlsys_kit.design.versioning.fingerprint_code`) is the
        recorded code version; ``(train,)`` by default. List the helpers ``train`` calls
        if the code version was taken over them too.

    Returns
    -------
    dict of str to float
        The metrics of the re-run, to compare with ``record.metrics``.

    Raises
    ------
    ReproductionError
        If the fingerprint of ``data`` or of ``train`` differs from the recorded one: the
        re-run would not be a reproduction. The message names both versions.

    Examples
    --------
    >>> def train(data, scale):
    ...     return {"total": float(data["x"].sum() * scale)}
    >>> data = pd.DataFrame({"x": [1, 2, 3]})
    >>> record = RunRecord("id", "demo", {"scale": 2}, {"total": 12.0},
    ...                    fingerprint_frame(data), fingerprint_code(train), Path("."))
    >>> reproduce(record, train, data)
    {'total': 12.0}
    >>> reproduce(record, train, data.assign(x=[1, 2, 4]))
    Traceback (most recent call last):
    ...
    mlsys_kit.modeling.tracking.ReproductionError: the data differ from the run's: data version ...
    """
    check_type("data", data, pd.DataFrame, owner="reproduce")
    data_version = fingerprint_frame(data, length=len(record.data_version) or 12)
    if data_version != record.data_version:
        raise ReproductionError(
            f"the data differ from the run's: data version {data_version}, "
            f"recorded {record.data_version}"
        )
    code_version = fingerprint_code(*(code or (train,)), length=len(record.code_version) or 12)
    if code_version != record.code_version:
        raise ReproductionError(
            f"the code differs from the run's: code version {code_version}, "
            f"recorded {record.code_version}"
        )
    return {k: float(v) for k, v in train(data, **record.params).items()}


def snapshot(*folders: str | Path, max_depth: int = 1) -> dict[str, tuple[int, int]]:
    """List what is in some folders (size and modification time), to detect writes later.

    Parameters
    ----------
    *folders : str or pathlib.Path
        Folders to list; a missing folder lists as empty (so that its creation shows); a
        file lists as itself.
    max_depth : int, default 1
        1 lists the folders' entries; 2 their sub-folders' entries too; and so on.

    Returns
    -------
    dict
        ``{path: (size, mtime_ns)}`` for every file and folder found (the folders
        themselves included when they exist).

    Raises
    ------
    ParameterError
        If ``max_depth`` is not an int ≥ 1.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> before = snapshot(folder)
    >>> _ = (folder / "mlruns").mkdir()
    >>> [Path(p).name for p in changed_paths(before, snapshot(folder))]
    ['mlruns']
    """
    max_depth = check_int("max_depth", max_depth, min=1, owner="snapshot")
    found: dict[str, tuple[int, int]] = {}

    def visit(path: Path, depth: int) -> None:
        try:
            stat = path.lstat()
        except OSError:
            return
        found[str(path)] = (stat.st_size, stat.st_mtime_ns)
        if depth < max_depth and path.is_dir() and not path.is_symlink():
            try:
                children = list(path.iterdir())
            except OSError:
                return
            for child in children:
                visit(child, depth + 1)

    for folder in folders:
        folder = Path(folder)
        if folder.is_dir():
            found[str(folder)] = (0, 0)  # the folder's own mtime changes with any entry
            for child in folder.iterdir():
                visit(child, 1)
        elif folder.exists():
            visit(folder, max_depth)
    return found


def changed_paths(before: Mapping[str, tuple[int, int]], after: Mapping[str, Any]) -> list[str]:
    """Paths that are new, changed or gone between two :func:`snapshot` listings.

    Parameters
    ----------
    before, after : dict
        Two snapshots of the same folders.

    Returns
    -------
    list of str
        Sorted paths.
    """
    keys = set(before) | set(after)
    return sorted(k for k in keys if before.get(k) != after.get(k))


def budget_spent(search: Any, n_rows: int | None = None) -> int:
    """What a finished scikit-learn search cost, in training rows × fits.

    A k-fold evaluation of one candidate on m rows makes k fits of m·(k-1)/k rows each:
    m·(k-1) training rows. A grid or random search evaluates every candidate on all the
    ``n_rows`` rows it was given; successive halving evaluates candidates on subsamples
    (``n_resources`` rows in ``cv_results_``). The final refit, the same for every
    strategy, is not counted.

    Parameters
    ----------
    search : fitted GridSearchCV, RandomizedSearchCV or Halving*SearchCV
        A search over the rows (the halving resource must be ``"n_samples"``).
    n_rows : int, optional
        The rows the search was fitted on; required unless the search is a halving search.

    Returns
    -------
    int
        The training rows summed over all the fits of the search.

    Raises
    ------
    ParameterError
        If the search is not fitted, or ``n_rows`` is missing or not a positive int when
        needed.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = np.arange(60).reshape(30, 2), np.arange(30) % 2
    >>> search = GridSearchCV(DecisionTreeClassifier(), {"max_depth": [1, 2]}, cv=3).fit(X, y)
    >>> budget_spent(search, n_rows=30)  # 2 candidates × 3 fits × 20 rows
    120
    """
    results = getattr(search, "cv_results_", None)
    if results is None:
        raise ParameterError(
            "budget_spent: search must be a fitted scikit-learn search (it has no cv_results_)"
        )
    k = int(search.n_splits_)
    n_evaluations = len(results["params"])
    if "n_resources" in results:
        if getattr(search, "resource", "n_samples") != "n_samples":
            raise ParameterError(
                "budget_spent: counts rows, so the halving resource must be n_samples"
            )
        rows = np.asarray(results["n_resources"], dtype=np.int64)
    else:
        if n_rows is None:
            raise ParameterError("budget_spent: n_rows is needed for a grid or random search")
        n_rows = check_int("n_rows", n_rows, min=1, owner="budget_spent")
        rows = np.full(n_evaluations, int(n_rows), dtype=np.int64)
    return int((rows * (k - 1)).sum())


def halving_n_candidates(n_full: int, *, n_rounds: int, factor: int = 3) -> int:
    """First-round candidates of a halving search that costs what ``n_full`` full evaluations do.

    A successive-halving search over ``n_rounds`` rounds, starting on ``1/factor**(n_rounds-1)``
    of the rows and keeping the best ``1/factor`` of the candidates after each round, spends
    about the same in every round. This finds the largest number of first-round candidates
    whose total cost (rows × candidates, summed over rounds, as scikit-learn schedules them)
    does not exceed that of evaluating ``n_full`` candidates on all the rows.

    Parameters
    ----------
    n_full : int
        The candidates a full-data search (grid, random) evaluates with the same budget.
    n_rounds : int
        Rounds of halving (1 is a plain random search).
    factor : int, default 3
        The halving factor (``factor`` of scikit-learn's halving searches).

    Returns
    -------
    int
        Pass it as ``n_candidates`` to ``HalvingRandomSearchCV`` with
        ``min_resources=n_rows // factor ** (n_rounds - 1)``.

    Raises
    ------
    ParameterError
        If an argument is not an int in its range (``n_full`` ≥ 1, ``n_rounds`` ≥ 1,
        ``factor`` ≥ 2).

    Examples
    --------
    >>> halving_n_candidates(18, n_rounds=3)  # 54 on 1/9, 18 on 1/3, 6 on all the rows
    54
    >>> halving_n_candidates(18, n_rounds=1)
    18
    """
    n_full = check_int("n_full", n_full, min=1, owner="halving_n_candidates")
    n_rounds = check_int("n_rounds", n_rounds, min=1, owner="halving_n_candidates")
    factor = check_int("factor", factor, min=2, owner="halving_n_candidates")
    target = n_full * factor ** (n_rounds - 1)  # in units of the first round's rows

    def cost(n_first: int) -> int:
        total, candidates = 0, n_first
        for round_ in range(n_rounds):
            total += candidates * factor**round_
            candidates = -(-candidates // factor)  # scikit-learn keeps ceil(n / factor)
        return total

    n_first = n_full
    while cost(n_first + 1) <= target:
        n_first += 1
    return n_first


def search_trace(search: Any, n_rows: int | None = None) -> pd.DataFrame:
    """Replay a finished search in evaluation order: budget spent and incumbent at each step.

    The incumbent is the candidate the search would pick if stopped there: the best mean
    cross-validated score so far. In a halving search, scores of different rounds are
    measured on different amounts of data and are not comparable; there the incumbent is
    the best candidate of the last *completed* round (none during the first round).

    Parameters
    ----------
    search : fitted GridSearchCV, RandomizedSearchCV or Halving*SearchCV
        As for :func:`budget_spent`.
    n_rows : int, optional
        As for :func:`budget_spent`.

    Returns
    -------
    pandas.DataFrame
        One row per candidate evaluation, in the order the search made them: ``round``,
        ``candidate`` (index into ``cv_results_``), ``score``, ``budget`` (cumulative
        rows × fits), ``incumbent`` (index into ``cv_results_``, -1 for none) and
        ``incumbent_score``.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = np.arange(60).reshape(30, 2), np.arange(30) % 2
    >>> search = GridSearchCV(DecisionTreeClassifier(), {"max_depth": [1, 2]}, cv=3).fit(X, y)
    >>> search_trace(search, n_rows=30)[["candidate", "budget", "incumbent"]]
       candidate  budget  incumbent
    0          0      60          0
    1          1     120          0
    """
    budget_spent(search, n_rows)  # validates the search and n_rows
    results = search.cv_results_
    k = int(search.n_splits_)
    n = len(results["params"])
    scores = np.asarray(results["mean_test_score"], dtype=float)
    halving = "n_resources" in results
    rounds = np.asarray(results["iter"]) if halving else np.zeros(n, dtype=int)
    rows = np.asarray(results["n_resources"]) if halving else np.full(n, int(n_rows or 0))
    incumbents, incumbent_scores = [], []
    best, best_score = -1, -np.inf
    round_best, round_best_score = -1, -np.inf
    for i in range(n):
        if halving:
            if scores[i] > round_best_score:
                round_best, round_best_score = i, scores[i]
            if i == n - 1 or rounds[i + 1] != rounds[i]:  # the round is complete
                best, best_score = round_best, round_best_score
                round_best, round_best_score = -1, -np.inf
        elif scores[i] > best_score:
            best, best_score = i, scores[i]
        incumbents.append(best)
        incumbent_scores.append(best_score if best >= 0 else np.nan)
    return pd.DataFrame(
        {
            "round": rounds.astype(int),
            "candidate": np.arange(n),
            "score": scores,
            "budget": np.cumsum(rows.astype(np.int64) * (k - 1)),
            "incumbent": incumbents,
            "incumbent_score": incumbent_scores,
        }
    )
