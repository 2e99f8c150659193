"""Find the kit's notebooks, their parameters and their claims.

Notebooks live in ``notebooks/NN-chapter-slug/MM-topic-slug.ipynb``: one folder
per book chapter, one notebook per design decision. A notebook can be named by
its path, by its short id ``"NN/MM"`` (``"08/03"``), or by its slug, with or
without the number (``"03-detecting-shifts"``, ``"detecting-shifts"``).

* The parameters come from the cell tagged ``parameters`` (read with papermill's
  own parser, so they match what papermill injects): names, defaults, descriptions.
* What each parameter may be comes from the ``PARAMETERS`` dictionary of the setup
  cell (see :mod:`mlsys_kit.params`), read from the source with :mod:`ast`, never
  executed: only ``Int``, ``Float``, ``Choice`` and ``Bool`` with literal arguments.
  A notebook without that dictionary has undeclared parameters (types only).
* The claims come from the stored outputs of the committed, executed notebook.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mlsys_kit.claims import Claim, claims_from_outputs
from mlsys_kit.params import DECLARATIONS, Bool, Choice, Declaration, Float, Int, ParameterError

__all__ = [
    "Notebook",
    "Parameter",
    "NotebookNotFound",
    "InvalidDeclaration",
    "notebooks_dir",
    "repository_folder",
    "discover",
    "find",
    "coerce_parameters",
    "read_declarations",
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


class InvalidDeclaration(ValueError):
    """A notebook's ``PARAMETERS`` dictionary is not one the catalog can read.

    A mistake in the notebook, not in the command: the message names the notebook and
    what to write instead.
    """


@dataclass(frozen=True)
class Parameter:
    """A notebook parameter: its name, default value, description and declaration.

    ``declaration`` is the parameter's entry in the notebook's ``PARAMETERS``
    (``Int(min=0)``, ``Choice("random", "time")``...), or ``None`` when the notebook
    does not declare it: then only its type (that of the default) is known.
    """

    name: str
    default: Any
    help: str
    declaration: Declaration | None = None

    @property
    def type_name(self) -> str:
        """``int``, ``float``, ``str``, ``bool``, ``list``... (from the default)."""
        return type(self.default).__name__

    def describe(self) -> str:
        """The values allowed, as ``mlsys-kit list`` shows them.

        The declaration's description (``"integer in [1, 5]"``) when there is one,
        else the default's type.
        """
        if self.declaration is None:
            return self.type_name
        return self.declaration.describe()


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
        """The parameters cell's names, defaults, descriptions and declarations, in order."""
        declared = self.declarations
        return {
            name: Parameter(param.name, param.default, param.help, declared.get(name))
            for name, param in _parameters(self.path).items()
        }

    @cached_property
    def declarations(self) -> dict[str, Declaration]:
        """The notebook's ``PARAMETERS`` dictionary, read from its code without running it.

        Empty when no code cell assigns ``PARAMETERS`` at its top level (the parameters
        are then undeclared).

        Raises
        ------
        InvalidDeclaration
            When ``PARAMETERS`` is not a literal dictionary of ``Int``, ``Float``,
            ``Choice`` and ``Bool`` calls with literal arguments, or is assigned twice.
        """
        found = None
        for cell in self._nb.get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            for node in _statements(_source(cell)):
                if _assigns_parameters(node):
                    if found is not None:
                        raise InvalidDeclaration(
                            f"{self.id} {self.name}: PARAMETERS is assigned twice; "
                            "declare every parameter once, in the setup cell"
                        )
                    found = node.value
        if found is None:
            return {}
        try:
            return read_declarations(found)
        except InvalidDeclaration as exc:
            raise InvalidDeclaration(f"{self.id} {self.name}: {exc}") from None

    @cached_property
    def code_hash(self) -> str:
        """A short hash of the code cells' sources: changes when what runs changes.

        Sweeps use it to tell a finished run of this notebook from a run of an
        older version, which they run again.
        """
        digest = hashlib.sha256()
        for cell in self._nb.get("cells", []):
            if cell.get("cell_type") == "code":
                digest.update(_source(cell).encode("utf-8") + b"\0")
        return digest.hexdigest()[:16]

    @property
    def source(self) -> dict[str, Any]:
        """The notebook's content as read from its file (what a remote worker receives)."""
        return self._nb

    @cached_property
    def claims(self) -> list[Claim]:
        """The claims stored in the committed notebook's outputs, lessons and checks."""
        return claims_from_outputs(self._nb.get("cells", []))

    @property
    def lessons(self) -> list[Claim]:
        """The stored claims that are lessons (see :func:`mlsys_kit.claims.claim`)."""
        return [c for c in self.claims if c.kind == "lesson"]

    @property
    def checks(self) -> list[Claim]:
        """The stored claims that are checks (see :func:`mlsys_kit.claims.check`)."""
        return [c for c in self.claims if c.kind == "check"]

    @cached_property
    def modules(self) -> list[str]:
        """The ``mlsys_kit`` modules the notebook's code uses, e.g. ``["design.latency", "sim"]``.

        Dotted below the package (``"monitoring.drift"``), read from the code's imports
        and ``mlsys_kit.x.y`` attribute chains; names imported from the top level count
        as the module that defines them. The setup, parameter and claim helpers
        (``notebook``, ``params``, ``claims``) are left out: every notebook uses them.
        """
        used: set[str] = set()
        for cell in self._nb.get("cells", []):
            if cell.get("cell_type") == "code":
                for statement in _statements(_source(cell)):
                    used.update(_modules_used(statement))
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


def _statements(code: str) -> list[ast.stmt]:
    """A cell's top-level statements; IPython magics and shell lines are skipped."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines()]
    try:
        return ast.parse("\n".join(lines)).body
    except SyntaxError:
        return []


_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _is_module(dotted: str) -> bool:
    """Whether ``mlsys_kit.<dotted>`` is a module or subpackage (by its file: no import)."""
    path = _PACKAGE_DIR.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _longest_module(parts: list[str]) -> str | None:
    for end in range(len(parts), 0, -1):
        if _is_module(".".join(parts[:end])):
            return ".".join(parts[:end])
    return None


def _attribute_chain(node: ast.Attribute) -> list[str] | None:
    parts = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if isinstance(current, ast.Name) and current.id == "mlsys_kit":
        return parts[::-1]
    return None


def _modules_used(statement: ast.stmt) -> set[str]:
    """The ``mlsys_kit`` modules one statement imports or reaches by attribute."""
    from mlsys_kit import _EXPORTS

    used = set()
    inner: set[int] = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mlsys_kit."):
                    used.add(alias.name.removeprefix("mlsys_kit."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "mlsys_kit":
                for alias in node.names:
                    if alias.name in _EXPORTS:
                        used.add(_EXPORTS[alias.name].removeprefix("mlsys_kit."))
                    elif _is_module(alias.name):
                        used.add(alias.name)
            elif node.module.startswith("mlsys_kit."):
                base = node.module.removeprefix("mlsys_kit.")
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    used.add(submodule if _is_module(submodule) else base)
        elif isinstance(node, ast.Attribute) and id(node) not in inner:
            chain = _attribute_chain(node)
            module = _longest_module(chain) if chain else None
            if module:
                used.add(module)
            # ast.walk visits the outer chain first: skip its parts (mlsys_kit.x of .x.y).
            value = node.value
            while isinstance(value, ast.Attribute):
                inner.add(id(value))
                value = value.value
    return used


def _assigns_parameters(node: ast.stmt) -> bool:
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == "PARAMETERS" for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        target = node.target
        return isinstance(target, ast.Name) and target.id == "PARAMETERS" and node.value is not None
    return False


def read_declarations(node: ast.expr | str) -> dict[str, Declaration]:
    """Evaluate a ``PARAMETERS`` dictionary safely: only the four declarations, literal arguments.

    Parameters
    ----------
    node : ast.expr or str
        The dictionary's expression, as source text or parsed.

    Returns
    -------
    dict of str to Declaration

    Raises
    ------
    InvalidDeclaration
        For anything but a dictionary of string keys to ``Int``, ``Float``, ``Choice``
        or ``Bool`` calls whose arguments are literals (numbers, negative numbers,
        strings, booleans, ``None``).

    Examples
    --------
    >>> read_declarations('{"n": Int(min=1_000, max=50_000), "mode": Choice("a", "b")}')
    {'n': Int(min=1000, max=50000), 'mode': Choice('a', 'b')}
    >>> read_declarations('{"n": Int(min=N_MIN)}')
    Traceback (most recent call last):
    ...
    mlsys_kit.kit.catalog.InvalidDeclaration: PARAMETERS['n']: argument min=N_MIN is not...
    """
    if isinstance(node, str):
        try:
            node = ast.parse(node, mode="eval").body
        except SyntaxError as exc:
            raise InvalidDeclaration(f"PARAMETERS is not valid Python: {exc}") from None
    if not isinstance(node, ast.Dict):
        raise InvalidDeclaration(
            f"PARAMETERS must be a literal dictionary {{...}}; got {ast.unparse(node)!r}"
        )
    declarations: dict[str, Declaration] = {}
    for key, value in zip(node.keys, node.values, strict=True):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            shown = "**" + ast.unparse(value) if key is None else ast.unparse(key)
            raise InvalidDeclaration(
                f"PARAMETERS keys must be parameter names in quotes; got {shown}"
            )
        if key.value in declarations:
            raise InvalidDeclaration(f"PARAMETERS declares {key.value!r} twice")
        declarations[key.value] = _declaration(key.value, value)
    return declarations


def _declaration(name: str, node: ast.expr) -> Declaration:
    where = f"PARAMETERS[{name!r}]"
    allowed = ", ".join(DECLARATIONS)
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise InvalidDeclaration(f"{where} must be a call of {allowed}; got {ast.unparse(node)}")
    kind = DECLARATIONS.get(node.func.id)
    if kind is None:
        raise InvalidDeclaration(
            f"{where}: {node.func.id}(...) is not a declaration; use {allowed}"
        )
    args = [_literal(where, None, arg) for arg in node.args]
    kwargs = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise InvalidDeclaration(f"{where}: **{ast.unparse(keyword.value)} is not allowed")
        kwargs[keyword.arg] = _literal(where, keyword.arg, keyword.value)
    try:
        return kind(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        raise InvalidDeclaration(f"{where}: {ast.unparse(node)} is not valid: {exc}") from None


_LITERALS = (int, float, str, bool, type(None))


def _literal(where: str, keyword: str | None, node: ast.expr) -> Any:
    shown = f"{keyword}={ast.unparse(node)}" if keyword else ast.unparse(node)
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        value = _NOT_LITERAL
    if not isinstance(value, _LITERALS):
        raise InvalidDeclaration(
            f"{where}: argument {shown} is not a literal; write the number, string or "
            "boolean itself (the catalog reads declarations without running the notebook)"
        )
    return value


_NOT_LITERAL = object()


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

    The lessons are the lessons stored in each committed notebook (its checks are
    counted after them); the modules are the topic modules its code imports (setup,
    parameter and claim helpers aside).
    """
    rows = ["| chapter | notebook | the lessons it checks | modules |", "|---|---|---|---|"]
    for nb in notebooks:
        chapter = f"{nb.chapter}. {CHAPTERS.get(nb.chapter, nb.chapter_slug)}"
        link = f"[{nb.id} {nb.title}](notebooks/{nb.chapter_slug}/{nb.path.name})"
        lines = [f"✔ {lesson.statement}" for lesson in nb.lessons]
        if nb.checks:
            lines.append(f"<i>and {len(nb.checks)} check{'s' * (len(nb.checks) > 1)}</i>")
        lessons = "<br>".join(lines).replace("|", r"\|") or "—"
        modules = ", ".join(f"`{module}`" for module in nb.modules) or "—"
        rows.append(f"| {chapter} | {link} | {lessons} | {modules} |")
    return "\n".join(rows)


def notebooks_dir() -> Path:
    """The folder that holds the chapter folders.

    ``MLSYS_KIT_NOTEBOOKS`` if set; else the repository's ``notebooks/`` (beside the
    installed package, for an editable install or a clone); else ``./notebooks``.
    """
    return repository_folder("notebooks", NOTEBOOKS_ENV)


def repository_folder(name: str, env: str) -> Path:
    """A top-level folder of the repository: the path in environment variable ``env`` if
    set; else ``name`` beside the installed package (an editable install or a clone); else
    ``./name``."""
    if value := os.environ.get(env):
        return Path(value)
    beside_package = Path(__file__).resolve().parents[2] / name
    if beside_package.is_dir():
        return beside_package
    return Path.cwd() / name


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
    """Turn ``-p NAME VALUE`` strings into checked values of each parameter.

    A declared parameter is read as its declaration's type and checked against it
    (``Int(min=1)`` refuses ``0``, ``Choice("a", "b")`` refuses ``"c"``); an
    undeclared one is read as the type of its default.

    Parameters
    ----------
    notebook : Notebook
        The notebook whose parameters cell defines names and defaults, and whose
        ``PARAMETERS`` declares what each may be.
    raw : dict of str to str
        Parameter values as typed on the command line.

    Returns
    -------
    dict
        Values of the right type (``int``, ``float``, ``bool``, ``str``, list...).

    Raises
    ------
    ParameterError
        For an unknown name (listing the notebook's parameters), a value that cannot
        be read as the parameter's type, or one that its declaration refuses.
    InvalidDeclaration
        When the notebook's ``PARAMETERS`` cannot be read.
    """
    known = notebook.parameters
    values = {}
    for name, text in raw.items():
        if name not in known:
            listed = ", ".join(known) or "none"
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ParameterError(
                f"{notebook.id} {notebook.name} has no parameter {name!r}.{hint} "
                f"Its parameters: {listed}"
            )
        param = known[name]
        value = _coerce(notebook, param, text)
        if param.declaration is not None:
            value = param.declaration.check(name, value, owner=notebook.id)
        values[name] = value
    return values


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def _declared_kind(param: Parameter) -> type | None:
    """The type a declaration reads its value as (None for a choice)."""
    declaration = param.declaration
    if isinstance(declaration, Int):
        return int
    if isinstance(declaration, Float):
        return float
    if isinstance(declaration, Bool):
        return bool
    if isinstance(declaration, Choice):
        return None
    return type(param.default)


def _coerce(notebook: Notebook, param: Parameter, text: str) -> Any:
    if isinstance(param.declaration, Choice):
        return _choice_value(param.declaration, text)
    kind = _declared_kind(param)

    def refuse(expected: str) -> ParameterError:
        return ParameterError(
            f"{notebook.id}: parameter {param.name!r} takes {expected}; got {text!r}"
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
            return float(text.replace("_", ""))
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


def _choice_value(choice: Choice, text: str) -> Any:
    """The option ``text`` names: the string itself, or a number or boolean written out."""
    for option in choice.options:
        if option == text or (not isinstance(option, str) and str(option) == text):
            return option
    try:
        return ast.literal_eval(text)  # refused by the declaration's check, with its options
    except (ValueError, SyntaxError):
        return text
