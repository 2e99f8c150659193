"""Model cards generated from the run: evaluation by slice with intervals, written by skops.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 11,
"Responsible AI": "Create model cards" (Mitchell et al. 2019): a short document beside a
trained model that says what it is, what it is for and not for, what data it learned from,
how well it does overall *and on each slice and group*, and where it falls short.

A card is only as true as its numbers. Here every number comes from the run:

* :func:`evaluate_slices`: a classifier's accuracy and selection rate overall and in each group
  of several slicing attributes, each with a bootstrap interval, and each group's accuracy gap
  to the overall on the same resamples (paired), plus each attribute's demographic parity and
  equalized odds differences. The counting is
  :func:`mlsys_kit.responsible.fairness.bootstrap_group_rates` (the numbers of notebook 11/02),
  called with one seed for every attribute, so that every attribute is evaluated on the same
  resampled test sets.
* :func:`build_model_card`: a :class:`skops.card.Card` (skops' model-card tools, the format of
  the Hugging Face Hub's cards) filled from that evaluation, the dataset's manifest entry
  (:class:`mlsys_kit.datasets.DatasetInfo`: title, license, citation) and the model's saved
  artifact (:func:`mlsys_kit.deployment.artifacts.save_artifact`: file name and SHA-256). Its
  *limitations* are computed: a group is named there when its accuracy gap's interval lies
  below zero, and not otherwise.
* :func:`write_model_card` writes the Markdown and returns its hash; :func:`read_card_tables`
  reads the card's tables back from the Markdown.

Hand-written: the sections' wording, the rule that flags a group, and the table reader.
skops can parse a card back (``skops.card.parse_modelcard``) but needs pandoc, a system
program the kit does not require; a card's tables are plain pipe tables, and reading them
back is what lets a test (and the notebook) check that every number in the card is the
run's.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> group = np.repeat(["a", "b"], 500)
>>> y = rng.random(1000) < 0.5
>>> wrong = rng.random(1000) < np.where(group == "a", 0.05, 0.3)
>>> evaluation = evaluate_slices(y, y ^ wrong, {"group": group}, n_boot=100)
>>> [(r.group, round(r.accuracy, 2)) for r in evaluation.results]
[('all', 0.8), ('a', 0.93), ('b', 0.66)]
>>> [r.group for r in evaluation.underperforming()]
['b']
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_float,
    check_int,
    check_type,
    make_rng,
)
from mlsys_kit.responsible.fairness import GroupRates, bootstrap_group_rates
from mlsys_kit.results import Report

__all__ = [
    "OVERALL",
    "SliceResult",
    "AttributeGap",
    "SliceEvaluation",
    "evaluate_slices",
    "CARD_SECTIONS",
    "build_model_card",
    "CardFile",
    "write_model_card",
    "read_card_tables",
]

#: The ``slice`` and ``group`` of the row that holds the whole test set.
OVERALL = "all"

#: The card's sections that :func:`build_model_card` fills, by their skops path.
CARD_SECTIONS = {
    "details": "Model description",
    "uses": "Model description/Intended uses & limitations",
    "training": "Model description/Training Procedure",
    "data": "Model description/Training data",
    "evaluation": "Model description/Evaluation Results",
    "slices": "Model description/Evaluation Results/By slice and group",
    "gaps": "Model description/Evaluation Results/Fairness gaps",
    "limitations": "Limitations and trade-offs",
    "artifact": "How to Get Started with the Model",
}

_MODEL = "model"


@dataclass(frozen=True)
class SliceResult:
    """A model's accuracy on one group of one slicing attribute (or on all rows).

    Attributes
    ----------
    slice : str
        The slicing attribute, or :data:`OVERALL` for all rows.
    group : str
        The group, or :data:`OVERALL`.
    rows : int
        Test rows in the group.
    accuracy, accuracy_low, accuracy_high : float
        Accuracy on the group, and its bootstrap interval.
    selection_rate : float
        Share of the group's rows the model selects (predicts positive).
    base_rate : float
        Share of the group's rows that are positive.
    gap, gap_low, gap_high : float
        The group's accuracy minus the overall accuracy, and its paired bootstrap interval
        (0 for the overall row).
    """

    slice: str
    group: str
    rows: int
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    selection_rate: float
    base_rate: float
    gap: float
    gap_low: float
    gap_high: float


@dataclass(frozen=True)
class AttributeGap:
    """The fairness gaps between the groups of one slicing attribute (as fairlearn defines them).

    Attributes
    ----------
    slice : str
        The slicing attribute.
    parity_difference, parity_low, parity_high : float
        Demographic parity difference (largest minus smallest selection rate) and its interval.
    odds_difference, odds_low, odds_high : float
        Equalized odds difference (larger of the TPR and FPR gaps) and its interval.
    """

    slice: str
    parity_difference: float
    parity_low: float
    parity_high: float
    odds_difference: float
    odds_low: float
    odds_high: float


@dataclass(frozen=True)
class SliceEvaluation(Report):
    """A model's evaluation overall, by slice and group, with bootstrap intervals.

    Attributes
    ----------
    results : tuple of SliceResult
        The overall row first, then each attribute's groups (sorted) in the attributes' order.
    gaps : tuple of AttributeGap
        One per slicing attribute.
    level : float
        The intervals' level (0.9: the central 90% of the resamples).
    n_boot : int
        Bootstrap resamples of the test rows.
    boot_accuracy : numpy.ndarray
        Shape ``(n_boot, len(results))``: each row's accuracy on each resample (the same
        resamples for every attribute).
    """

    results: tuple[SliceResult, ...]
    gaps: tuple[AttributeGap, ...]
    level: float
    n_boot: int
    boot_accuracy: np.ndarray

    @property
    def overall(self) -> SliceResult:
        """The row of all test rows."""
        return self.results[0]

    def worst(self) -> SliceResult:
        """The group with the lowest accuracy (ties: the first in :attr:`results`)."""
        groups = self.results[1:]
        return groups[int(np.argmin([r.accuracy for r in groups]))]

    def underperforming(self, margin: float = 0.0) -> tuple[SliceResult, ...]:
        """The groups whose accuracy gap's interval lies entirely below ``-margin``.

        Raises
        ------
        mlsys_kit.params.ParameterError
            When ``margin`` is negative.
        """
        margin = check_float("margin", margin, min=0, owner="SliceEvaluation.underperforming")
        return tuple(r for r in self.results[1:] if r.gap_high < -margin)

    def to_frame(self) -> pd.DataFrame:
        """One row per group (the overall row first), indexed by slice and group."""
        return pd.DataFrame([asdict(r) for r in self.results]).set_index(["slice", "group"])

    def gaps_frame(self) -> pd.DataFrame:
        """One row per slicing attribute: its parity and odds differences with intervals."""
        return pd.DataFrame([asdict(g) for g in self.gaps]).set_index("slice")


def evaluate_slices(
    y_true: Any,
    y_pred: Any,
    slices: Mapping[str, Any],
    *,
    n_boot: int = 200,
    level: float = 0.9,
    seed: Seed = 0,
) -> SliceEvaluation:
    """Evaluate a classifier's decisions overall and in each group of each slicing attribute.

    Every attribute is counted on the same bootstrap resamples of the test rows, so a group's
    gap to the overall accuracy is paired (its interval is that of the difference, much
    tighter than two separate intervals suggest).

    Parameters
    ----------
    y_true : array-like of bool or 0/1, shape (n_rows,)
        The labels.
    y_pred : array-like of bool or 0/1, shape (n_rows,)
        The model's decisions.
    slices : mapping of str to array-like
        Each slicing attribute's name and the group of every row (at least two groups each,
        no missing value); at least one attribute. Groups are shown as text.
    n_boot : int, default 200
        Bootstrap resamples (≥ 20).
    level : float, default 0.9
        The intervals' level, in (0, 1).
    seed : int or numpy.random.Generator, default 0
        Draws the resamples.

    Returns
    -------
    SliceEvaluation

    Raises
    ------
    mlsys_kit.params.ParameterError
        No attribute, an attribute named :data:`OVERALL`, ``n_boot < 20``, a level outside
        (0, 1), or what :func:`~mlsys_kit.responsible.fairness.bootstrap_group_rates`
        refuses (labels or decisions not binary, lengths that differ, a missing group, a
        single group).

    Examples
    --------
    >>> evaluation = evaluate_slices([0, 1, 1, 0], [0, 1, 0, 0], {"sex": list("ffmm")},
    ...                              n_boot=20)
    >>> evaluation.to_frame()["accuracy"].tolist()
    [0.75, 1.0, 0.5]
    >>> evaluation.worst().group
    'm'
    """
    owner = "evaluate_slices"
    n_boot = check_int("n_boot", n_boot, min=20, owner=owner)
    level = check_float("level", level, min=0, max=1, open_min=True, open_max=True, owner=owner)
    check_type("slices", slices, Mapping, owner=owner)
    if not slices:
        raise ParameterError(f"{owner}: slices must name at least one attribute; got none")
    if OVERALL in slices:
        raise ParameterError(
            f"{owner}: no attribute may be named {OVERALL!r}: it is the overall row"
        )
    rng = make_rng(seed, owner=owner)
    shared = int(rng.integers(2**31))  # one seed for every attribute: the same resamples
    counted: dict[str, GroupRates] = {
        str(name): bootstrap_group_rates(
            y_true, {_MODEL: y_pred}, np.asarray(groups).astype(str), n_boot=n_boot, seed=shared
        )
        for name, groups in slices.items()
    }
    first = next(iter(counted.values()))
    overall_boot = first.overall_accuracy(_MODEL)
    totals = first.counts[0].sum(axis=0)  # tn, fp, fn, tp over all groups
    n = int(totals.sum())
    results = [
        SliceResult(
            OVERALL,
            OVERALL,
            n,
            float(first.overall_accuracy(_MODEL, boot=False)),
            *GroupRates.interval(overall_boot, level),
            float((totals[1] + totals[3]) / n),
            float((totals[2] + totals[3]) / n),
            0.0,
            0.0,
            0.0,
        )
    ]
    boot = [overall_boot]
    gaps = []
    for name, rates in counted.items():
        accuracy = rates.rate("accuracy", _MODEL, boot=False)
        boot_accuracy = rates.rate("accuracy", _MODEL)
        selection = rates.rate("selection rate", _MODEL, boot=False)
        base = rates.rate("base rate", _MODEL, boot=False)
        sizes = rates.counts[0].sum(axis=-1)
        for g, group in enumerate(rates.groups):
            gap_boot = boot_accuracy[:, g] - overall_boot
            results.append(
                SliceResult(
                    name,
                    str(group),
                    int(sizes[g]),
                    float(accuracy[g]),
                    *GroupRates.interval(boot_accuracy[:, g], level),
                    float(selection[g]),
                    float(base[g]),
                    float(accuracy[g] - results[0].accuracy),
                    *GroupRates.interval(gap_boot, level),
                )
            )
            boot.append(boot_accuracy[:, g])
        with warnings.catch_warnings():  # a resample without a class in a group: NaN rate
            warnings.simplefilter("ignore", RuntimeWarning)
            gaps.append(
                AttributeGap(
                    name,
                    float(rates.parity_difference(_MODEL, boot=False)),
                    *GroupRates.interval(rates.parity_difference(_MODEL), level),
                    float(rates.odds_difference(_MODEL, boot=False)),
                    *GroupRates.interval(rates.odds_difference(_MODEL), level),
                )
            )
    return SliceEvaluation(tuple(results), tuple(gaps), level, n_boot, np.column_stack(boot))


def build_model_card(
    model: Any,
    evaluation: SliceEvaluation,
    *,
    dataset: Any,
    artifact: Any,
    description: str,
    intended_uses: str,
    out_of_scope: str,
    training: str,
    trade_offs: str = "",
    margin: float = 0.0,
    digits: int = 3,
) -> Any:
    """A model card (:class:`skops.card.Card`) filled from a run's evaluation and artifact.

    Sections (by :data:`CARD_SECTIONS`): model details; intended and out-of-scope uses;
    training procedure (with skops' table of hyperparameters); training data, its license
    and citation from the dataset's manifest entry; evaluation overall (skops' metrics
    table), by slice and group, and the fairness gaps, with intervals; limitations and
    trade-offs, naming each group whose accuracy gap's interval lies below ``-margin``; how to load
    the artifact, pinned by its SHA-256. Numbers are rounded to ``digits`` decimals.

    Parameters
    ----------
    model : estimator
        The fitted model the card describes.
    evaluation : SliceEvaluation
        From :func:`evaluate_slices`, on test rows the model never saw.
    dataset : mlsys_kit.datasets.DatasetInfo
        The training data's manifest entry (``datasets.info(name)``).
    artifact : mlsys_kit.deployment.artifacts.Artifact
        The saved model (from ``save_artifact``); the card names its file, not its folder.
    description, intended_uses, out_of_scope, training : str
        What the model is, what it is for, what it must not be used for, how it was trained.
    trade_offs : str, default ""
        Trade-offs the authors chose (added to the computed limitations).
    margin : float, default 0.0
        A group is named in the limitations when its accuracy gap's interval lies below
        ``-margin`` (≥ 0): 0 names every gap the test set can tell from zero, however small.
    digits : int, default 3
        Decimals of every number in the card (1 to 6).

    Returns
    -------
    skops.card.Card
        Render it with ``card.render()``; write it with :func:`write_model_card`.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``evaluation`` is not a SliceEvaluation, a text is empty, ``margin`` is
        negative, or ``digits`` is outside 1 to 6.
    """
    from skops.card import Card

    owner = "build_model_card"
    check_type("evaluation", evaluation, SliceEvaluation, owner=owner)
    digits = check_int("digits", digits, min=1, max=6, owner=owner)
    margin = check_float("margin", margin, min=0, owner=owner)
    texts = {
        "description": description,
        "intended_uses": intended_uses,
        "out_of_scope": out_of_scope,
        "training": training,
    }
    for name, text in texts.items():
        check_type(name, text, str, owner=owner)
        if not text.strip():
            raise ParameterError(f"{owner}: {name} must say something; got an empty text")
    percent = round(100 * evaluation.level)
    card = Card(model, model_diagram=False)
    card.add(
        **{
            CARD_SECTIONS["details"]: description,
            CARD_SECTIONS["uses"]: (
                f"**Intended uses.** {intended_uses}\n\n**Out of scope.** {out_of_scope}"
            ),
            CARD_SECTIONS["training"]: training,
            CARD_SECTIONS["data"]: _data_section(dataset),
        }
    )
    card.delete("Model description/Training Procedure/Model Plot")
    overall = evaluation.overall
    card.add_metrics(
        description=(
            f"On {overall.rows:,} test rows the model never saw; intervals are the central "
            f"{percent}% of {evaluation.n_boot} bootstrap resamples of those rows."
        ),
        **{
            "accuracy": round(overall.accuracy, digits),
            f"accuracy, {percent}% low": round(overall.accuracy_low, digits),
            f"accuracy, {percent}% high": round(overall.accuracy_high, digits),
            "selection rate": round(overall.selection_rate, digits),
            "base rate": round(overall.base_rate, digits),
        },
    )
    _add_table(
        card,
        CARD_SECTIONS["slices"],
        evaluation.to_frame().reset_index().round(digits),
        "Each group's accuracy with its interval, and its gap to the overall accuracy with the "
        "interval of that gap (paired: the same resamples).",
    )
    _add_table(
        card,
        CARD_SECTIONS["gaps"],
        evaluation.gaps_frame().reset_index().round(digits),
        "Demographic parity difference (largest minus smallest selection rate) and equalized "
        "odds difference (larger of the TPR and FPR gaps) between each attribute's groups.",
    )
    card.add(
        **{
            CARD_SECTIONS["limitations"]: _limitations(evaluation, trade_offs, margin, digits),
        }
    )
    _add_table(
        card,
        CARD_SECTIONS["artifact"],
        pd.DataFrame(
            {
                "field": ["file", "sha256", "model class", "features"],
                "value": [
                    artifact.path.name,
                    artifact.sha256,
                    artifact.model_class,
                    str(len(artifact.features)),
                ],
            }
        ),
        "Load it with `mlsys_kit.deployment.artifacts.load_artifact(path, sha256=...)`, "
        "pinning the hash below: a file changed since this card was written is refused.",
    )
    for unused in ("Model Card Authors", "Model Card Contact", "Citation"):
        card.delete(unused)
    return card


def _data_section(dataset: Any) -> str:
    return (
        f"**{dataset.title}** (`{dataset.name}`, {dataset.rows:,} rows). "
        f"License: **{dataset.license}**. Source: {dataset.source}. "
        f"Cite as: {dataset.citation}. SHA-256 of the shipped file: `{dataset.sha256}`."
    )


def _add_table(card: Any, path: str, table: pd.DataFrame, description: str) -> None:
    """skops' ``add_table`` with a nested path; its section is titled by the path's last part
    (skops 0.16 titles it with the whole path)."""
    card.add_table(description=description, **{path: table})
    card.select(path).title = path.rsplit("/", 1)[-1]


def _limitations(evaluation: SliceEvaluation, trade_offs: str, margin: float, digits: int) -> str:
    percent = round(100 * evaluation.level)
    overall = evaluation.overall
    flagged = evaluation.underperforming(margin)
    lines = []
    if flagged:
        lines.append(
            f"The model is less accurate than overall ({overall.accuracy:.{digits}f}) on these "
            f"groups (the {percent}% interval of the gap lies below −{margin:g}):"
        )
        lines += [
            f"- {r.slice} = {r.group}: accuracy {r.accuracy:.{digits}f}, gap "
            f"{r.gap:.{digits}f} ({percent}% interval [{r.gap_low:.{digits}f}, "
            f"{r.gap_high:.{digits}f}]), {r.rows:,} rows"
            for r in flagged
        ]
    else:
        lines.append(
            f"No group's accuracy is below the overall by more than {margin:g} beyond its "
            f"{percent}% interval on "
            f"these {overall.rows:,} test rows; smaller gaps than this test set can show may "
            "remain."
        )
    if trade_offs.strip():
        lines += ["", trade_offs.strip()]
    return "\n".join(lines)


@dataclass(frozen=True)
class CardFile:
    """A model card written to disk.

    Attributes
    ----------
    path : pathlib.Path
        The Markdown file.
    sha256 : str
        Its SHA-256, hex.
    markdown : str
        Its text.
    """

    path: Path
    sha256: str
    markdown: str


def write_model_card(card: Any, path: str | Path) -> CardFile:
    """Write a card's Markdown to ``path`` (its folder must exist) and hash it.

    Parameters
    ----------
    card : skops.card.Card
        From :func:`build_model_card` (or any skops card).
    path : str or pathlib.Path
        The file to write, ``README.md`` or ``model-card.md`` by convention.

    Returns
    -------
    CardFile

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``card`` has no ``render`` method or the folder does not exist.
    """
    owner = "write_model_card"
    if not callable(getattr(card, "render", None)):
        raise ParameterError(f"{owner}: card must be a skops.card.Card; got {type(card).__name__}")
    path = Path(path)
    if not path.parent.is_dir():
        raise ParameterError(f"{owner}: the folder of {path.name!r} does not exist")
    markdown = card.render()
    data = markdown.encode("utf-8")
    path.write_bytes(data)
    return CardFile(path, hashlib.sha256(data).hexdigest(), markdown)


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_RULE = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")


def read_card_tables(markdown: str) -> dict[str, pd.DataFrame]:
    """Read a card's pipe tables back, keyed by the heading above each (``a/b`` when nested).

    Cells that read as numbers become numbers (a column of numbers becomes a float column).
    A heading with several tables keeps the first.

    Parameters
    ----------
    markdown : str
        A card's Markdown (``card.render()`` or the written file's text).

    Returns
    -------
    dict of str to pandas.DataFrame

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``markdown`` is not a string.

    Examples
    --------
    >>> text = "# Results\\n\\n## Metrics\\n\\n| metric | value |\\n| :-: | :-: |\\n"
    >>> text += "| acc | 0.85 |\\n"
    >>> read_card_tables(text)["Results/Metrics"]
      metric  value
    0    acc   0.85
    """
    check_type("markdown", markdown, str, owner="read_card_tables")
    tables: dict[str, pd.DataFrame] = {}
    path: list[str] = []
    lines = markdown.splitlines()
    k = 0
    while k < len(lines):
        line = lines[k].strip()
        heading = _HEADING.match(line)
        if heading:
            path = path[: len(heading.group(1)) - 1] + [heading.group(2)]
            k += 1
            continue
        if line.startswith("|") and k + 1 < len(lines) and _RULE.match(lines[k + 1].strip()):
            header = _cells(line)
            k += 2
            rows = []
            while k < len(lines) and lines[k].strip().startswith("|"):
                rows.append(_cells(lines[k].strip()))
                k += 1
            frame = pd.DataFrame(rows, columns=header)
            for column in frame.columns:
                numbers = pd.to_numeric(frame[column], errors="coerce")
                if numbers.notna().all():
                    frame[column] = numbers
            tables.setdefault("/".join(path), frame)
            continue
        k += 1
    return tables


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]
