"""The Spark engine (``grading run --engine spark``): the row-level work on a Spark cluster.

- ``session``: one Spark session per process, for a ``spark://`` or ``sc://`` URL;
- ``transpile``: the warehouse's DuckDB SQL, transpiled to Spark SQL with sqlglot (one
  definition of each query);
- ``lake``: raw and quarantined rows as Parquet partitioned by month, a month replaced
  whole;
- ``ingest``: a landing month folder read, cast and classified on Spark;
- ``aggregates``: the window aggregates per merchant, computed on Spark for DuckDB's
  grading and publish steps.

pyspark and sqlglot are the optional ``spark`` extra; nothing here imports them at
module import time.
"""
