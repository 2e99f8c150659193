"""The kit's machinery: what the ``mlsys-kit`` command does, never imported by a notebook.

==========  ==============================================================================
``catalog``  find the notebooks, their declared parameters and their stored claims
``runner``   execute run specs with papermill into a run folder; collect claims and results
``cli``      the ``mlsys-kit`` command: ``list``, ``run``, ``refresh``
==========  ==============================================================================
"""
