"""Chapters 1 and 2: what makes an ML system, and how to design one.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

==============  ======================================================================
``latency``     Ch. 1, "ML in Research Versus in Production" (computational priorities:
                latency percentiles, throughput, batching, queueing); reused by Ch. 3 and 7
``versioning``  Ch. 1, "ML Systems Versus Traditional Software" (code *and* data
                fingerprints); reused by Ch. 6 and 10
``framing``     Ch. 2, "Framing ML Problems" (classes per user or a score per pair)
``objectives``  Ch. 2, "Decoupling Objectives" (combined scores, Pareto fronts)
==============  ======================================================================

Chapter 2's "Mind Versus Data" uses :func:`mlsys_kit.modeling.evaluation.learning_curves`.
"""
