"""A seeded simulator of the kit's running case study: fraud on an online marketplace.

Users buy things; some purchases are fraud. The simulator produces what a fraud team would
see -- a users table and an event log of transactions with delayed labels -- together with the
ground truth it never sees, so a notebook can show the *true* effect of every design decision.

It serves these chapters of *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

- Ch. 3 *Data Engineering Fundamentals*: event time vs ingestion time, re-delivered duplicates.
- Ch. 4 *Training Data*: natural labels and their delay (chargebacks), class imbalance,
  sampling, label availability at training time (:meth:`Marketplace.labels_available_at`).
- Ch. 5 *Feature Engineering*: data leakage -- a post-event feature (``support_contacts_7d``),
  duplicates across splits, random vs time-based splits (:attr:`Marketplace.feature_info`).
- Ch. 6 *Model Development and Offline Evaluation*: slice-based evaluation and calibration
  against the true ``fraud_probability``.
- Ch. 8 *Data Distribution Shifts and Monitoring*: injected covariate, label and concept shift
  (:class:`Drift`) with the true mechanism of each period (:attr:`Marketplace.regimes`).
- Ch. 9 *Continual Learning and Test in Production*: retraining cadence under label delay,
  counterfactual twins (the same seed with and without drift share all pre-drift rows).
- Ch. 10 *Infrastructure and Tooling*: point-in-time correct feature and label joins.
- Ch. 11 *The Human Side of ML*: group attributes (country, age group, device) that carry no
  direct fraud signal but correlate with risky features.

Modules: ``config`` holds :class:`Drift` and :class:`MarketplaceConfig` (validated on
construction); ``marketplace`` draws the data (:func:`simulate`) and holds the
:class:`Marketplace` with its helpers (``day``, ``window``, ``labels_available_at``,
``since_start``).

Examples
--------
>>> from mlsys_kit.sim import Drift, simulate
>>> mkt = simulate(n_transactions=10_000, seed=3, drifts=[Drift("concept", 60)])
>>> mkt.transactions.shape
(10000, 16)
>>> round(float(mkt.transactions["is_fraud"].mean()), 3)  # doctest: +SKIP
0.02
"""

from mlsys_kit.sim.config import DRIFT_KINDS, Drift, MarketplaceConfig
from mlsys_kit.sim.marketplace import (
    AGE_GROUPS,
    BASELINE_COEFFICIENTS,
    CONCEPT_COEFFICIENTS,
    COUNTRIES,
    DEVICES,
    PAYMENT_METHODS,
    RISK_FEATURES,
    Marketplace,
    fraud_rate_by_day,
    risk_features,
    simulate,
)

__all__ = [
    "AGE_GROUPS",
    "BASELINE_COEFFICIENTS",
    "CONCEPT_COEFFICIENTS",
    "COUNTRIES",
    "DEVICES",
    "DRIFT_KINDS",
    "PAYMENT_METHODS",
    "RISK_FEATURES",
    "Drift",
    "Marketplace",
    "MarketplaceConfig",
    "fraud_rate_by_day",
    "risk_features",
    "simulate",
]
