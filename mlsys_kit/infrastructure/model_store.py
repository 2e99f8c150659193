"""A model store: MLflow's model registry, with what it takes to reproduce and serve each version.

Serves Chapter 10 of *Designing Machine Learning Systems* (Chip Huyen, 2022), "Infrastructure and
Tooling for MLOps", the section "Model Store": a store that keeps only the model file cannot say,
when a model misbehaves in production, which features it expects, which data and code made it,
how it scored, what it replaced, or whether the file is the one that was registered. The book's
list of what to store: the model definition and parameters, the featurize and predict functions,
the dependencies, the data, the model generation code, the experiment artifacts, and tags.

:class:`ModelStore` registers each version of a model with all of it, in **MLflow's model
registry** on the SQLite store of :class:`mlsys_kit.modeling.tracking.LocalTracker` (a folder,
no server, nothing written outside it):

* the **artifact**, a skops file and its manifest (:func:`mlsys_kit.deployment.artifacts.
  save_artifact`), logged to an MLflow run whose artifacts become the model version's source;
* the **features** the model takes, in order (its input schema);
* the **training-data version** (:func:`mlsys_kit.design.versioning.fingerprint_frame`) and the
  **code version** (:func:`~mlsys_kit.design.versioning.fingerprint_code` of the featurize and
  training functions, whose source is stored too, ``code.py``);
* the **metrics**, the exact **parameters**, the **dependencies** (library versions), the
  **lineage** (the version it derives from) and free **tags**;
* the artifact's **SHA-256**, as a tag of the model version in the registry's database.

Versions are found by **alias** (``champion``, ``challenger``; MLflow's stages are deprecated):
promotion and rollback move an alias (:meth:`ModelStore.set_alias`), and serving loads
whatever an alias points to (:meth:`ModelStore.load`, also as ``models:/name@alias``). Loading
is **trusted** loading: the file's hash must be the one the registry recorded (a file changed
after registration is refused, even with a manifest rewritten to match), and skops loads it
only with the types the caller trusts (:func:`~mlsys_kit.deployment.artifacts.load_artifact`),
never with pickle.

MLflow does the registry (versions, aliases, the ``models:/`` URIs); the kit's artifact module
does the safe serialisation and the hash check. This module hand-writes only the glue: what a
version records, and the order of the refusals.

Examples
--------
>>> import tempfile
>>> import pandas as pd
>>> from sklearn.linear_model import LogisticRegression
>>> X = pd.DataFrame({"amount": [1.0, 9.0, 2.0, 8.0], "night": [0.0, 1.0, 0.0, 1.0]})
>>> y = [0, 1, 0, 1]
>>> def train(X, y):
...     return LogisticRegression().fit(X, y)
>>> store = ModelStore(tempfile.mkdtemp(), name="fraud")
>>> v1 = store.register(train(X, y), data=X.assign(y=y), code=[train],
...                     metrics={"auc": 1.0}, alias="champion")
>>> v1.version, v1.aliases, list(v1.features)
(1, ('champion',), ['amount', 'night'])
>>> loaded = store.load("models:/fraud@champion")
>>> loaded.record.version, loaded.score(X).round(2).tolist()
(1, [0.04, 0.96, 0.08, 0.92])
"""

from __future__ import annotations

import json
import platform
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.deployment.artifacts import (
    Artifact,
    ArtifactError,
    load_artifact,
    save_artifact,
)
from mlsys_kit.design.versioning import fingerprint_code, fingerprint_frame
from mlsys_kit.modeling.tracking import LocalTracker, _local_path
from mlsys_kit.params import ParameterError, check_int, check_type
from mlsys_kit.results import Report

__all__ = [
    "MODEL_FILE",
    "CODE_FILE",
    "ModelVersionRecord",
    "AliasMove",
    "LoadedVersion",
    "RegistryTable",
    "ModelStore",
]

#: The artifact file of every version, inside the version's source folder.
MODEL_FILE = "model.skops"
#: The stored source of the featurize and training code of every version.
CODE_FILE = "code.py"

_TAG_PREFIX = "mlsys_kit."


@dataclass(frozen=True)
class ModelVersionRecord:
    """What the store knows about one registered version: enough to reproduce and serve it.

    Attributes
    ----------
    name : str
        The registered model's name.
    version : int
        The version number (1, 2, ...; MLflow counts them).
    aliases : tuple of str
        The aliases pointing at it now.
    features : dict of str to str
        The input schema: each feature's name, in the model's column order, and its type.
    data_version, code_version : str
        Fingerprints of the training data and of the featurize and training code.
    n_rows : int
        Rows of the training data.
    parent : int or None
        The version it derives from (lineage), if any.
    metrics : dict of str to float
        The metrics registered with it.
    params : dict
        The exact parameters registered with it (hyperparameters, data window, ...).
    tags : dict of str to str
        Free tags given at registration.
    dependencies : dict of str to str
        Versions of Python and of the libraries that made and can load the artifact.
    sha256 : str
        The artifact's SHA-256, recorded in the registry's database.
    trusted : tuple of str
        Types beyond skops's defaults the artifact holds (a loader must trust them).
    source : pathlib.Path
        The local folder holding the artifact, its manifest and ``code.py``.
    run_id : str
        The MLflow run that logged it (random: do not display it in stored outputs).
    """

    name: str
    version: int
    aliases: tuple[str, ...]
    features: dict[str, str]
    data_version: str
    code_version: str
    n_rows: int
    parent: int | None
    metrics: dict[str, float]
    params: dict[str, Any]
    tags: dict[str, str]
    dependencies: dict[str, str]
    sha256: str
    trusted: tuple[str, ...]
    source: Path
    run_id: str = field(repr=False)


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias: a promotion, a rollback, a new challenger.

    Attributes
    ----------
    alias : str
        The alias moved.
    before : int or None
        The version it pointed at before (None: it was new).
    after : int
        The version it points at now.
    """

    alias: str
    before: int | None
    after: int


@dataclass(frozen=True)
class LoadedVersion:
    """A version loaded from the store: its record and its (hash-checked) artifact.

    Attributes
    ----------
    record : ModelVersionRecord
        What the registry says about it, as resolved when it was loaded.
    artifact : mlsys_kit.deployment.artifacts.Artifact
        The loaded model and its manifest.
    """

    record: ModelVersionRecord
    artifact: Artifact

    @property
    def model(self) -> Any:
        """The fitted estimator."""
        return self.artifact.model

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """The probability of the positive class (the last class) for each row of ``frame``.

        The recorded features are taken from ``frame`` by name, in the recorded order: the
        caller does not need to know the model's column order.

        Parameters
        ----------
        frame : pandas.DataFrame
            Rows with (at least) every recorded feature.

        Returns
        -------
        numpy.ndarray of float, shape (len(frame),)

        Raises
        ------
        ParameterError
            If a recorded feature is missing from ``frame``.
        """
        check_type("frame", frame, pd.DataFrame, owner="LoadedVersion.score")
        names = list(self.record.features)
        missing = [name for name in names if name not in frame.columns]
        if missing:
            raise ParameterError(
                f"LoadedVersion.score: version {self.record.version} of {self.record.name!r} "
                f"takes features {names}; missing from the frame: {missing}"
            )
        X = frame[names]
        if not hasattr(self.model, "feature_names_in_"):
            X = X.to_numpy(dtype=float)
        return self.model.predict_proba(X)[:, -1]


@dataclass(frozen=True)
class RegistryTable(Report):
    """All versions of a registered model, one row each (:meth:`ModelStore.table`).

    Attributes
    ----------
    versions : tuple of ModelVersionRecord
        In version order.
    """

    versions: tuple[ModelVersionRecord, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per version: aliases, lineage, versions of data and code, hash, metrics.

        No run ids, paths or times, so that it can be shown as it is.
        """
        rows = []
        for v in self.versions:
            rows.append(
                {
                    "version": v.version,
                    "aliases": ", ".join(v.aliases),
                    "parent": v.parent,
                    "features": len(v.features),
                    "rows": v.n_rows,
                    "data_version": v.data_version,
                    "code_version": v.code_version,
                    "sha256": v.sha256[:12],
                    **v.metrics,
                }
            )
        frame = pd.DataFrame(rows)
        if len(frame):
            frame["parent"] = frame["parent"].astype("Int64")
            frame = frame.set_index("version")
        return frame


def _dependencies() -> dict[str, str]:
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
    }


@dataclass
class ModelStore:
    """A model registry (MLflow, SQLite) kept inside one folder, for one registered model.

    Parameters
    ----------
    folder : str or pathlib.Path
        Where the store lives (``mlflow.db`` and ``artifacts/``; see
        :class:`~mlsys_kit.modeling.tracking.LocalTracker`). Pass the notebook's run folder.
    name : str, default "model"
        The registered model's name; created unless it exists.
    experiment : str, default "model-store"
        The MLflow experiment whose runs log the versions' artifacts.

    Attributes
    ----------
    tracker : LocalTracker
        The tracking store underneath; ``tracker.client`` is MLflow's client.

    Raises
    ------
    ParameterError
        If ``name`` is not a non-empty string (or as :class:`LocalTracker`).

    Examples
    --------
    See the module's example: a store, a version registered with an alias, loaded by its
    ``models:/`` URI. Creating a store (MLflow's tables) takes a few seconds: keep one.
    """

    folder: Path
    name: str = "model"
    experiment: str = "model-store"
    tracker: LocalTracker = field(init=False, repr=False)

    def __post_init__(self) -> None:
        owner = "ModelStore"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ParameterError(f"{owner}: name must be a non-empty string; got {self.name!r}")
        self.tracker = LocalTracker(self.folder, experiment=self.experiment)
        self.folder = self.tracker.folder
        client = self.tracker.client
        from mlflow.exceptions import MlflowException

        try:
            client.get_registered_model(self.name)
        except MlflowException:
            client.create_registered_model(self.name)

    # --- registering ---------------------------------------------------------------------

    def register(
        self,
        model: Any,
        *,
        data: pd.DataFrame,
        code: Sequence[Callable[..., Any] | type],
        metrics: Mapping[str, float],
        features: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        parent: int | None = None,
        tags: Mapping[str, str] | None = None,
        alias: str | None = None,
    ) -> ModelVersionRecord:
        """Register a fitted classifier as a new version, with all it takes to reproduce it.

        Parameters
        ----------
        model : estimator
            A fitted scikit-learn classifier (``predict_proba``, ``classes_``).
        data : pandas.DataFrame
            Its training data (features and label), fingerprinted as the data version.
        code : sequence of functions or classes
            The featurize and training code; fingerprinted as the code version, and its
            source stored as ``code.py``.
        metrics : mapping of str to float
            Its offline metrics.
        features : mapping of str to str, optional
            The input schema (see :func:`~mlsys_kit.deployment.artifacts.save_artifact`);
            default: the model's own column names, all ``float``.
        params : mapping, optional
            Exact, JSON-serialisable parameters: hyperparameters, the data's origin, ...
        parent : int, optional
            The version this one derives from (lineage); it must exist.
        tags : mapping of str to str, optional
            Free tags (e.g. ``{"trained_on": "days 30-50"}``).
        alias : str, optional
            Point this alias at the new version (e.g. ``"challenger"``).

        Returns
        -------
        ModelVersionRecord

        Raises
        ------
        ParameterError
            If an argument is invalid: not a fitted classifier, a schema that does not match
            it, an empty ``code``, a ``parent`` that is not a registered version, a metric
            that is not a finite number, ...
        """
        owner = "ModelStore.register"
        check_type("data", data, pd.DataFrame, owner=owner)
        if not code:
            raise ParameterError(f"{owner}: code must list the featurize and training code")
        if parent is not None:
            parent = check_int("parent", parent, min=1, owner=owner)
            known = [v.version for v in self.table().versions]
            if parent not in known:
                raise ParameterError(
                    f"{owner}: parent={parent} is not a version of {self.name!r}; allowed: {known}"
                )
        free_tags = {str(k): str(v) for k, v in dict(tags or {}).items()}
        sources = "\n\n".join(_source(obj) for obj in code)
        client = self.tracker.client
        with tempfile.TemporaryDirectory(dir=self.folder, prefix="staging-") as staging:
            saved = save_artifact(model, Path(staging) / MODEL_FILE, features=features)
            run_id = self.tracker.log_run(
                f"{self.name}-registration",
                params=dict(params or {}),
                metrics=metrics,
                data_version=fingerprint_frame(data),
                code_version=fingerprint_code(*code),
                tags=free_tags,
                artifacts={CODE_FILE: sources},
            )
            client.log_artifact(run_id, str(saved.path))
            client.log_artifact(run_id, str(Path(staging) / (MODEL_FILE + ".json")))
        run = client.get_run(run_id)
        mine = {
            "sha256": saved.sha256,
            "features": json.dumps(saved.features),
            "trusted": json.dumps(list(saved.trusted)),
            "n_rows": str(len(data)),
            "parent": "" if parent is None else str(parent),
            "dependencies": json.dumps(_dependencies()),
            "tags": json.dumps(free_tags),
        }
        created = client.create_model_version(
            self.name,
            source=run.info.artifact_uri,
            run_id=run_id,
            tags={_TAG_PREFIX + key: value for key, value in mine.items()},
        )
        version = int(created.version)
        if alias is not None:
            self.set_alias(alias, version)
        return self.record(version)

    # --- finding -------------------------------------------------------------------------

    def record(self, ref: int | str) -> ModelVersionRecord:
        """What the registry says about a version, by number, alias or ``models:/`` URI.

        Parameters
        ----------
        ref : int or str
            A version number (``2``), an alias (``"champion"``) or a URI
            ``"models:/<name>@<alias>"`` or ``"models:/<name>/<version>"``.

        Returns
        -------
        ModelVersionRecord

        Raises
        ------
        ParameterError
            If ``ref`` names no version of this model (the message lists what exists).
        """
        from mlflow.exceptions import MlflowException

        client = self.tracker.client
        by = self._resolve(ref)
        try:
            if isinstance(by, int):
                mv = client.get_model_version(self.name, str(by))
            else:
                mv = client.get_model_version_by_alias(self.name, by)
        except MlflowException:
            raise ParameterError(
                f"ModelStore: {ref!r} is not a version of {self.name!r}; allowed: versions "
                f"{[v.version for v in self.table().versions]} or aliases "
                f"{sorted(self.aliases())}"
            ) from None
        tags = mv.tags
        run = self.tracker.record(mv.run_id)

        def mine(key: str) -> str:
            return tags.get(_TAG_PREFIX + key, "")

        parent = mine("parent")
        return ModelVersionRecord(
            name=self.name,
            version=int(mv.version),
            aliases=tuple(sorted(mv.aliases)),
            features=json.loads(mine("features") or "{}"),
            data_version=run.data_version,
            code_version=run.code_version,
            n_rows=int(mine("n_rows") or 0),
            parent=int(parent) if parent else None,
            metrics=dict(run.metrics),
            params=dict(run.params),
            tags=json.loads(mine("tags") or "{}"),
            dependencies=json.loads(mine("dependencies") or "{}"),
            sha256=mine("sha256"),
            trusted=tuple(json.loads(mine("trusted") or "[]")),
            source=_local_path(mv.source),
            run_id=mv.run_id,
        )

    def aliases(self) -> dict[str, int]:
        """Every alias of the model and the version it points at."""
        model = self.tracker.client.get_registered_model(self.name)
        return {alias: int(version) for alias, version in sorted(model.aliases.items())}

    def table(self) -> RegistryTable:
        """All versions, in version order (a :class:`RegistryTable`)."""
        found = self.tracker.client.search_model_versions(f"name = '{self.name}'")
        numbers = sorted(int(mv.version) for mv in found)
        return RegistryTable(tuple(self.record(n) for n in numbers))

    # --- promoting, rolling back, serving ------------------------------------------------

    def set_alias(self, alias: str, version: int) -> AliasMove:
        """Point ``alias`` at ``version``: a promotion, a rollback or a new challenger.

        Parameters
        ----------
        alias : str
            An alias name (letters, digits, ``_`` and ``-``; not ``latest``, not ``v<n>``,
            which MLflow reserves).
        version : int
            A registered version.

        Returns
        -------
        AliasMove
            Where the alias pointed before, and now.

        Raises
        ------
        ParameterError
            If the alias is not a valid name or the version does not exist.
        """
        owner = "ModelStore.set_alias"
        if (
            not isinstance(alias, str)
            or not alias
            or not alias.replace("_", "").replace("-", "").isalnum()
            or alias.lower() == "latest"
            or (alias[:1].lower() == "v" and alias[1:].isdigit())
        ):
            raise ParameterError(
                f"{owner}: alias={alias!r} is not allowed: letters, digits, '_' and '-', "
                "neither 'latest' nor 'v<number>' (MLflow reserves them)"
            )
        version = self.record(check_int("version", version, min=1, owner=owner)).version
        before = self.aliases().get(alias)
        self.tracker.client.set_registered_model_alias(self.name, alias, str(version))
        return AliasMove(alias, before, version)

    def load(self, ref: int | str, *, trusted: Sequence[str | type] = ()) -> LoadedVersion:
        """Load a version for serving, by number, alias or ``models:/`` URI, if it is trusted.

        The artifact must hash to the SHA-256 the registry recorded when the version was
        registered (a manifest rewritten to match a changed file does not help), and every
        type in it beyond skops's defaults must be in ``trusted``.

        Parameters
        ----------
        ref : int or str
            As for :meth:`record`.
        trusted : sequence of str or type, default ()
            Types you reviewed and trust beyond skops's defaults (the version's record lists
            those it needs, ``record.trusted``).

        Returns
        -------
        LoadedVersion

        Raises
        ------
        ArtifactError
            If the artifact is missing, changed since registration, or holds an untrusted
            type; the message names the version and the reason.
        ParameterError
            If ``ref`` names no version.
        """
        record = self.record(ref)
        try:
            artifact = load_artifact(
                record.source / MODEL_FILE, trusted=tuple(trusted), sha256=record.sha256
            )
        except ArtifactError as error:
            raise ArtifactError(
                f"ModelStore.load: version {record.version} of {self.name!r} ({ref!r}) is "
                f"refused: {error}"
            ) from None
        return LoadedVersion(record, artifact)

    def _resolve(self, ref: int | str) -> int | str:
        """A version number or an alias, from a number, an alias or a ``models:/`` URI."""
        owner = "ModelStore"
        if isinstance(ref, int | np.integer) and not isinstance(ref, bool):
            return check_int("version", int(ref), min=1, owner=owner)
        check_type("ref", ref, str, owner=owner)
        if not ref.startswith("models:/"):
            return ref
        rest = ref.removeprefix("models:/")
        name, at, alias = rest.partition("@")
        if not at:
            name, _, number = rest.partition("/")
            if not number.isdigit():
                raise ParameterError(
                    f"{owner}: {ref!r} is not a model URI: allowed models:/<name>@<alias> or "
                    "models:/<name>/<version>"
                )
        if name != self.name:
            raise ParameterError(
                f"{owner}: {ref!r} names model {name!r}; this store holds {self.name!r}"
            )
        return alias if at else int(number)


def _source(obj: Any) -> str:
    import inspect
    import textwrap

    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError):
        raise ParameterError(
            f"ModelStore.register: cannot store the code of {obj!r}: its source is not available"
        ) from None
