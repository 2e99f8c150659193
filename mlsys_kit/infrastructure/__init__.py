"""Chapter 10, "Infrastructure and Tooling for MLOps".

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

==================  =====================================================================
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
==================  =====================================================================
"""
