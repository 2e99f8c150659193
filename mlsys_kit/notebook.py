"""Notebook setup shared by every chapter: seeds, plot style, display, warnings.

Every notebook calls :func:`setup_notebook` once, right after validating its
parameters, so that all notebooks look alike, are reproducible from their
``seed`` parameter, and keep known third-party warning noise out of their stored
outputs (nbval fails on any stderr output). Files a notebook writes go to
:func:`output_dir`, never next to the notebook.
"""

from __future__ import annotations

import atexit
import functools
import os
import random
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

__all__ = ["setup_notebook", "output_dir", "COLORS", "PALETTE", "RUN_DIR_ENV", "FIGURES_ENV"]

RUN_DIR_ENV = "MLSYS_KIT_RUN_DIR"

#: Set to ``"text"`` in a kernel's environment to show figures only as their text
#: (``<Figure size 675x360 with 2 Axes>``), never drawn into images: for runs whose images
#: nobody looks at (the test suite's parameter sets, the claims reliability report), where
#: drawing is most of a small notebook's time. Anything else, or unset, draws them.
FIGURES_ENV = "MLSYS_KIT_FIGURES"

#: The image formats IPython renders a figure into when it is displayed.
_IMAGE_FORMATS = ("image/png", "image/jpeg", "image/svg+xml", "application/pdf")

#: Okabe–Ito colours by name: distinguishable with the common forms of colour blindness.
#: Notebooks colour by name (``COLORS["vermillion"]``) so that a figure's meaning survives
#: a change of palette; ``"grey"`` is for context (reference lines, bands, the untreated).
COLORS: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#999999",
    "light_grey": "#DDDDDD",
}

#: The colour cycle of every axes: the Okabe–Ito colours in their usual order.
PALETTE = tuple(
    COLORS[name]
    for name in ("blue", "orange", "green", "vermillion", "purple", "sky", "yellow", "black")
)

#: Known, harmless warnings of the pinned stack: (category, message regex, module regex).
_QUIET_WARNINGS: tuple[tuple[type[Warning], str, str], ...] = (
    # `import shap` touches a matplotlib API that matplotlib 3.11 marks as pending removal.
    (PendingDeprecationWarning, "", "shap"),
    (PendingDeprecationWarning, "", "matplotlib"),
    # tqdm's notebook progress bars need ipywidgets; shap imports tqdm.auto.
    (Warning, "IProgress not found", ""),
)


def setup_notebook(
    seed: int, *, style: bool = True, threads: int | None = 1
) -> np.random.Generator:
    """Prepare a notebook: seed every generator, set the kit's plot style and display.

    Parameters
    ----------
    seed : int
        Seeds Python's :mod:`random`, NumPy's legacy global generator, and the
        returned :class:`numpy.random.Generator`. Pass the notebook's ``seed``
        parameter; derive further seeds from the returned generator.
    style : bool, default True
        Apply the kit's matplotlib style (readable sizes, light grid, a
        colour-blind-safe palette).
    threads : int or None, default 1
        Threads for the native math libraries (BLAS, OpenMP) behind NumPy and
        scikit-learn. One thread keeps small experiments fast and their floats
        stable when several notebooks share a laptop's cores (as ``mlsys-kit run
        --jobs`` and the test suite do); ``None`` leaves the libraries' default.

    Returns
    -------
    numpy.random.Generator
        A generator seeded with ``seed``.

    Examples
    --------
    >>> rng = setup_notebook(seed=0, style=False)
    >>> float(rng.random()) == float(np.random.default_rng(0).random())
    True
    """
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - some libraries still read the global generator
    if threads is not None:
        _limit_threads(threads)
    _quiet_known_warnings()
    _set_display_options()
    _use_inline_figures()
    if os.environ.get(FIGURES_ENV) == "text":
        _show_figures_as_text()
    if style:
        _set_plot_style()
    return np.random.default_rng(seed)


def output_dir(name: str = "") -> Path:
    """Folder for files the notebook writes (Parquet files, databases, models).

    Under ``mlsys-kit run`` this is the notebook's own folder inside the run
    folder (the ``MLSYS_KIT_RUN_DIR`` environment variable), kept after the run.
    Otherwise it is a temporary folder, the same for every call in this process and
    removed when the process (the notebook's kernel) exits, so that running a notebook
    never writes into the repository nor leaves files behind. Set ``MLSYS_KIT_RUN_DIR``
    before starting the kernel to keep the files.

    Parameters
    ----------
    name : str, optional
        A sub-folder to create inside the output folder.

    Returns
    -------
    pathlib.Path
        An existing, writable folder.

    Examples
    --------
    >>> output_dir("models").name
    'models'
    >>> output_dir("models") == output_dir("models")
    True
    """
    root = os.environ.get(RUN_DIR_ENV)
    base = Path(root) if root else _process_temp_dir()
    folder = base / name if name else base
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@functools.cache
def _process_temp_dir() -> Path:
    """One temporary folder per process, deleted (with its contents) when the process exits."""
    folder = Path(tempfile.mkdtemp(prefix="mlsys-kit-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


#: Environment variables that native thread pools read when they are first loaded.
_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _limit_threads(threads: int) -> None:
    # threadpoolctl limits the pools already loaded (numpy's BLAS, and OpenMP if scikit-learn
    # was imported); the environment variables cover the ones loaded later, e.g. scikit-learn's
    # OpenMP when the notebook imports it after calling setup_notebook.
    for variable in _THREAD_ENV:
        os.environ[variable] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


def skip_iri_grammars() -> None:
    """Spare a process that reads or runs notebooks 0.8 s of start-up no notebook needs.

    nbformat (and so papermill, nbconvert and otter) imports ``jsonschema``, which imports
    every optional format-checker package it finds. One of them, ``rfc3987_syntax``
    (installed by the Jupyter packages through ``jsonschema[format-nongpl]``), compiles 38
    Earley grammars when it is imported: about 0.8 s of every such process, a known upstream
    cost (python-jsonschema/jsonschema issue 1428; jsonschema 4.26 is the newest release).
    It checks only the ``iri`` and ``iri-reference`` string formats, which no notebook
    schema uses. This marks the package absent, so jsonschema leaves those two formats
    unchecked, exactly as when it is not installed. A process that imported jsonschema
    already is left alone. The kit's machinery (:mod:`mlsys_kit.kit`) calls it on import.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


#: The backend that shows figures in a notebook's outputs.
_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def _use_inline_figures() -> None:
    """In a Jupyter kernel, show figures inline whatever ``MPLBACKEND`` says.

    A kernel inherits the environment of whoever started it: with ``MPLBACKEND=Agg``
    exported (common on servers and in CI), ``plt.show()`` would show nothing, and the
    stored outputs of a notebook would depend on the reader's shell. ``%matplotlib
    inline`` (silent) makes every kernel draw the same way. Outside a kernel (a script,
    a doctest, a terminal IPython) nothing changes.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return
    import matplotlib

    if matplotlib.get_backend(auto_select=False) in ("inline", _INLINE_BACKEND):
        return
    shell.run_line_magic("matplotlib", "inline")


def _show_figures_as_text() -> None:
    """Display figures by their text only: the inline backend then never draws them.

    The kernel still builds every figure (so a plotting error still fails the run) and
    shows its text, as in the stored outputs; what it skips is rendering: the layout
    engine, the drawing and the PNG encoding, about a second for a multi-panel figure.
    """
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return
    for mime in _IMAGE_FORMATS:
        shell.display_formatter.formatters[mime].enabled = False


def _quiet_known_warnings() -> None:
    for category, message, module in _QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)


def _set_display_options() -> None:
    import pandas as pd

    pd.set_option("display.precision", 3)
    pd.set_option("display.width", 120)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.max_colwidth", 80)


def _set_plot_style() -> None:
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "figure.figsize": (7.5, 4.0),
            "figure.dpi": 90,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.labelsize": 10.5,
            "legend.frameon": False,
            "axes.prop_cycle": cycler(color=PALETTE),
            "figure.constrained_layout.use": True,
        }
    )
