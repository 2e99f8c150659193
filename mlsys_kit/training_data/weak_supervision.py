"""Weak supervision: labeling functions, their label matrix, majority vote and a label model.

Serves Chapter 4, "Handling the Lack of Labels", section "Weak supervision" (Chip Huyen,
*Designing Machine Learning Systems*, 2022). Instead of labelling rows one by one, a subject
matter expert writes **labeling functions** (LFs): small heuristics ("a capital gain above
$5,000 means a high income") that each vote a label or **abstain**. Applied to every row,
they give a *label matrix*; a **label model** combines the noisy, overlapping, conflicting
votes into one label per row, and an ordinary model (the *end model*) is trained on those.

=============================  ================================================================
:func:`apply_lfs`              run plain Python LFs over a DataFrame into a label matrix
                               (``ABSTAIN`` = -1); an LF that returns anything but ``ABSTAIN``
                               or a known class stops with an error naming the LF and the row
:func:`lf_summary`             coverage, overlap and conflict of each LF (and its accuracy when
                               the true labels are known), as Snorkel's ``LFAnalysis`` reports
:func:`lf_majority_vote`       the simplest label model: the most frequent vote, ties abstain
:class:`DawidSkene`            a probabilistic label model: each LF's confusion matrix and the
                               class prior, learned from the votes alone by EM
=============================  ================================================================

Why the label model is hand-written, and which libraries were ruled out:

- **Snorkel** (``snorkel``, the reference library of the book's section): its last release,
  0.10.0, dates from February 2024, before NumPy 2 and pandas 3, and it requires PyTorch and
  TensorBoard (``torch``, ``tensorboard`` in its requirements) for its ``LabelModel``; it is
  not part of this project's stack, and a deep-learning framework for a small EM would
  dwarf the kit.
- **crowd-kit** (``crowd-kit`` 1.4.2, Toloka's crowdsourcing aggregators, which has a
  ``DawidSkene``): it requires ``transformers`` (and ``nltk``, ``pyarrow``) even for its
  classical aggregators, and it works on (task, worker, label) rows, where an abstain can
  only be a *missing* row: its confusion matrices are ``K × K``, so an abstain carries no
  information. Here, as in Snorkel's label model, abstaining is an observed response.

The Dawid–Skene model (Dawid & Skene, 1979, the classic model of several noisy annotators)
fits in forty lines of NumPy and SciPy (:func:`scipy.special.logsumexp` for the evidence,
:func:`scipy.special.softmax` for the posterior) and is the lesson: a label model learns *how
much to trust each labeling function* without any ground truth, from the way the functions
agree and disagree. It treats *abstaining* as an observed response whose rate may depend on
the class: a function that only ever votes "high income" says something when it stays
silent too.

:func:`lf_majority_vote` is the plurality vote of the label matrix (the mode of each row's
votes, as :func:`scipy.stats.mode` would give ignoring abstains); unlike
:func:`mlsys_kit.training_data.labeling.majority_vote`, which must label every hand-labelled
item and breaks ties at random, it **abstains on a tie**, as Snorkel's
``MajorityLabelVoter`` does by default: a weak label that is a coin flip is better dropped.

Examples
--------
>>> import pandas as pd
>>> data = pd.DataFrame({"amount": [5, 900, 40, 1200], "new_device": [0, 1, 1, 0]})
>>> def large_amount(row):
...     return 1 if row.amount > 500 else ABSTAIN
>>> def known_device(row):
...     return 0 if row.new_device == 0 else ABSTAIN
>>> L = apply_lfs([large_amount, known_device], data, n_classes=2)
>>> L.tolist()
[[-1, 0], [1, -1], [-1, -1], [1, 0]]
>>> lf_majority_vote(L, n_classes=2).tolist()
[0, 1, -1, -1]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp, softmax
from sklearn.exceptions import NotFittedError

from mlsys_kit.params import ParameterError, check_array, check_float, check_int, check_type

__all__ = [
    "ABSTAIN",
    "LabelingFunctionError",
    "apply_lfs",
    "lf_summary",
    "coverage",
    "lf_majority_vote",
    "DawidSkene",
]

#: The vote of a labeling function that has no opinion on a row.
ABSTAIN = -1


class LabelingFunctionError(ParameterError):
    """A labeling function returned something that is neither ``ABSTAIN`` nor a known class.

    A :class:`~mlsys_kit.params.ParameterError` (hence a ``ValueError``): the function given
    in ``lfs`` does not do what a labeling function must.
    """


def _allowed(n_classes: int) -> str:
    return f"ABSTAIN ({ABSTAIN}) or a class in 0..{n_classes - 1}"


def _lf_name(lf: Callable[..., Any]) -> str:
    return getattr(lf, "__name__", repr(lf))


def apply_lfs(
    lfs: Sequence[Callable[[Any], int]], data: pd.DataFrame, *, n_classes: int
) -> np.ndarray:
    """Apply labeling functions to every row: the label matrix, one column per function.

    Parameters
    ----------
    lfs : sequence of callables
        Plain Python functions of one row. The row is a named tuple of the DataFrame's
        columns (``row.age``), as :meth:`pandas.DataFrame.itertuples` gives it. Each returns
        ``ABSTAIN`` or a class ``0 .. n_classes - 1``.
    data : pandas.DataFrame
        The unlabelled rows.
    n_classes : int
        Number of classes (≥ 2).

    Returns
    -------
    numpy.ndarray of int64, shape (n_rows, n_lfs)
        ``L[i, j]`` is the vote of function ``j`` on row ``i``.

    Raises
    ------
    LabelingFunctionError
        When a function returns anything else (``None``, a bool, an unknown class, a
        string): the message names the function, the row and the allowed values.
    ParameterError
        When ``lfs`` is empty, holds a non-callable or two functions with one name, or
        ``data`` is not a DataFrame.

    Examples
    --------
    >>> data = pd.DataFrame({"hours": [20, 45, 60]})
    >>> def part_time(row):
    ...     return 0 if row.hours < 30 else ABSTAIN
    >>> apply_lfs([part_time], data, n_classes=2).ravel().tolist()
    [0, -1, -1]
    """
    owner = "apply_lfs"
    n_classes = check_int("n_classes", n_classes, min=2, owner=owner)
    check_type("data", data, pd.DataFrame, owner=owner)
    lfs = list(lfs)
    if not lfs:
        raise ParameterError(f"{owner}: lfs is empty: pass at least one labeling function")
    for lf in lfs:
        if not callable(lf):
            raise ParameterError(f"{owner}: every labeling function must be callable; got {lf!r}")
    names = [_lf_name(lf) for lf in lfs]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ParameterError(
            f"{owner}: labeling functions need distinct names; repeated: {duplicated}"
        )

    rows = list(data.itertuples(index=False))
    L = np.empty((len(rows), len(lfs)), dtype=np.int64)
    for j, lf in enumerate(lfs):
        votes = [lf(row) for row in rows]
        for i, vote in enumerate(votes):
            if vote.__class__ is int and ABSTAIN <= vote < n_classes:
                continue  # the fast path: a plain int in range
            if (
                isinstance(vote, (bool, np.bool_))
                or not isinstance(vote, Integral)
                or not ABSTAIN <= int(vote) < n_classes
            ):
                hint = " (did it forget to return ABSTAIN?)" if vote is None else ""
                raise LabelingFunctionError(
                    f"labeling function {names[j]!r} returned {vote!r} for row {i} "
                    f"(index {data.index[i]}){hint}: allowed {_allowed(n_classes)}"
                )
        L[:, j] = np.asarray(votes, dtype=np.int64)
    return L


def _label_matrix(L: object, owner: str, n_classes: int | None = None) -> np.ndarray:
    """``L`` as an int64 label matrix, refusing any cell that is not a vote."""
    array = check_array("L", L, ndim=2, owner=owner)
    if array.shape[1] == 0:
        raise ParameterError(
            f"{owner}: L must be a 2-D label matrix (rows × labeling functions); got {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise ParameterError(f"{owner}: L must hold integer votes; got dtype {array.dtype}")
    low = ABSTAIN
    high = None if n_classes is None else n_classes - 1
    bad = (array < low) | (array > high) if high is not None else array < low
    if bad.any():
        i, j = np.argwhere(bad)[0]
        allowed = _allowed(n_classes) if n_classes is not None else f"ABSTAIN ({ABSTAIN}) or ≥ 0"
        raise ParameterError(
            f"{owner}: L[{i}, {j}] = {array[i, j]} is not a vote: allowed {allowed}"
        )
    return array.astype(np.int64, copy=False)


def coverage(L: np.ndarray) -> float:
    """Share of rows on which at least one labeling function votes.

    Examples
    --------
    >>> coverage(np.array([[0, -1], [-1, -1], [1, 1], [-1, 0]]))
    0.75
    """
    L = _label_matrix(L, "coverage")
    return float((L != ABSTAIN).any(axis=1).mean())


def lf_summary(
    L: np.ndarray, names: Sequence[str] | None = None, y: Sequence[int] | None = None
) -> pd.DataFrame:
    """Coverage, overlap and conflict of each labeling function (and accuracy, given labels).

    Parameters
    ----------
    L : array of int, shape (n_rows, n_lfs)
        The label matrix of :func:`apply_lfs`.
    names : sequence of str, optional
        One name per column (default ``lf_0``, ``lf_1``...).
    y : sequence of int, optional
        True labels of the rows, when a small labelled sample exists to check the functions.

    Returns
    -------
    pandas.DataFrame
        One row per function: ``votes`` (the labels it ever votes), ``coverage`` (share of
        rows it votes on), ``overlap`` (share of rows it votes on and another function votes
        too), ``conflict`` (share of rows it votes on and another function votes a different
        label) and, given ``y``, ``accuracy`` (share of its votes that are correct).

    Examples
    --------
    >>> L = np.array([[0, 0], [1, 0], [1, -1], [-1, -1]])
    >>> lf_summary(L, ["a", "b"], y=[0, 1, 1, 0])
      votes  coverage  overlap  conflict  accuracy
    a  0, 1      0.75      0.5      0.25       1.0
    b     0      0.50      0.5      0.25       0.5
    """
    owner = "lf_summary"
    L = _label_matrix(L, owner)
    n_rows, n_lfs = L.shape
    if names is None:
        names = [f"lf_{j}" for j in range(n_lfs)]
    names = list(names)
    if len(names) != n_lfs:
        raise ParameterError(
            f"{owner}: names has {len(names)} entries for {n_lfs} labeling functions"
        )
    voted = L != ABSTAIN
    table = pd.DataFrame(index=pd.Index(names, name=None))
    table["votes"] = [
        ", ".join(str(v) for v in np.unique(L[voted[:, j], j])) or "—" for j in range(n_lfs)
    ]
    table["coverage"] = voted.mean(axis=0)
    others_vote = voted.sum(axis=1, keepdims=True) - voted > 0
    table["overlap"] = (voted & others_vote).mean(axis=0)
    conflict = np.zeros(n_lfs)
    for j in range(n_lfs):
        disagree = voted & (L[:, [j]] != L)
        disagree[:, j] = False
        conflict[j] = (voted[:, j] & disagree.any(axis=1)).mean()
    table["conflict"] = conflict
    if y is not None:
        y = np.asarray(y)
        if y.shape != (n_rows,):
            raise ParameterError(
                f"{owner}: y must hold one label per row of L ({n_rows}); got shape {y.shape}"
            )
        correct = (y[:, None] == L) & voted
        with np.errstate(invalid="ignore", divide="ignore"):
            table["accuracy"] = correct.sum(axis=0) / voted.sum(axis=0)
    return table


def lf_majority_vote(L: np.ndarray, *, n_classes: int) -> np.ndarray:
    """The label most functions vote for; ``ABSTAIN`` when none votes or on a tie.

    The plurality vote of each row of the label matrix, abstains ignored. **Ties abstain**
    (Snorkel's ``MajorityLabelVoter`` default): a row whose top classes have as many votes
    gets no weak label. Hand labels have their own vote,
    :func:`mlsys_kit.training_data.labeling.majority_vote`, which must label every item and
    breaks ties at random instead.

    Parameters
    ----------
    L : array of int, shape (n_rows, n_lfs)
        The label matrix.
    n_classes : int
        Number of classes.

    Returns
    -------
    numpy.ndarray of int64, shape (n_rows,)

    Examples
    --------
    >>> L = np.array([[0, 0, 1], [1, -1, 0], [-1, -1, -1]])
    >>> lf_majority_vote(L, n_classes=2).tolist()
    [0, -1, -1]
    """
    n_classes = check_int("n_classes", n_classes, min=2, owner="lf_majority_vote")
    L = _label_matrix(L, "lf_majority_vote", n_classes)
    counts = _vote_counts(L, n_classes)
    top = counts.max(axis=1)
    winner = counts.argmax(axis=1)
    tied = (counts == top[:, None]).sum(axis=1) > 1
    return np.where((top == 0) | tied, ABSTAIN, winner).astype(np.int64)


def _vote_counts(L: np.ndarray, n_classes: int) -> np.ndarray:
    return np.stack([(k == L).sum(axis=1) for k in range(n_classes)], axis=1)


class DawidSkene:
    """A probabilistic label model: Dawid–Skene EM over the labeling functions' votes.

    Each labeling function ``j`` is modelled by a confusion matrix
    ``P(vote of j = r | true class = k)`` over the responses ``r`` in ``{ABSTAIN, 0, ...,
    n_classes - 1}``, the functions being independent given the class. EM alternates the
    posterior of each row's class given its votes (E step) and the confusion matrices and
    class prior given those posteriors (M step), starting from majority vote. No true label
    is used.

    Parameters
    ----------
    n_classes : int
        Number of classes.
    max_iter : int, default 100
        Maximum EM iterations.
    tol : float, default 1e-6
        Stop when the mean log-likelihood per row improves by less than this.
    smoothing : float, default 0.5
        Pseudo-count added to every cell of each confusion matrix (a Dirichlet prior), so that
        no response is ever impossible.

    Attributes
    ----------
    class_prior_ : ndarray of shape (n_classes,)
    confusion_ : ndarray of shape (n_lfs, n_classes, n_classes + 1)
        ``confusion_[j, k, r + 1]`` is ``P(vote = r | class k)``; column 0 is ``ABSTAIN``.
    n_iter_ : int
    log_likelihood_ : float
        Mean log-likelihood per row at the end of the fit.

    Examples
    --------
    >>> L = np.array([[0, 0, -1], [1, 1, 1], [1, -1, 1], [0, 0, 1], [1, 1, -1]] * 20)
    >>> model = DawidSkene(n_classes=2).fit(L)
    >>> model.predict(np.array([[0, 0, 1], [-1, -1, -1]])).tolist()
    [0, -1]
    >>> model.lf_accuracy().round(2).tolist()
    [0.99, 0.99, 0.66]
    """

    def __init__(
        self, n_classes: int, *, max_iter: int = 100, tol: float = 1e-6, smoothing: float = 0.5
    ) -> None:
        owner = "DawidSkene"
        self.n_classes = check_int("n_classes", n_classes, min=2, owner=owner)
        self.max_iter = check_int("max_iter", max_iter, min=1, owner=owner)
        self.tol = check_float("tol", tol, min=0, owner=owner)
        self.smoothing = check_float("smoothing", smoothing, min=0, open_min=True, owner=owner)

    def _responses(self, L: np.ndarray) -> np.ndarray:
        """One-hot responses, flattened to shape (n_rows, n_lfs × (n_classes + 1)).

        Column ``j × (n_classes + 1) + r + 1`` is 1 when function ``j`` voted ``r`` (``r + 1 =
        0`` for ABSTAIN): flat, so that both EM steps are matrix products.
        """
        return np.eye(self.n_classes + 1)[L + 1].reshape(len(L), -1)

    def _log_joint(self, R: np.ndarray) -> np.ndarray:
        """log P(class k) + log P(votes | class k), shape (n_rows, n_classes)."""
        log_confusion = np.log(self.confusion_).transpose(0, 2, 1).reshape(R.shape[1], -1)
        return np.log(self.class_prior_) + R @ log_confusion

    def fit(self, L: np.ndarray) -> DawidSkene:
        """Learn the class prior and each function's confusion matrix from the votes alone.

        Parameters
        ----------
        L : array of int, shape (n_rows, n_lfs)
            The label matrix of :func:`apply_lfs`.

        Returns
        -------
        DawidSkene
            The fitted model (``self``).
        """
        L = _label_matrix(L, "DawidSkene.fit", self.n_classes)
        R, n_lfs = self._responses(L), L.shape[1]
        counts = _vote_counts(L, self.n_classes) + 1e-3  # majority vote, softly, no zero rows
        posterior = counts / counts.sum(axis=1, keepdims=True)
        previous = -np.inf
        for iteration in range(1, self.max_iter + 1):
            # M step: the prior and the confusion matrices that best explain the soft labels.
            self.class_prior_ = (posterior.sum(axis=0) + 1.0) / (len(L) + self.n_classes)
            expected = (posterior.T @ R).reshape(self.n_classes, n_lfs, -1).transpose(1, 0, 2)
            expected = expected + self.smoothing
            self.confusion_ = expected / expected.sum(axis=2, keepdims=True)
            # E step: each row's posterior over classes given its votes.
            log_joint = self._log_joint(R)
            log_evidence = logsumexp(log_joint, axis=1)
            posterior = np.exp(log_joint - log_evidence[:, None])
            likelihood = float(log_evidence.mean())
            self.n_iter_ = iteration
            self.log_likelihood_ = likelihood
            if likelihood - previous < self.tol:
                break
            previous = likelihood
        return self

    def _fitted(self) -> None:
        """Raise sklearn's ``NotFittedError`` (a ``ValueError``) before :meth:`fit`."""
        if not hasattr(self, "confusion_"):
            raise NotFittedError("this DawidSkene model is not fitted yet: call fit(L) first")

    def _votes(self, L: np.ndarray, owner: str) -> np.ndarray:
        self._fitted()
        L = _label_matrix(L, owner, self.n_classes)
        if L.shape[1] != self.confusion_.shape[0]:
            raise ParameterError(
                f"{owner}: L has {L.shape[1]} labeling functions; the model was fitted on "
                f"{self.confusion_.shape[0]}"
            )
        return L

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        """Posterior probability of each class given each row's votes, shape (n_rows, n_classes).

        Rows on which every function abstains get the posterior of "all abstained".
        """
        L = self._votes(L, "DawidSkene.predict_proba")
        return softmax(self._log_joint(self._responses(L)), axis=1)

    def predict(self, L: np.ndarray, *, abstain_uncovered: bool = True) -> np.ndarray:
        """The most probable class of each row; ``ABSTAIN`` where no function votes (by default)."""
        L = self._votes(L, "DawidSkene.predict")
        labels = self.predict_proba(L).argmax(axis=1)
        if abstain_uncovered:
            labels = np.where((L != ABSTAIN).any(axis=1), labels, ABSTAIN)
        return labels.astype(np.int64)

    def lf_accuracy(self) -> np.ndarray:
        """Each function's estimated accuracy when it votes: ``P(vote = class | it votes)``."""
        self._fitted()
        joint = self.class_prior_[None, :, None] * self.confusion_[:, :, 1:]  # (j, k, r)
        correct = np.einsum("jkk->j", joint)
        return correct / joint.sum(axis=(1, 2))
