"""The one protocol of the kit's report-like results: a table, shown as HTML in notebooks.

Every result that reports several rows (a drift report, a validation report, a leakage
report, a behavioural test, a shift test, a detector's score) is a :class:`Report`: it has
:meth:`Report.to_frame`, a tidy :class:`pandas.DataFrame` to filter, plot or save, and
Jupyter shows it as that table (its HTML view is derived from ``to_frame``, never written
twice). Results with a few named fields are frozen dataclasses, never bare tuples or dicts.

Examples
--------
>>> from dataclasses import dataclass
>>> import pandas as pd
>>> @dataclass(frozen=True)
... class Score(Report):
...     name: str
...     value: float
...     def to_frame(self) -> pd.DataFrame:
...         return pd.DataFrame({"name": [self.name], "value": [self.value]})
>>> Score("auc", 0.81).to_frame()
  name  value
0  auc   0.81
>>> "<table" in Score("auc", 0.81)._repr_html_()
True
"""

from __future__ import annotations

import pandas as pd

__all__ = ["Report"]


class Report:
    """Mixin of report-like results: implement :meth:`to_frame`; notebooks show its HTML."""

    def to_frame(self) -> pd.DataFrame:
        """The result as a tidy table, one row per finding."""
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return self.to_frame()._repr_html_()
