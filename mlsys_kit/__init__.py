"""mlsys-kit: runnable, checked experiments for *Designing Machine Learning Systems*.

The package is the notebooks' helper library. Its core, at the top:

=======================  ==============================================================
``mlsys_kit.notebook``   ``setup_notebook`` (seeds, plot style), ``output_dir``, ``COLORS``
``mlsys_kit.params``     ``Int``, ``Float``, ``Choice``, ``Bool``, ``check_parameters``
                         (notebook parameters, declared once); ``check_*`` and
                         ``make_rng`` for function arguments; ``ParameterError``
``mlsys_kit.claims``     ``claim`` (a lesson), ``check`` (mechanics), ``verdict``,
                         ``record``: a notebook's claims, computed and checked
``mlsys_kit.timing``     ``best_of``, ``format_measured``: robust, nbval-safe timings
``mlsys_kit.datasets``   ``available``, ``load``: small real datasets, checksummed, offline
``mlsys_kit.sim``        the running case study: a seeded online-marketplace simulator
``mlsys_kit.stats``      shared statistics: quantile bins, Kish's ESS, mean intervals
``mlsys_kit.results``    ``Report``: the protocol of report-like results (``to_frame``)
=======================  ==============================================================

and one subpackage per part of the book, each module a topic of its chapter:

==================================  ===========================================================
``mlsys_kit.design``                Ch. 1–2: latency, versioning, framing, objectives
``mlsys_kit.data_engineering``      Ch. 3: formats, storage engines, dataflow, streaming
``mlsys_kit.training_data``         Ch. 4: sampling, labels, weak supervision, imbalance, ...
``mlsys_kit.features``              Ch. 5: feature operations, leakage, importance
``mlsys_kit.modeling``              Ch. 6: baselines, tracking, evaluation, behavioural tests
``mlsys_kit.deployment``            Ch. 7: model artifacts, the prediction service
``mlsys_kit.monitoring``            Ch. 8: feedback loops, shifts, drift, detectors, alerts
``mlsys_kit.continual``             Ch. 9: retraining, freshness, tests in production, bandits
``mlsys_kit.infrastructure``        Ch. 10: model store, feature store
``mlsys_kit.responsible``           Ch. 11: fairness by group, proxies, mitigation, impossibility
==================================  ===========================================================

The machinery behind the ``mlsys-kit`` command (catalog, runner, cli) lives in
``mlsys_kit.kit``; notebooks never import it.

The names most notebooks need are importable from the top level; they are loaded
on first use, so ``import mlsys_kit`` stays instant.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "setup_notebook": "mlsys_kit.notebook",
    "output_dir": "mlsys_kit.notebook",
    "claim": "mlsys_kit.claims",
    "ClaimFailed": "mlsys_kit.claims",
    "check": "mlsys_kit.claims",
    "verdict": "mlsys_kit.claims",
    "record": "mlsys_kit.claims",
    "check_int": "mlsys_kit.params",
    "check_float": "mlsys_kit.params",
    "check_choice": "mlsys_kit.params",
    "check_bool": "mlsys_kit.params",
    "ParameterError": "mlsys_kit.params",
    "Int": "mlsys_kit.params",
    "Float": "mlsys_kit.params",
    "Choice": "mlsys_kit.params",
    "Bool": "mlsys_kit.params",
    "check_parameters": "mlsys_kit.params",
    "COLORS": "mlsys_kit.notebook",
    "best_of": "mlsys_kit.timing",
    "format_measured": "mlsys_kit.timing",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from mlsys_kit.claims import ClaimFailed, check, claim, record, verdict  # noqa: F401
    from mlsys_kit.notebook import COLORS, output_dir, setup_notebook  # noqa: F401
    from mlsys_kit.params import (  # noqa: F401
        Bool,
        Choice,
        Float,
        Int,
        ParameterError,
        check_bool,
        check_choice,
        check_float,
        check_int,
        check_parameters,
    )
    from mlsys_kit.timing import best_of, format_measured  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mlsys_kit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
