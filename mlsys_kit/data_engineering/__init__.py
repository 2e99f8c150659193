"""Chapter 3, "Data Engineering Fundamentals".

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

================  ======================================================================
``formats``       "Data Formats": CSV, JSON lines and Parquet; row- and column-major
``storage``       "Data Storage Engines and Processing": SQLite (OLTP) against DuckDB
                  (OLAP); ETL against ELT
``dataflow``      "Modes of Dataflow": through a database, a service, a broker
``streaming``     "Batch Processing Versus Stream Processing": one feature, two pipelines
``data_models``   "Data Models": the same data as relational tables, documents and a graph;
                  schema on write against schema on read
================  ======================================================================
"""
