"""The kit's machinery: what the ``mlsys-kit`` command does, never imported by a notebook.

===============  =========================================================================
``catalog``      find the notebooks, their declared parameters and their stored claims
``runner``       execute run specs with papermill (locally or on a Dask cluster) into a run
                 folder; collect claims, metrics and results
``sweep``        parameter grids as run specs, resumable sweeps, their tidy table and figure
``reliability``  every claim's pass rate and margins on unseen seeds: the reliability report
``classroom``    the teacher's workflow: find the exercises, release them (``otter assign``),
                 check a master, grade a folder of submissions (``otter run``) into one table
``book``         the executed notebooks as a static site that reads offline: chapter map,
                 pages with parameters, lessons, verdicts and margins, prev/next
``kernels``      the test suite's notebook kernels, forked from one process that has done
                 their imports (a jupyter_client kernel provisioner)
``cli``          the ``mlsys-kit`` command: ``list``, ``run``, ``sweep``, ``reliability``,
                 ``refresh``, ``serve``, ``exercises``, ``book``
===============  =========================================================================

The claims reliability report serves the kit's lesson standard (``CONTRIBUTING.md``): a
lesson of the book, shown by a notebook, must hold on seeds nobody tuned.
"""

from mlsys_kit.notebook import skip_iri_grammars

skip_iri_grammars()  # every module here reads or runs notebooks: 0.8 s less per process
