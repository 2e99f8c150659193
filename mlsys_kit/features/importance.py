"""Feature importance and feature generalization: which features a model uses, and which travel.

Serves Chapter 5, "Feature Engineering" (Chip Huyen, *Designing Machine Learning Systems*, 2022),
sections "Feature Importance" and "Feature Generalization", and the advice of "Engineering Good
Features" that features which do not help should be removed.

Three ways to ask "how much does the model rely on this feature?", computed by the libraries
practitioners use:

- **impurity importance** (mean decrease in impurity, MDI): a tree ensemble's own
  ``feature_importances_``, free, but measured on the *training* data, so it rewards features
  that let deep trees split training rows apart, such as a high-cardinality column of noise;
- **permutation importance** (:func:`sklearn.inspection.permutation_importance`): how much the
  score drops on *held-out* rows when one column is shuffled; a feature the model cannot use to
  generalize scores about zero;
- **SHAP values** (the ``shap`` library's ``TreeExplainer``): each prediction split exactly into
  one contribution per feature, which add up to the prediction (:func:`additivity_gap` checks).

:func:`compare_importances` puts the three side by side. ``shap`` is imported only inside
:func:`tree_shap`, so ``import mlsys_kit.features.importance`` stays fast.

:func:`generalization_report` is written here by hand, in a few lines of pandas and SciPy, because
it is the lesson itself: for each feature, its **coverage** (share of rows with a value) in the
training period and in a later one, the share of later values **seen** in training, and how far
its **distribution** moved (the Jensen-Shannon distance from :mod:`scipy.spatial.distance`, on
the kit's one quantile binning, :func:`mlsys_kit.stats.quantile_edges`). Monitoring tools
(Evidently, NannyML, Deepchecks) compute similar reports, but as heavy dependencies with their
own binning and thresholds; the kit does not depend on one.

Examples
--------
>>> import numpy as np, pandas as pd
>>> train = pd.DataFrame({"city": ["a", "b", "a", "b"], "x": [1.0, 2.0, np.nan, 4.0]})
>>> later = pd.DataFrame({"city": ["a", "c", "c", "c"], "x": [1.0, 2.0, 3.0, 4.0]})
>>> generalization_report(train, later)[["coverage_train", "coverage_later", "seen_in_train"]]
         coverage_train  coverage_later  seen_in_train
feature
city               1.00             1.0           0.25
x                  0.75             1.0           1.00
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_choice,
    check_int,
    check_type,
    make_rng,
)
from mlsys_kit.stats import quantile_bins, quantile_edges

if TYPE_CHECKING:  # pragma: no cover - shap is imported lazily
    import shap

__all__ = [
    "add_noise_features",
    "additivity_gap",
    "compare_importances",
    "distribution_shift",
    "generalization_report",
    "tree_shap",
]

IMPORTANCE_COLUMNS = ["impurity", "permutation", "permutation_std", "mean_abs_shap"]
REPORT_COLUMNS = ["kind", "coverage_train", "coverage_later", "seen_in_train", "shift"]


def _rows_of(name: str, frame: Any, owner: str) -> pd.DataFrame:
    """``frame`` if it is a DataFrame with at least one row, else ParameterError."""
    check_type(name, frame, pd.DataFrame, owner=owner)
    if len(frame) == 0:
        raise ParameterError(f"{owner}: {name} is empty: it needs at least one row")
    return frame


def add_noise_features(
    frame: pd.DataFrame,
    n: int,
    *,
    seed: Seed = 0,
    cardinality: int | None = None,
    prefix: str = "noise",
) -> pd.DataFrame:
    """Return a copy of ``frame`` with ``n`` extra columns of pure noise.

    Noise columns carry no information about any target by construction, which makes them the
    control of an importance experiment: a method that calls them important misleads.

    Parameters
    ----------
    frame : pandas.DataFrame
        The features.
    n : int
        Number of noise columns to add (``>= 0``). With ``n == 1`` the column is named
        ``prefix``; otherwise ``prefix_0``, ``prefix_1``, ...
    seed : int or numpy.random.Generator, default 0
        Seed of the noise, or the generator to draw it from.
    cardinality : int, optional
        Draw integers in ``[0, cardinality)`` (``>= 2``), like an ID column; by default draw
        floats uniform on ``[0, 1)``, which are all distinct.
    prefix : str, default "noise"
        Name of the new columns.

    Returns
    -------
    pandas.DataFrame
        ``frame``'s columns, then the noise columns.

    Raises
    ------
    ParameterError
        When ``frame`` is not a non-empty DataFrame, ``n`` or ``cardinality`` is out of
        range, or a new name is already a column.

    Examples
    --------
    >>> X = pd.DataFrame({"age": [30, 40, 50]})
    >>> add_noise_features(X, 1, seed=0, cardinality=1000).columns.tolist()
    ['age', 'noise']
    >>> add_noise_features(X, 2, seed=np.random.default_rng(0)).columns.tolist()
    ['age', 'noise_0', 'noise_1']
    """
    owner = "add_noise_features"
    _rows_of("frame", frame, owner)
    n = check_int("n", n, min=0, owner=owner)
    if cardinality is not None:
        cardinality = check_int("cardinality", cardinality, min=2, owner=owner)
    rng = make_rng(seed, owner=owner)
    names = [prefix] if n == 1 else [f"{prefix}_{i}" for i in range(n)]
    clash = [name for name in names if name in frame.columns]
    if clash:
        raise ParameterError(f"{owner}: frame already has column(s) {clash}: pick another prefix")
    shape = (len(frame), n)
    values = rng.random(shape) if cardinality is None else rng.integers(0, cardinality, shape)
    noise = pd.DataFrame(values, index=frame.index, columns=names)
    return pd.concat([frame, noise], axis=1)


def tree_shap(model: Any, X: pd.DataFrame, *, output_class: int = 1) -> shap.Explanation:
    """SHAP values of a fitted tree model for the rows of ``X`` (``shap.TreeExplainer``).

    The exact, fast TreeSHAP algorithm with the trees' own cover as background
    ("tree_path_dependent"). For a classifier whose explanation has one column per class (a
    scikit-learn random forest), only ``output_class`` is kept, so the result is always
    ``(n_rows, n_features)``.

    Parameters
    ----------
    model : fitted tree model
        A scikit-learn tree or tree ensemble, XGBoost, LightGBM...: what ``TreeExplainer``
        supports.
    X : pandas.DataFrame
        Rows to explain, with the columns the model was fitted on. Keep it small (a few hundred
        rows): the cost grows with rows times leaves.
    output_class : int, default 1
        The class whose probability is explained, for multi-output explanations.

    Returns
    -------
    shap.Explanation
        ``values`` ``(n_rows, n_features)``, ``base_values`` ``(n_rows,)``, ``data`` and
        ``feature_names``: ready for ``shap.plots.beeswarm`` and ``shap.plots.bar``.

    Raises
    ------
    ParameterError
        When ``X`` is not a non-empty DataFrame, the model is not fitted, or ``output_class``
        does not exist.

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> X = pd.DataFrame({"a": [0, 1, 0, 1] * 10, "b": [0, 0, 1, 1] * 10})
    >>> forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, X["a"])
    >>> explanation = tree_shap(forest, X.head(3))
    >>> explanation.values.shape
    (3, 2)
    >>> additivity_gap(explanation, forest.predict_proba(X.head(3))[:, 1]) < 1e-9
    True
    """
    _rows_of("X", X, "tree_shap")
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(model)
    except NotFittedError as error:
        raise ParameterError(
            f"tree_shap: the model must be fitted before it is explained: {error}"
        ) from None
    except TypeError:  # not a scikit-learn estimator: let shap decide
        pass
    with warnings.catch_warnings():  # shap 0.51 calls matplotlib APIs marked for removal
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap  # heavy: imported only when SHAP values are needed

    explanation = shap.TreeExplainer(model)(X)
    if explanation.values.ndim == 3:
        n_outputs = explanation.values.shape[2]
        check_int("output_class", output_class, min=0, max=n_outputs - 1, owner="tree_shap")
        explanation = explanation[:, :, output_class]
    return explanation


def additivity_gap(explanation: Any, predictions: Any) -> float:
    """Largest gap between a prediction and its SHAP decomposition, over all rows.

    SHAP values are *additive*: for every row, the base value (the average prediction) plus the
    row's SHAP values equals the model's output. This returns ``max |base + sum(values) -
    prediction|``; it should be at floating-point precision (about ``1e-12``).

    Parameters
    ----------
    explanation : shap.Explanation
        With ``values`` ``(n_rows, n_features)`` and ``base_values`` ``(n_rows,)`` or a scalar,
        such as :func:`tree_shap` returns.
    predictions : array-like
        The model's output for the same rows, ``(n_rows,)``, on the scale explained (the
        probability of the explained class for a scikit-learn forest).

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        When the shapes do not match.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> fake = SimpleNamespace(values=np.array([[0.1, 0.2], [-0.1, 0.0]]), base_values=0.5)
    >>> round(additivity_gap(fake, [0.8, 0.4]), 12)
    0.0
    """
    owner = "additivity_gap"
    values = np.asarray(explanation.values, dtype=float)
    if values.ndim != 2:
        raise ParameterError(
            f"{owner}: explanation.values must be 2-D (rows, features); got shape "
            f"{values.shape}: select one output class first"
        )
    predictions = check_array("predictions", predictions, ndim=1, dtype=float, owner=owner)
    if predictions.shape != (values.shape[0],):
        raise ParameterError(
            f"{owner}: predictions must have shape ({values.shape[0]},), one per explained "
            f"row; got {predictions.shape}"
        )
    base = np.broadcast_to(np.asarray(explanation.base_values, dtype=float), predictions.shape)
    return float(np.max(np.abs(base + values.sum(axis=1) - predictions)))


def compare_importances(
    model: Any,
    X: pd.DataFrame,
    y: Any,
    *,
    explanation: Any = None,
    scoring: str = "roc_auc",
    n_repeats: int = 5,
    random_state: int = 0,
) -> pd.DataFrame:
    """Impurity, permutation and SHAP importance of every feature, side by side.

    Parameters
    ----------
    model : fitted tree ensemble
        A model with ``feature_importances_`` (scikit-learn forests and boosted trees).
    X, y : pandas.DataFrame, array-like
        *Held-out* rows for permutation importance (the model never saw them).
    explanation : shap.Explanation, optional
        SHAP values of (a sample of) held-out rows, from :func:`tree_shap`. Without it the
        ``mean_abs_shap`` column is NaN.
    scoring : str, default "roc_auc"
        scikit-learn scorer for permutation importance.
    n_repeats : int, default 5
        Shuffles per feature (``>= 1``).
    random_state : int, default 0
        Seed of the shuffles.

    Returns
    -------
    pandas.DataFrame
        One row per column of ``X``, in its order, with columns ``impurity`` (the model's
        ``feature_importances_``, summing to 1), ``permutation`` and ``permutation_std`` (mean
        and standard deviation of the score drop when the column is shuffled) and
        ``mean_abs_shap`` (mean absolute SHAP value, in units of the model's output).

    Raises
    ------
    ParameterError
        When the model has no ``feature_importances_``, the columns do not match, or
        ``n_repeats`` < 1.

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"signal": rng.normal(size=400), "noise": rng.normal(size=400)})
    >>> y = X["signal"] > 0
    >>> forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X[:300], y[:300])
    >>> table = compare_importances(forest, X[300:], y[300:], n_repeats=3)
    >>> table.columns.tolist()
    ['impurity', 'permutation', 'permutation_std', 'mean_abs_shap']
    >>> table["permutation"].idxmax()
    'signal'
    """
    from sklearn.inspection import permutation_importance

    owner = "compare_importances"
    _rows_of("X", X, owner)
    check_int("n_repeats", n_repeats, min=1, owner=owner)
    impurity = getattr(model, "feature_importances_", None)
    if impurity is None:
        raise ParameterError(
            f"{owner}: {type(model).__name__} has no feature_importances_: fit it first, or "
            "use a tree ensemble (random forest, gradient boosting) to compare impurity "
            "importance"
        )
    fitted_names = getattr(model, "feature_names_in_", None)
    if fitted_names is not None and list(fitted_names) != list(X.columns):
        raise ParameterError(
            f"{owner}: X must have the columns the model was fitted on, in the same order: "
            f"expected {list(fitted_names)}, got {list(X.columns)}"
        )
    if len(impurity) != X.shape[1]:
        raise ParameterError(
            f"{owner}: the model has {len(impurity)} features but X has {X.shape[1]} columns"
        )
    permuted = permutation_importance(
        model, X, y, scoring=scoring, n_repeats=n_repeats, random_state=random_state
    )
    shap_mean = np.full(X.shape[1], np.nan)
    if explanation is not None:
        values = np.asarray(explanation.values, dtype=float)
        if values.ndim != 2 or values.shape[1] != X.shape[1]:
            raise ParameterError(
                f"{owner}: explanation.values must have shape (rows, {X.shape[1]}); "
                f"got {values.shape}"
            )
        names = getattr(explanation, "feature_names", None)
        if names is not None and list(names) != list(X.columns):
            raise ParameterError(
                f"{owner}: the explanation's features {list(names)} are not X's columns "
                f"{list(X.columns)}"
            )
        shap_mean = np.abs(values).mean(axis=0)
    return pd.DataFrame(
        {
            "impurity": np.asarray(impurity, dtype=float),
            "permutation": permuted.importances_mean,
            "permutation_std": permuted.importances_std,
            "mean_abs_shap": shap_mean,
        },
        index=pd.Index(X.columns, name="feature"),
    )


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def distribution_shift(
    train: pd.Series, later: pd.Series, *, categorical: bool | None = None, n_bins: int = 10
) -> float:
    """Jensen-Shannon distance between a feature's training and later distributions.

    0 when the two distributions are identical, 1 when they do not overlap at all (base-2
    logarithms). Missing values are left out (coverage measures them). A numeric feature is
    binned at the deciles of its *training* values (``n_bins`` quantile bins of
    :func:`mlsys_kit.stats.quantile_edges`, ``[lo, hi)``, the outer ones open-ended, so later
    values outside the training range fall in the edge bins); a categorical
    one compares category frequencies, values unseen in training included. Finite samples give
    a small positive distance even without any shift (about 0.01 for tens of thousands of rows).

    Parameters
    ----------
    train, later : pandas.Series
        The feature's values in the two periods.
    categorical : bool, optional
        Treat as categorical; by default numeric dtypes (not bool) are numeric.
    n_bins : int, default 10
        Quantile bins for a numeric feature (``>= 2``).

    Returns
    -------
    float
        In ``[0, 1]``.

    Raises
    ------
    ParameterError
        When a period has no non-missing value, or ``n_bins`` < 2.

    Examples
    --------
    >>> a = pd.Series(["x", "y"] * 50)
    >>> distribution_shift(a, a)
    0.0
    >>> distribution_shift(a, pd.Series(["z"] * 10))
    1.0
    """
    owner = "distribution_shift"
    n_bins = check_int("n_bins", n_bins, min=2, owner=owner)
    a, b = train.dropna(), later.dropna()
    for name, part in (("train", a), ("later", b)):
        if len(part) == 0:
            raise ParameterError(
                f"{owner}: {train.name!r} has no non-missing value in the {name} period"
            )
    from scipy.spatial.distance import jensenshannon

    if categorical is None:
        categorical = not _is_numeric(a)
    if categorical:
        values = pd.Index(pd.unique(a)).union(pd.Index(pd.unique(b)))
        p = a.value_counts().reindex(values, fill_value=0).to_numpy(float)
        q = b.value_counts().reindex(values, fill_value=0).to_numpy(float)
    else:
        edges = quantile_edges(a.to_numpy(float), n_bins)
        size = len(edges) + 1
        p = np.bincount(quantile_bins(a.to_numpy(float), edges), minlength=size).astype(float)
        q = np.bincount(quantile_bins(b.to_numpy(float), edges), minlength=size).astype(float)
    distance = jensenshannon(p, q, base=2)
    return float(np.clip(distance, 0.0, 1.0)) if np.isfinite(distance) else 0.0


def generalization_report(
    train: pd.DataFrame,
    later: pd.DataFrame,
    features: Sequence[str] | None = None,
    *,
    categorical: Sequence[str] = (),
    n_bins: int = 10,
) -> pd.DataFrame:
    """How well each feature generalizes from the training period to a later one.

    The book's two questions about a feature's generalization: its **coverage** (the share of
    rows that have a value), in training and later, and whether its **distribution** in later
    data still looks like the one the model learned from.

    Parameters
    ----------
    train, later : pandas.DataFrame
        The training data and later data (a later period, the serving traffic).
    features : sequence of str, optional
        Columns to report, by default every column of ``train``.
    categorical : sequence of str, default ()
        Columns to treat as categorical even though their dtype is numeric (IDs, codes).
        Text, category and bool columns are always categorical.
    n_bins : int, default 10
        Quantile bins of numeric features for the shift (see :func:`distribution_shift`).

    Returns
    -------
    pandas.DataFrame
        One row per feature: ``kind`` ("numeric" or "categorical"), ``coverage_train`` and
        ``coverage_later`` (share of non-missing values), ``seen_in_train`` (share of the later
        non-missing values that also occur in training, for a categorical feature, or lie
        within the training range, for a numeric one) and ``shift`` (Jensen-Shannon distance,
        0 = same distribution, 1 = no overlap).

    Raises
    ------
    ParameterError
        When an input is not a non-empty DataFrame, a feature is missing from one of them, or a
        ``categorical`` name is not among the features.

    Examples
    --------
    >>> train = pd.DataFrame({"user": [1, 2, 3, 3], "amount": [5.0, 7.0, 9.0, 11.0]})
    >>> later = pd.DataFrame({"user": [3, 4, 5, 6], "amount": [6.0, 8.0, 10.0, 30.0]})
    >>> generalization_report(train, later, categorical=["user"])["seen_in_train"].tolist()
    [0.25, 0.75]
    """
    owner = "generalization_report"
    _rows_of("train", train, owner)
    _rows_of("later", later, owner)
    names = list(train.columns if features is None else features)
    if not names:
        raise ParameterError(f"{owner}: features is empty: name at least one column")
    for frame_name, frame in (("train", train), ("later", later)):
        missing = [name for name in names if name not in frame.columns]
        if missing:
            raise ParameterError(f"{owner}: {frame_name} has no column(s) {missing}")
    for name in categorical:
        check_choice("categorical name", name, names, owner=owner)
    rows = {}
    for name in names:
        a, b = train[name], later[name]
        is_categorical = name in categorical or not _is_numeric(a)
        present = b.dropna()
        if len(present) == 0 or a.notna().sum() == 0:
            seen, shift = np.nan, np.nan
        else:
            if is_categorical:
                seen = float(present.isin(pd.unique(a.dropna())).mean())
            else:
                seen = float(present.between(a.min(), a.max()).mean())
            shift = distribution_shift(a, b, categorical=is_categorical, n_bins=n_bins)
        rows[name] = {
            "kind": "categorical" if is_categorical else "numeric",
            "coverage_train": float(a.notna().mean()),
            "coverage_later": float(b.notna().mean()),
            "seen_in_train": seen,
            "shift": shift,
        }
    report = pd.DataFrame.from_dict(rows, orient="index", columns=REPORT_COLUMNS)
    report.index.name = "feature"
    return report
