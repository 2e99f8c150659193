"""Model artifacts that are safe to load: skops files, their SHA-256 and their input schema.

Serves Chapter 7 of *Designing Machine Learning Systems* (Chip Huyen, 2022), "Model Deployment
and Prediction Service": before a model can serve, it is exported to a file that another process
loads. That file is code as much as data: a pickle (``joblib.dump``, ``pickle.dump``) runs
whatever its author put in it the moment it is loaded, so a model file from anywhere else is a
way into the machine that serves it.

**skops instead of pickle.** :func:`save_artifact` writes the model with `skops.io
<https://skops.readthedocs.io>`_, the format scikit-learn's maintainers built for this (and
MLflow's scikit-learn flavour now saves with by default): a zip of JSON and NumPy arrays that
names every type it holds. :func:`load_artifact` never unpickles. It asks skops which types in
the file are not trusted by default (``skops.io.get_untrusted_types``; scikit-learn
estimators, NumPy and SciPy types are trusted) and loads only if the caller named each of them
in ``trusted``: a list of types reviewed by a person, never ``trusted=True`` (which skops no
longer accepts: CVE-2024-37065). Tree models hold such a type (``sklearn.tree._tree.Tree``,
the histogram booster's ``TreePredictor``): their node indices are not bounds-checked, so a
crafted file could crash the server; trust them for files you made.

**A manifest beside the file.** ``model.skops`` gets ``model.skops.json``: the file's SHA-256,
the model's class and classes, and the **input schema**, each feature's name and type
(``float``, ``int``, ``bool`` or ``str``), from which the prediction service builds its request
validation (:mod:`mlsys_kit.deployment.service`). Loading refuses a file whose hash is not the
recorded one (changed or truncated since it was saved). The manifest sits beside the file, so
anyone who can rewrite both can make them agree: to guard against that, pin the hash you
expect, ``load_artifact(path, sha256=...)``, from a place the file's writer cannot change.

The kit hand-writes only the glue: the manifest, the order of the refusals and their wording.
skops does the safe serialisation.

Examples
--------
>>> import tempfile, pathlib
>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
>>> model = LogisticRegression().fit(X, [0, 1, 0, 1])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "model.skops"
>>> saved = save_artifact(model, path, features={"amount": "float", "age": "float"})
>>> sorted(p.name for p in path.parent.iterdir())
['model.skops', 'model.skops.json']
>>> artifact = load_artifact(path)
>>> artifact.features
{'amount': 'float', 'age': 'float'}
>>> artifact.predict_proba([{"amount": 0.0, "age": 1.0}]).round(2)
array([[0.66, 0.34]])
>>> _ = path.write_bytes(path.read_bytes() + b"!")  # tamper with the file
>>> load_artifact(path)
Traceback (most recent call last):
...
mlsys_kit.deployment.artifacts.ArtifactError: load_artifact: ...model.skops changed after it ...
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlsys_kit.params import ParameterError, check_choice, check_type

__all__ = [
    "FEATURE_TYPES",
    "BATCH_KEY",
    "ArtifactError",
    "Artifact",
    "manifest_path",
    "save_artifact",
    "load_artifact",
]

#: The feature types an artifact's input schema may declare.
FEATURE_TYPES = ("float", "int", "bool", "str")
#: The key of a batched request, ``{"rows": [...]}``: no feature may be named so.
BATCH_KEY = "rows"

_FORMAT = "mlsys-kit model artifact 1"
_DTYPES = {"float": "float64", "int": "int64", "bool": "bool", "str": "object"}


class ArtifactError(ParameterError):
    """A model artifact is refused: missing, changed since it was saved, or untrusted.

    A :class:`~mlsys_kit.params.ParameterError`, so callers catching it (or ``ValueError``)
    keep working.
    """


@dataclass(frozen=True)
class Artifact:
    """A loaded model and what its manifest says about it.

    Attributes
    ----------
    model : estimator
        The fitted scikit-learn estimator (or pipeline); it has ``predict_proba``.
    path : pathlib.Path
        The skops file it was loaded from (or saved to).
    sha256 : str
        The file's SHA-256, hex.
    features : dict of str to str
        The input schema: each feature's name, in the model's column order, and its type
        (one of :data:`FEATURE_TYPES`).
    classes : tuple
        The model's classes, in the order of ``predict_proba``'s columns.
    trusted : tuple of str
        The types beyond skops's defaults that the file holds and the loader trusted.
    """

    model: Any
    path: Path
    sha256: str
    features: dict[str, str]
    classes: tuple[Any, ...]
    trusted: tuple[str, ...] = ()

    @property
    def model_class(self) -> str:
        """The model's class, with its module (``sklearn.pipeline.Pipeline``)."""
        return _qualified_name(self.model)

    def to_input(self, rows: Sequence[Mapping[str, Any]]) -> Any:
        """The model's input for ``rows`` (dicts keyed by feature name), in column order.

        A model fitted on a DataFrame (it has ``feature_names_in_``) gets a DataFrame with
        each feature's declared type; a model fitted on an array gets a float array.
        """
        names = list(self.features)
        if hasattr(self.model, "feature_names_in_"):
            import pandas as pd

            columns = {
                name: np.array([row[name] for row in rows], dtype=_DTYPES[kind])
                for name, kind in self.features.items()
            }
            return pd.DataFrame(columns, columns=names)
        return np.array([[row[name] for name in names] for row in rows], dtype=float)

    def predict_proba(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The model's class probabilities for ``rows`` (one row of probabilities each)."""
        return self.model.predict_proba(self.to_input(rows))


def manifest_path(path: str | Path) -> Path:
    """Where the manifest of the artifact at ``path`` lives: beside it, ``<name>.json``.

    Examples
    --------
    >>> manifest_path("models/fraud.skops").as_posix()
    'models/fraud.skops.json'
    """
    path = Path(path)
    return path.with_name(path.name + ".json")


def save_artifact(
    model: Any, path: str | Path, *, features: Mapping[str, str] | None = None
) -> Artifact:
    """Save a fitted classifier with skops, and its manifest (SHA-256, schema) beside it.

    Parameters
    ----------
    model : estimator
        A fitted classifier with ``predict_proba`` and ``classes_`` (a pipeline is fine).
    path : str or pathlib.Path
        The skops file to write (``.skops`` by convention); its folder must exist. The
        manifest goes to :func:`manifest_path` of it.
    features : mapping of str to str, optional
        Each input feature's name, in the model's column order, and its type, one of
        :data:`FEATURE_TYPES`. Default: the model's ``feature_names_in_`` (or ``x0``, ``x1``,
        ... for a model fitted on an array), all ``float``. A model fitted on a DataFrame
        must be given its own column names, in order.

    Returns
    -------
    Artifact
        The model as saved, with the file's hash; ``trusted`` lists the types beyond skops's
        defaults that the file holds (a loader has to trust them).

    Raises
    ------
    ParameterError
        When the model is not a fitted classifier, or ``features`` does not match it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> tree = DecisionTreeClassifier().fit([[0.0], [1.0]], ["ok", "fraud"])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tree.skops"
    >>> saved = save_artifact(tree, path)
    >>> saved.features, saved.classes, saved.trusted
    ({'x0': 'float'}, ('fraud', 'ok'), ('sklearn.tree._tree.Tree',))
    >>> len(saved.sha256)
    64
    """
    owner = "save_artifact"
    if not (hasattr(model, "predict_proba") and hasattr(model, "classes_")):
        raise ParameterError(
            f"{owner}: model must be a fitted classifier with predict_proba and classes_; "
            f"got {type(model).__name__}"
        )
    schema = _schema(model, features, owner)
    import sklearn
    import skops
    import skops.io as sio

    path = Path(path)
    data = sio.dumps(model)
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    needs = tuple(sio.get_untrusted_types(data=data))
    classes = tuple(np.asarray(model.classes_).tolist())
    manifest = {
        "format": _FORMAT,
        "file": path.name,
        "sha256": digest,
        "bytes": len(data),
        "model_class": _qualified_name(model),
        "features": [{"name": name, "type": kind} for name, kind in schema.items()],
        "classes": list(classes),
        "untrusted_types": list(needs),
        "versions": {"skops": skops.__version__, "scikit-learn": sklearn.__version__},
    }
    manifest_path(path).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return Artifact(model, path, digest, schema, classes, needs)


def load_artifact(
    path: str | Path, *, trusted: Sequence[str | type] = (), sha256: str | None = None
) -> Artifact:
    """Load a model artifact saved by :func:`save_artifact`, refusing anything unexpected.

    Checks, in order: the file and its manifest exist; the file's SHA-256 is the manifest's
    (and ``sha256``, when given); every type in it that skops does not trust by default is in
    ``trusted``; the loaded model is of the manifest's class. The model is loaded from the
    very bytes that were hashed, with skops, never with pickle.

    Parameters
    ----------
    path : str or pathlib.Path
        The skops file.
    trusted : sequence of str or type, default ()
        Types you reviewed and trust beyond skops's defaults, by fully qualified name or as
        classes, e.g. ``["sklearn.tree._tree.Tree"]`` for a tree model you saved yourself.
        The error for a refused file names the types it needs.
    sha256 : str, optional
        The hash you expect, pinned somewhere the file's writer cannot change; guards against
        a file and manifest rewritten together.

    Returns
    -------
    Artifact

    Raises
    ------
    ArtifactError
        When the file or manifest is missing or unreadable, the hash differs, the file holds
        a type not in ``trusted``, or the model is not of the recorded class.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> tree = DecisionTreeClassifier().fit([[0.0], [1.0]], [0, 1])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tree.skops"
    >>> saved = save_artifact(tree, path)
    >>> load_artifact(path)
    Traceback (most recent call last):
    ...
    mlsys_kit.deployment.artifacts.ArtifactError: ... not trusted: 'sklearn.tree._tree.Tree'; ...
    >>> load_artifact(path, trusted=["sklearn.tree._tree.Tree"]).model_class
    'sklearn.tree._classes.DecisionTreeClassifier'
    """
    owner = "load_artifact"
    check_type("trusted", trusted, (list, tuple), owner=owner)
    trusted = tuple(
        f"{kind.__module__}.{kind.__qualname__}" if isinstance(kind, type) else kind
        for kind in trusted
    )
    for name in trusted:
        check_type("each trusted type", name, (str, type), owner=owner)
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{owner}: no artifact file at {path}")
    manifest = _read_manifest(path, owner)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != manifest["sha256"]:
        raise ArtifactError(
            f"{owner}: {path} changed after it was saved: its SHA-256 is {digest[:16]}…, "
            f"its manifest records {manifest['sha256'][:16]}…; refusing to load it"
        )
    if sha256 is not None and digest != sha256.lower():
        raise ArtifactError(
            f"{owner}: {path} is not the artifact you pinned: its SHA-256 is {digest[:16]}…, "
            f"sha256= expects {sha256[:16]}…; refusing to load it"
        )
    model, needs = _load_trusted(data, path, trusted, owner)
    if _qualified_name(model) != manifest["model_class"]:
        raise ArtifactError(
            f"{owner}: {path} holds a {_qualified_name(model)}; its manifest records a "
            f"{manifest['model_class']}"
        )
    features = {f["name"]: f["type"] for f in manifest["features"]}
    return Artifact(model, path, digest, features, tuple(manifest["classes"]), needs)


def _load_trusted(
    data: bytes, path: Path, trusted: tuple[str, ...], owner: str
) -> tuple[Any, tuple[str, ...]]:
    """The model in skops bytes, and the types beyond skops's defaults it holds (each of them
    in ``trusted``, else refused)."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # a zip skops cannot read: BadZipFile, KeyError, JSON errors
        raise ArtifactError(f"{owner}: {path} is not a skops file ({exc})") from None
    refused = [name for name in untrusted if name not in trusted]
    if refused:
        listed = ", ".join(repr(name) for name in refused)
        raise ArtifactError(
            f"{owner}: {path} holds types that are not trusted: {listed}; allowed: skops's "
            f"defaults (scikit-learn estimators, NumPy, SciPy) and trusted={list(trusted)}. "
            "If you made this file or trust its source, review these types and pass them "
            "in trusted= (mlsys-kit serve: --trust TYPE)"
        )
    try:
        return sio.loads(data, trusted=list(untrusted)), tuple(untrusted)
    except Exception as exc:
        raise ArtifactError(f"{owner}: skops could not load {path}: {exc}") from None


def _read_manifest(path: Path, owner: str) -> dict[str, Any]:
    where = manifest_path(path)
    if not where.is_file():
        raise ArtifactError(
            f"{owner}: no manifest {where.name} beside {path}; save_artifact writes the "
            "model and its manifest together"
        )
    try:
        manifest = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{owner}: manifest {where} is not readable JSON ({exc})") from None
    keys = ("format", "sha256", "model_class", "features", "classes")
    missing = [key for key in keys if not isinstance(manifest, dict) or key not in manifest]
    if missing or manifest.get("format") != _FORMAT:
        raise ArtifactError(
            f"{owner}: {where} is not an mlsys-kit manifest (format {_FORMAT!r} with keys "
            f"{', '.join(keys)}); missing: {', '.join(missing) or 'format'}"
        )
    for feature in manifest["features"]:
        check_choice("feature type", feature.get("type"), FEATURE_TYPES, owner=owner)
    return manifest


def _schema(model: Any, features: Mapping[str, str] | None, owner: str) -> dict[str, str]:
    """The input schema of ``model``: the given one, checked against the model, or its own."""
    fitted_names = getattr(model, "feature_names_in_", None)
    count = getattr(model, "n_features_in_", None)
    if features is None:
        if fitted_names is not None:
            return {str(name): "float" for name in fitted_names}
        if count is None:
            raise ParameterError(
                f"{owner}: the model does not say how many features it takes "
                "(no n_features_in_); pass features={name: type, ...}"
            )
        return {f"x{i}": "float" for i in range(count)}
    features = dict(check_type("features", features, Mapping, owner=owner))
    for name, kind in features.items():
        check_type("a feature name", name, str, owner=owner)
        check_choice(f"features[{name!r}]", kind, FEATURE_TYPES, owner=owner)
    if BATCH_KEY in features:
        raise ParameterError(
            f"{owner}: a feature may not be named {BATCH_KEY!r}: the service reads "
            f'{{"{BATCH_KEY}": [...]}} as a batch'
        )
    if fitted_names is not None and list(features) != [str(n) for n in fitted_names]:
        raise ParameterError(
            f"{owner}: features {list(features)} are not the model's columns "
            f"{[str(n) for n in fitted_names]} (same names, same order)"
        )
    if count is not None and len(features) != count:
        raise ParameterError(
            f"{owner}: features names {len(features)} feature(s); the model takes {count}"
        )
    if fitted_names is None and "str" in features.values():
        raise ParameterError(
            f"{owner}: a model fitted on an array takes numbers only; fit it on a DataFrame "
            "to declare str features"
        )
    return features


def _qualified_name(obj: Any) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"
