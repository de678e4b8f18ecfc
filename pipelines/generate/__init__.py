"""Synthetic landing folders in the data contract (spec §1), for demos, tests and load runs.

Why a generator: the conformance fixture is small and hand-made; to see the grading show a real
spread (levels L0-L10, all four service tiers, every compliance rule) and to time the pipeline
at 10 million orders a month we need data that looks like a marketplace, is reproducible byte
for byte from a seed, and carries a few bad rows of every quarantine kind so the ingest checks
are exercised on every run.

Design choices:
- The columns, their types and the enum labels come from the contract (pipelines/datasets.py)
  and month parsing from pipelines/months.py: the generator declares no schema of its own.
- Every random draw comes from its own seeded stream (``streams``), so the output does not
  depend on chunk processing order and a chunk can be regenerated alone.
- Everything is vectorised with numpy (draws) and polars (strings, formatting); Python loops
  only run over months, datasets and chunks, never over rows.
- Merchants stay clean (no bad rows) so that every merchant is graded.

Where things are, in the order a run uses them:
- ``entry``: ``generate_landing``, the entry point (arguments, folders, the month loop);
- ``month_plan``: ``parse_month_range`` and the generated months' bounds;
- ``schema``: the contract's columns as polars / Arrow / CSV schemas, enum labels, units;
- ``streams``: the seeded random streams;
- ``merchants``: the merchant population and its monthly snapshots;
- ``orders``: orders, feedback and bad-order records of a chunk; ``service``: service metrics;
- ``bad_rows``: the deliberate bad rows of every month (``BAD_ROWS_PER_MONTH``);
- ``run`` and ``writers``: the month writers; ``files``: Parquet and CSV output.
"""

from __future__ import annotations

from pipelines.generate.bad_rows import BAD_ROWS_PER_MONTH
from pipelines.generate.entry import CHUNK_ORDERS, generate_landing
from pipelines.generate.month_plan import parse_month_range
from pipelines.generate.schema import DATASET_NAMES, FRAME_SCHEMAS, SCHEMAS

__all__ = [
    "BAD_ROWS_PER_MONTH",
    "CHUNK_ORDERS",
    "DATASET_NAMES",
    "FRAME_SCHEMAS",
    "SCHEMAS",
    "generate_landing",
    "parse_month_range",
]
