"""Chapter 10, "Infrastructure and Tooling for MLOps".

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

==================  =====================================================================
``environment``     "Development Environment" (standardized environments, from dev to prod:
                    containers) and "Build Versus Buy": a container recipe and the running
                    environment checked against ``constraints.txt``; one pipeline step as a
                    papermill notebook and as a function; a hand-written point-in-time join,
                    lines of code and setup costs for the build-or-buy table
``feature_store``   "Feature Store" (feature management, computation and consistency) and
                    chapter 5's leakage through the future: one window-feature definition
                    materialized to an offline table (DuckDB ``ASOF JOIN`` and pandas
                    ``merge_asof``) and a SQLite online store; a naive latest-value join
                    against the point-in-time join, and a training/serving skew check
``model_store``     "Model Store": MLflow's model registry on a SQLite store in the run
                    folder; each version with its artifact (skops), features, training-data
                    and code versions, code, metrics, dependencies and lineage; promotion
                    and rollback by moving an alias, and trusted loading (the registry's
                    SHA-256, skops trusted types)
``pipelines``       "Cron, Schedulers, and Orchestrators": a training pipeline (ingest →
                    features → train → evaluate → register) as dagster assets run
                    in-process, with retries, resume from a failure, reruns of what a code
                    change made stale, and daily backfills, against the cron script that
                    runs every step in order
==================  =====================================================================
"""
