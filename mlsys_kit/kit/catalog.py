"""Find the kit's notebooks, their parameters and their claims.

Notebooks live in ``notebooks/NN-chapter-slug/MM-topic-slug.ipynb``: one folder
per book chapter, one notebook per design decision. A notebook can be named by
its path, by its short id ``"NN/MM"`` (``"08/03"``), or by its slug, with or
without the number (``"03-detecting-shifts"``, ``"detecting-shifts"``). The
parameters come from the cell tagged ``parameters`` (read with papermill's own
parser, so they match what papermill injects); the claims come from the stored
outputs of the committed, executed notebook.
"""

from __future__ import annotations

import ast
import difflib
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mlsys_kit.claims import Claim, claims_from_outputs

__all__ = [
    "Notebook",
    "Parameter",
    "NotebookNotFound",
    "ParameterValueError",
    "notebooks_dir",
    "discover",
    "find",
    "coerce_parameters",
    "CHAPTERS",
    "chapter_map",
]

NOTEBOOKS_ENV = "MLSYS_KIT_NOTEBOOKS"

#: The book's chapters, by number: the titles the kit's folders are named after.
CHAPTERS: dict[int, str] = {
    1: "Overview of Machine Learning Systems",
    2: "Introduction to Machine Learning Systems Design",
    3: "Data Engineering Fundamentals",
    4: "Training Data",
    5: "Feature Engineering",
    6: "Model Development and Offline Evaluation",
    7: "Model Deployment and Prediction Service",
    8: "Data Distribution Shifts and Monitoring",
    9: "Continual Learning and Test in Production",
    10: "Infrastructure and Tooling for MLOps",
    11: "The Human Side of Machine Learning",
}

_NAME = re.compile(r"^(\d{2})-([a-z0-9][a-z0-9-]*)$")


class NotebookNotFound(LookupError):
    """No notebook matches the name given."""


class ParameterValueError(ValueError):
    """A parameter passed to a notebook is unknown or has the wrong type."""


@dataclass(frozen=True)
class Parameter:
    """A notebook parameter: its name, default value and description."""

    name: str
    default: Any
    help: str

    @property
    def type_name(self) -> str:
        """``int``, ``float``, ``str``, ``bool``, ``list``... (from the default)."""
        return type(self.default).__name__


@dataclass(frozen=True)
class Notebook:
    """One chapter notebook of the kit."""

    path: Path
    chapter: int
    chapter_slug: str
    number: int
    slug: str
    _nb: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def id(self) -> str:
        """Short id ``"NN/MM"``, e.g. ``"01/02"``."""
        return f"{self.chapter:02d}/{self.number:02d}"

    @property
    def name(self) -> str:
        """``"NN-chapter/MM-topic"``, the notebook's place in the kit."""
        return f"{self.chapter_slug}/{self.path.stem}"

    @cached_property
    def title(self) -> str:
        """The first Markdown heading of the notebook."""
        for cell in self._nb.get("cells", []):
            if cell.get("cell_type") == "markdown":
                for line in _source(cell).splitlines():
                    if line.startswith("#"):
                        return line.lstrip("#").strip()
        return self.slug.replace("-", " ").capitalize()

    @cached_property
    def parameters(self) -> dict[str, Parameter]:
        """The parameters cell's names, defaults and descriptions, in order."""
        return _parameters(self.path)

    @cached_property
    def claims(self) -> list[Claim]:
        """The claims stored in the committed notebook's outputs."""
        return claims_from_outputs(self._nb.get("cells", []))

    @cached_property
    def modules(self) -> list[str]:
        """The ``mlsys_kit`` modules the notebook's code uses, e.g. ``["design.latency", "sim"]``.

        Dotted below the package (``"monitoring.drift"``); names imported from the top
        level count as the module that defines them.
        """
        from mlsys_kit import _EXPORTS

        code = "\n".join(
            _source(cell) for cell in self._nb.get("cells", []) if cell.get("cell_type") == "code"
        )
        used = set(re.findall(r"\bmlsys_kit\.([\w.]*\w)", code))
        imports = re.findall(r"from mlsys_kit import (?:\(([\w\s,]+)\)|([\w ,]+))", code)
        for names in (grouped or plain for grouped, plain in imports):
            for name in re.split(r"[\s,]+", names.strip()):
                used.add(_EXPORTS[name].removeprefix("mlsys_kit.") if name in _EXPORTS else name)
        return sorted(used - {"notebook", "params", "claims"})

    def matches(self, ref: str) -> bool:
        """Whether ``ref`` (an id, a slug or a path) names this notebook."""
        ref = ref.strip().removesuffix(".ipynb").strip("/")
        chapter_ref, _, topic_ref = ref.rpartition("/")
        candidates = {self.id, self.slug, self.path.stem, self.name}
        if ref in candidates:
            return True
        if chapter_ref and topic_ref:
            chapter_ok = chapter_ref in {
                f"{self.chapter:02d}",
                str(self.chapter),
                self.chapter_slug,
            }
            topic_ok = topic_ref in {
                f"{self.number:02d}",
                str(self.number),
                self.slug,
                self.path.stem,
            }
            return chapter_ok and topic_ok
        return False


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _parameters(path: Path) -> dict[str, Parameter]:
    import papermill

    found = papermill.inspect_notebook(str(path))
    params = {}
    for name, spec in found.items():
        try:
            default = ast.literal_eval(spec["default"])
        except (ValueError, SyntaxError):
            default = spec["default"]
        params[name] = Parameter(name, default, spec.get("help", "").strip())
    return params


def chapter_map(notebooks: list[Notebook]) -> str:
    """The README's chapter map as Markdown: chapter, notebook, lessons, modules.

    The lessons are the claims stored in each committed notebook; the modules are
    the topic modules its code imports (setup, parameter and claim helpers aside).
    """
    rows = ["| chapter | notebook | the lessons it checks | modules |", "|---|---|---|---|"]
    for nb in notebooks:
        chapter = f"{nb.chapter}. {CHAPTERS.get(nb.chapter, nb.chapter_slug)}"
        link = f"[{nb.id} {nb.title}](notebooks/{nb.chapter_slug}/{nb.path.name})"
        lessons = "<br>".join(f"✔ {claim.statement}" for claim in nb.claims) or "—"
        lessons = lessons.replace("|", r"\|")
        modules = ", ".join(f"`{module}`" for module in nb.modules) or "—"
        rows.append(f"| {chapter} | {link} | {lessons} | {modules} |")
    return "\n".join(rows)


def notebooks_dir() -> Path:
    """The folder that holds the chapter folders.

    ``MLSYS_KIT_NOTEBOOKS`` if set; else the repository's ``notebooks/`` (beside the
    installed package, for an editable install or a clone); else ``./notebooks``.
    """
    if env := os.environ.get(NOTEBOOKS_ENV):
        return Path(env)
    beside_package = Path(__file__).resolve().parent.parent / "notebooks"
    if beside_package.is_dir():
        return beside_package
    return Path.cwd() / "notebooks"


def _load(path: Path) -> dict[str, Any]:
    import json

    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _from_path(path: Path) -> Notebook | None:
    chapter_match = _NAME.match(path.parent.name)
    topic_match = _NAME.match(path.stem)
    if not (chapter_match and topic_match):
        return None
    return Notebook(
        path=path,
        chapter=int(chapter_match[1]),
        chapter_slug=path.parent.name,
        number=int(topic_match[1]),
        slug=topic_match[2],
        _nb=_load(path),
    )


def discover(root: Path | None = None) -> list[Notebook]:
    """All chapter notebooks under ``root`` (default :func:`notebooks_dir`), in order.

    Only ``NN-chapter/MM-topic.ipynb`` files count; checkpoints are skipped.

    Returns
    -------
    list of Notebook
        Sorted by chapter, then number.
    """
    root = root or notebooks_dir()
    found = [
        notebook
        for path in sorted(root.glob("[0-9][0-9]-*/[0-9][0-9]-*.ipynb"))
        if ".ipynb_checkpoints" not in path.parts and (notebook := _from_path(path))
    ]
    return sorted(found, key=lambda nb: (nb.chapter, nb.number))


def find(ref: str, notebooks: list[Notebook] | None = None) -> Notebook:
    """The notebook named by ``ref``: a path, an id ``"NN/MM"`` or a slug.

    Raises
    ------
    NotebookNotFound
        When nothing matches or the name is ambiguous; the message lists the
        closest names and says how to list them all.
    """
    path = Path(ref)
    if path.suffix == ".ipynb" and path.is_file():
        notebook = _from_path(path.resolve())
        if notebook is None:
            raise NotebookNotFound(
                f"{ref}: not a kit notebook; expected notebooks/NN-chapter/MM-topic.ipynb"
            )
        return notebook
    notebooks = discover() if notebooks is None else notebooks
    matches = [nb for nb in notebooks if nb.matches(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = ", ".join(nb.id + " " + nb.name for nb in matches)
        raise NotebookNotFound(f"{ref!r} names several notebooks: {names}; use the id NN/MM")
    names = [nb.name for nb in notebooks] + [nb.slug for nb in notebooks]
    close = difflib.get_close_matches(ref, names, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise NotebookNotFound(
        f"no notebook named {ref!r}.{hint} Run 'mlsys-kit list' to see them all "
        "(name one by id like 01/02, by slug, or by path)."
    )


def coerce_parameters(notebook: Notebook, raw: dict[str, str]) -> dict[str, Any]:
    """Turn ``-p NAME VALUE`` strings into values of each parameter's default type.

    Parameters
    ----------
    notebook : Notebook
        The notebook whose parameters cell defines names and types.
    raw : dict of str to str
        Parameter values as typed on the command line.

    Returns
    -------
    dict
        Values of the right type (``int``, ``float``, ``bool``, ``str``, list...).

    Raises
    ------
    ParameterValueError
        For an unknown name (listing the notebook's parameters) or a value that
        cannot be read as the parameter's type.
    """
    known = notebook.parameters
    values = {}
    for name, text in raw.items():
        if name not in known:
            listed = ", ".join(known) or "none"
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ParameterValueError(
                f"{notebook.id} {notebook.name} has no parameter {name!r}.{hint} "
                f"Its parameters: {listed}"
            )
        values[name] = _coerce(notebook, known[name], text)
    return values


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def _coerce(notebook: Notebook, param: Parameter, text: str) -> Any:
    kind = type(param.default)

    def refuse(expected: str) -> ParameterValueError:
        return ParameterValueError(
            f"{notebook.id} parameter {param.name!r} takes {expected}; got {text!r}"
        )

    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise refuse("true or false")
    if kind is int:
        try:
            return int(text.replace("_", ""))
        except ValueError:
            raise refuse("an integer") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise refuse("a number") from None
    if kind is str:
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise refuse(f"a Python literal of type {kind.__name__}") from None
    if not isinstance(value, kind):
        raise refuse(f"a {kind.__name__}")
    return value
