"""Framing ML problems: the app-recommendation example, simulated with a known ground truth.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 2,
"Framing ML Problems": the same business question, *which app will this user download
next?*, can be framed in two ways, and the framing decides what the model can do later.

* **Framing A, multiclass classification**: user features in, one output per app known at
  training time. The output layer is the app catalogue; an app launched later has no output,
  so the model cannot score it until it is retrained on data that includes the new app.
* **Framing B, scoring (user, app) pairs**: user features *and* app features in, one score
  out ("will this user install this app?"); to recommend, score every app and rank. A new
  app is just a new feature vector, so the model can score it the day it launches.

This module holds the machinery of notebook ``02-ml-systems-design/01-framing``: a seeded
app store whose install behaviour is known (:func:`simulate_app_installs`), the (user, app)
feature crosses framing B learns from (:func:`pair_features`), negative sampling for its
binary labels (:func:`sample_negatives`), and top-k evaluation (:func:`top_k`,
:func:`hits_at_k`, :func:`hit_rate_at_k`). Fitting and comparing the two framings is the
lesson, so it stays in the notebook.

Why :func:`top_k` and :func:`hit_rate_at_k` are hand-written: scikit-learn's
:func:`~sklearn.metrics.top_k_accuracy_score` computes the same hit rate (the unit tests
check that it agrees), but it cannot leave an app out of a ranking (framing A has no score
for a new app: ``NaN`` here) and it returns only the mean, not which requests were hits or
which apps were recommended.

Generative story of :func:`simulate_app_installs`:

1. **Users** have observable features: an interest in each app category, a 3-dimensional
   taste vector and a price sensitivity.
2. **Apps** have observable features: a category, a price, a review score (1 to 5 stars, from
   the store's review at launch) and a 3-dimensional style vector; plus a *hidden appeal* that
   no feature captures (buzz, brand, luck). ``n_apps`` apps exist from week 0;
   ``n_new_apps`` more launch one wave per week from ``first_launch_week`` on.
3. **Utility** of app ``j`` for user ``u``::

       utility = interest[u, category_j] + taste_u · style_j
                 - price_sensitivity_u * log(1 + price_j) + 1.5 * (review_score_j - 4)
                 + hidden_appeal_j

4. **Installs**: every week each user makes ``installs_per_user`` downloads on average; a
   download picks one of the apps launched by then with probability proportional to
   ``exp(utility)`` (a multinomial logit choice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_float,
    check_int,
    check_same_length,
    check_type,
    make_rng,
)

__all__ = [
    "CATEGORIES",
    "PRICES",
    "STYLE_DIMS",
    "AppStore",
    "simulate_app_installs",
    "pair_features",
    "sample_negatives",
    "top_k",
    "hits_at_k",
    "hit_rate_at_k",
]

#: App categories; each user has an interest in each.
CATEGORIES: tuple[str, ...] = ("games", "social", "photo", "music", "fitness", "finance")
#: Prices of paid apps (65% of apps are free).
PRICES: tuple[float, ...] = (0.99, 2.99, 4.99, 9.99)
#: Dimensions of the users' taste and the apps' style vectors.
STYLE_DIMS = 3

_SHARE_FREE = 0.65
_REVIEW_WEIGHT = 1.5


@dataclass(frozen=True)
class AppStore:
    """A simulated app store: users, apps, a log of installs, and the ground truth.

    Attributes
    ----------
    users : pandas.DataFrame
        One row per user, indexed by ``user_id`` (0, 1, ...): ``interest_<category>`` for
        each of :data:`CATEGORIES`, ``taste_1`` ... ``taste_3``, ``price_sensitivity``.
    apps : pandas.DataFrame
        One row per app, indexed by ``app_id`` (0, 1, ...): ``category``, ``price``,
        ``review_score``, ``style_1`` ... ``style_3``, ``launch_week`` (0 for the apps that
        exist from the start) and ``is_new`` (launched at or after ``first_launch_week``).
    installs : pandas.DataFrame
        The event log, sorted by ``week``: ``week``, ``user_id``, ``app_id``.
    utility : numpy.ndarray
        Ground truth the models never see: the utility of every app for every user, shape
        ``(n_users, n_apps_total)``. Within a week, a download picks app ``j`` with
        probability proportional to ``exp(utility[u, j])`` among the apps launched by then.
    hidden_appeal : numpy.ndarray
        Ground truth: each app's appeal that no observable feature captures.
    first_launch_week : int
        The week the first new app launches.
    n_weeks : int
        Weeks simulated (0 to ``n_weeks - 1``).
    """

    users: pd.DataFrame
    apps: pd.DataFrame
    installs: pd.DataFrame
    utility: np.ndarray
    hidden_appeal: np.ndarray
    first_launch_week: int
    n_weeks: int

    @property
    def user_features(self) -> list[str]:
        """Names of the users' feature columns (the input of framing A)."""
        return list(self.users.columns)

    def available(self, week: int) -> np.ndarray:
        """Boolean mask over ``app_id``: the apps launched at or before ``week``.

        Examples
        --------
        >>> store = simulate_app_installs(n_users=50, n_apps=5, n_new_apps=2, seed=0)
        >>> store.available(0).tolist()
        [True, True, True, True, True, False, False]
        """
        return (self.apps["launch_week"] <= week).to_numpy()


def simulate_app_installs(
    n_users: int = 2_000,
    n_apps: int = 40,
    n_new_apps: int = 16,
    *,
    n_weeks: int = 8,
    first_launch_week: int = 4,
    installs_per_user: float = 1.0,
    hidden_appeal: float = 0.5,
    seed: Seed = 0,
) -> AppStore:
    """Simulate an app store in which new apps launch while users keep downloading.

    See the module docstring for the generative story.

    Parameters
    ----------
    n_users : int, default 2000
        Users (≥ 10).
    n_apps : int, default 40
        Apps that exist from week 0 (≥ 2).
    n_new_apps : int, default 16
        Apps launched later (≥ 0), spread as evenly as possible over the weeks
        ``first_launch_week`` to ``n_weeks - 1``, one wave per week.
    n_weeks : int, default 8
        Weeks to simulate; must exceed ``first_launch_week``.
    first_launch_week : int, default 4
        Week of the first launch (≥ 1): the weeks before it are the history a model can be
        trained on while the catalogue is still fixed.
    installs_per_user : float, default 1.0
        Mean downloads per user and week (> 0); each week has
        ``round(n_users * installs_per_user)`` downloads by uniformly drawn users.
    hidden_appeal : float, default 0.5
        Standard deviation of the part of each app's appeal that no feature captures (≥ 0).
        At 0, the app features explain installs completely; the larger, the more a model
        must learn about each app from its own installs.
    seed : int or numpy.random.Generator, default 0
        Seed of the random generator; the same arguments give the same store.

    Returns
    -------
    AppStore

    Raises
    ------
    mlsys_kit.params.ParameterError
        When an argument is out of range; the message names it.

    Examples
    --------
    >>> store = simulate_app_installs(n_users=200, n_apps=10, n_new_apps=4, seed=1)
    >>> store.users.shape, store.apps.shape, store.installs.shape
    ((200, 10), (14, 8), (1600, 3))
    >>> store.apps.groupby("launch_week").size().to_dict()
    {0: 10, 4: 1, 5: 1, 6: 1, 7: 1}
    >>> bool((store.apps.loc[store.installs["app_id"], "launch_week"].to_numpy()
    ...       <= store.installs["week"].to_numpy()).all())  # nobody installs an unlaunched app
    True
    """
    owner = "simulate_app_installs"
    n_users = check_int("n_users", n_users, min=10, owner=owner)
    n_apps = check_int("n_apps", n_apps, min=2, owner=owner)
    n_new_apps = check_int("n_new_apps", n_new_apps, min=0, owner=owner)
    first_launch_week = check_int("first_launch_week", first_launch_week, min=1, owner=owner)
    n_weeks = check_int("n_weeks", n_weeks, min=first_launch_week + 1, owner=owner)
    installs_per_user = check_float(
        "installs_per_user", installs_per_user, min=0, open_min=True, owner=owner
    )
    hidden_appeal = check_float("hidden_appeal", hidden_appeal, min=0, owner=owner)
    rng = make_rng(seed, owner=owner)
    n_total = n_apps + n_new_apps
    n_cat = len(CATEGORIES)

    # 1. Users.
    interest = rng.normal(0.0, 1.0, (n_users, n_cat))
    taste = rng.normal(0.0, 1.0, (n_users, STYLE_DIMS))
    price_sensitivity = rng.lognormal(0.0, 0.5, n_users)
    users = pd.DataFrame(
        np.column_stack([interest, taste, price_sensitivity]),
        columns=[f"interest_{c}" for c in CATEGORIES]
        + [f"taste_{i + 1}" for i in range(STYLE_DIMS)]
        + ["price_sensitivity"],
    ).rename_axis("user_id")

    # 2. Apps: the ones from week 0, then the launches, one wave per week.
    category = rng.integers(0, n_cat, n_total)
    price = np.where(rng.random(n_total) < _SHARE_FREE, 0.0, rng.choice(PRICES, n_total))
    review_score = np.clip(rng.normal(4.0, 0.4, n_total), 1.0, 5.0).round(1)
    style = rng.normal(0.0, 0.7, (n_total, STYLE_DIMS))
    # Drawn whatever hidden_appeal is, so that stores differing only in it share everything else.
    hidden = hidden_appeal * rng.standard_normal(n_total)
    wave = np.arange(n_new_apps) * (n_weeks - first_launch_week) // max(n_new_apps, 1)
    launch_week = np.concatenate([np.zeros(n_apps, dtype=np.int64), first_launch_week + wave])
    apps = pd.DataFrame(
        {
            "category": pd.Series(np.asarray(CATEGORIES)[category], dtype="str"),
            "price": price,
            "review_score": review_score,
            **{f"style_{i + 1}": style[:, i] for i in range(STYLE_DIMS)},
            "launch_week": launch_week,
            "is_new": launch_week >= first_launch_week,
        }
    ).rename_axis("app_id")

    # 3. Utility of every app for every user (the ground truth).
    utility = (
        interest[:, category]
        + taste @ style.T
        - price_sensitivity[:, None] * np.log1p(price)[None, :]
        + _REVIEW_WEIGHT * (review_score - 4.0)[None, :]
        + hidden[None, :]
    )

    # 4. Installs: a multinomial logit choice among the apps launched so far.
    per_week = max(1, round(n_users * installs_per_user))
    weeks, user_ids, app_ids = [], [], []
    for week in range(n_weeks):
        launched = launch_week <= week
        who = rng.integers(0, n_users, per_week)
        logits = np.where(launched[None, :], utility[who], -np.inf)
        prob = np.exp(logits - logits.max(axis=1, keepdims=True))
        cdf = np.cumsum(prob, axis=1)
        draw = rng.random(per_week)[:, None] * cdf[:, -1:]
        chosen = np.minimum((cdf < draw).sum(axis=1), n_total - 1)
        weeks.append(np.full(per_week, week))
        user_ids.append(who)
        app_ids.append(chosen)
    installs = pd.DataFrame(
        {
            "week": np.concatenate(weeks),
            "user_id": np.concatenate(user_ids),
            "app_id": np.concatenate(app_ids),
        }
    )
    return AppStore(
        users=users,
        apps=apps,
        installs=installs,
        utility=utility,
        hidden_appeal=hidden,
        first_launch_week=first_launch_week,
        n_weeks=n_weeks,
    )


def pair_features(users: pd.DataFrame, apps: pd.DataFrame) -> pd.DataFrame:
    """Features of (user, app) pairs: user attributes crossed with the app attributes they concern.

    Framing B's input. Row ``i`` describes the pair (``users`` row ``i``, ``apps`` row
    ``i``); the rows are matched by position, not by index. The columns are:

    * ``interest×<category>``: the user's interest in that category if the app belongs to it,
      else 0 (one column per category, so the model may weigh categories differently);
    * ``taste×style_<i>``: the user's taste times the app's style, per dimension;
    * ``price_sensitivity×log_price``: how much this user minds this app's price;
    * ``review_score`` and ``log_price``: app features that matter to every user.

    Parameters
    ----------
    users : pandas.DataFrame
        Rows of :attr:`AppStore.users` (e.g. ``store.users.loc[user_ids]``).
    apps : pandas.DataFrame
        Rows of :attr:`AppStore.apps`, as many as ``users``.

    Returns
    -------
    pandas.DataFrame
        One row per pair, with a fresh ``RangeIndex``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``users`` and ``apps`` differ in length or lack a column.

    Examples
    --------
    >>> store = simulate_app_installs(n_users=20, n_apps=3, n_new_apps=0, seed=0)
    >>> X = pair_features(store.users.loc[[0, 0, 1]], store.apps.loc[[0, 1, 2]])
    >>> X.shape
    (3, 12)
    >>> list(X.columns[-3:])
    ['price_sensitivity×log_price', 'review_score', 'log_price']
    """
    owner = "pair_features"
    check_type("users", users, pd.DataFrame, owner=owner)
    check_type("apps", apps, pd.DataFrame, owner=owner)
    check_same_length(users=users, apps=apps, owner=owner)
    user_cols = [f"interest_{c}" for c in CATEGORIES] + [
        f"taste_{i + 1}" for i in range(STYLE_DIMS)
    ]
    _missing_columns("users", users, [*user_cols, "price_sensitivity"], owner)
    app_cols = ["category", "price", "review_score"] + [f"style_{i + 1}" for i in range(STYLE_DIMS)]
    _missing_columns("apps", apps, app_cols, owner)
    category = apps["category"].to_numpy()
    log_price = np.log1p(apps["price"].to_numpy(dtype=float))
    columns: dict[str, np.ndarray] = {}
    for c in CATEGORIES:
        columns[f"interest×{c}"] = users[f"interest_{c}"].to_numpy() * (category == c)
    for i in range(1, STYLE_DIMS + 1):
        columns[f"taste×style_{i}"] = users[f"taste_{i}"].to_numpy() * apps[f"style_{i}"].to_numpy()
    columns["price_sensitivity×log_price"] = users["price_sensitivity"].to_numpy() * log_price
    columns["review_score"] = apps["review_score"].to_numpy(dtype=float)
    columns["log_price"] = log_price
    return pd.DataFrame(columns)


def _missing_columns(name: str, frame: object, columns: list[str], owner: str) -> None:
    """Raise ParameterError if ``frame`` is not a DataFrame with every one of ``columns``."""
    check_type(name, frame, pd.DataFrame, owner=owner)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(f"{owner}: {name} lacks the columns {missing}")


def sample_negatives(
    installs: pd.DataFrame, apps: pd.DataFrame, n_negatives: int = 4, seed: Seed = 0
) -> pd.DataFrame:
    """Binary training pairs for framing B: each install, plus apps the user did not pick.

    Every install becomes a positive pair (``installed = 1``); for each, ``n_negatives``
    apps are drawn uniformly, with replacement, among the other apps launched by the
    install's week, as negative pairs (``installed = 0``). With uniform negatives, a logistic
    model's score for a pair estimates the app's utility for the user up to a per-user
    constant, which does not change the ranking of apps for that user.

    Parameters
    ----------
    installs : pandas.DataFrame
        Rows of :attr:`AppStore.installs` (columns ``week``, ``user_id``, ``app_id``).
    apps : pandas.DataFrame
        :attr:`AppStore.apps` (its ``launch_week`` column says what was available).
    n_negatives : int, default 4
        Negative pairs per install (≥ 1).
    seed : int or numpy.random.Generator, default 0
        Seed of the draw.

    Returns
    -------
    pandas.DataFrame
        Columns ``week``, ``user_id``, ``app_id``, ``installed``: the positives first, in the
        order of ``installs``, then the negatives.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``n_negatives`` < 1, a column is missing, or fewer than two apps are available
        in some install's week.

    Examples
    --------
    >>> store = simulate_app_installs(n_users=50, n_apps=5, n_new_apps=0, n_weeks=2,
    ...                               first_launch_week=1, seed=0)
    >>> pairs = sample_negatives(store.installs, store.apps, n_negatives=3, seed=0)
    >>> len(pairs) == 4 * len(store.installs), float(pairs["installed"].mean())
    (True, 0.25)
    """
    owner = "sample_negatives"
    n_negatives = check_int("n_negatives", n_negatives, min=1, owner=owner)
    _missing_columns("installs", installs, ["week", "user_id", "app_id"], owner)
    _missing_columns("apps", apps, ["launch_week"], owner)
    rng = make_rng(seed, owner=owner)
    week = np.repeat(installs["week"].to_numpy(), n_negatives)
    user = np.repeat(installs["user_id"].to_numpy(), n_negatives)
    positive = np.repeat(installs["app_id"].to_numpy(), n_negatives)
    negative = np.empty_like(positive)
    launch_week = apps["launch_week"].to_numpy()
    for w in np.unique(week):
        rows = np.flatnonzero(week == w)
        pool = np.flatnonzero(launch_week <= w)
        if len(pool) < 2:
            raise ParameterError(f"{owner}: apps: fewer than two apps are available in week {w}")
        # Draw among the pool minus the installed app: shift draws at or past it by one.
        position = np.searchsorted(pool, positive[rows])
        draw = rng.integers(0, len(pool) - 1, len(rows))
        negative[rows] = pool[draw + (draw >= position)]
    pairs = pd.concat(
        [
            installs[["week", "user_id", "app_id"]].assign(installed=1),
            pd.DataFrame({"week": week, "user_id": user, "app_id": negative, "installed": 0}),
        ],
        ignore_index=True,
    )
    return pairs


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best-scored columns (apps) of each row (request), best first.

    A ``NaN`` score means *cannot be recommended* (the model has no output for that app, or
    the app is not a candidate); such apps are never returned. Ties keep the lower index.

    Parameters
    ----------
    scores : numpy.ndarray
        Shape ``(n_requests, n_apps)``; higher is better.
    k : int
        How many apps to recommend (≥ 1).

    Returns
    -------
    numpy.ndarray
        Integer array of shape ``(n_requests, k)`` of app indices; ``-1`` pads rows with
        fewer than ``k`` scorable apps.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``scores`` is not 2-dimensional or ``k`` < 1.

    Examples
    --------
    >>> top_k(np.array([[0.1, 0.9, np.nan, 0.5], [np.nan, np.nan, 0.3, np.nan]]), k=2)
    array([[ 1,  3],
           [ 2, -1]])
    """
    k = check_int("k", k, min=1, owner="top_k")
    scores = check_array("scores", scores, ndim=2, dtype=float, owner="top_k")
    unscored = np.isnan(scores)
    order = np.argsort(np.where(unscored, np.inf, -scores), axis=1, kind="stable")[:, :k]
    best = order.astype(np.int64)
    best[np.take_along_axis(unscored, order, axis=1)] = -1
    if best.shape[1] < k:
        best = np.pad(best, ((0, 0), (0, k - best.shape[1])), constant_values=-1)
    return best


def hits_at_k(scores: np.ndarray, true_apps: np.ndarray, k: int) -> np.ndarray:
    """Whether each request's actual download is among its ``k`` best-scored apps.

    Parameters
    ----------
    scores : numpy.ndarray
        Shape ``(n_requests, n_apps)``; ``NaN`` means *cannot be recommended* (see
        :func:`top_k`).
    true_apps : numpy.ndarray
        The app each request's user actually downloaded, shape ``(n_requests,)``.
    k : int
        Length of the recommendation list (≥ 1).

    Returns
    -------
    numpy.ndarray
        Boolean, shape ``(n_requests,)``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When the shapes do not match, ``k`` < 1, or an app index is out of range.

    Examples
    --------
    >>> scores = np.array([[0.1, 0.9, np.nan], [0.2, 0.1, 0.7]])
    >>> hits_at_k(scores, np.array([0, 2]), k=1)
    array([False,  True])
    >>> hits_at_k(scores, np.array([2, 0]), k=2)  # app 2 has no score in row 0
    array([False,  True])
    """
    best = top_k(scores, k)
    true_apps = np.asarray(true_apps)
    if true_apps.shape != (best.shape[0],):
        raise ParameterError(
            f"hits_at_k: true_apps must have one entry per row of scores ({best.shape[0]}); "
            f"got shape {true_apps.shape}"
        )
    n_apps = np.asarray(scores).shape[1]
    if len(true_apps) and (true_apps.min() < 0 or true_apps.max() >= n_apps):
        raise ParameterError(
            f"hits_at_k: true_apps must be app indices in [0, {n_apps}); got out-of-range values"
        )
    return (best == true_apps[:, None]).any(axis=1)


def hit_rate_at_k(scores: np.ndarray, true_apps: np.ndarray, k: int) -> float:
    """Share of requests whose actual download is among the ``k`` best-scored apps.

    The mean of :func:`hits_at_k`; a random ranking of ``m`` candidates scores ``k / m``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        As :func:`hits_at_k`, and when there are no requests.

    Examples
    --------
    >>> hit_rate_at_k(np.array([[0.1, 0.9, 0.5], [0.2, 0.1, 0.7]]), np.array([2, 0]), k=2)
    1.0
    """
    hits = hits_at_k(scores, true_apps, k)
    if hits.size == 0:
        raise ParameterError("hit_rate_at_k: scores has no rows: a hit rate needs a request")
    return float(hits.mean())
