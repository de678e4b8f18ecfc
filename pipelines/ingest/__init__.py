"""Ingest (spec §1): a landing month folder, read, cast, classified and stored.

- ``reading``: one landing file as the contract's typed columns (CSV or Parquet);
- ``casting``: the exact casts from text and from Parquet types;
- ``classify``: the quarantine reasons, in the spec's order, and the collapse of copies;
- ``load``: a dataset-month replaced whole in ``raw.*``, with its quarantine and log;
- ``report``: what an ingest did.

The landing folder's layout and files are ``pipelines.landing``.
"""

from pipelines.ingest.load import dataset_fingerprint, ingest_month
from pipelines.ingest.report import IngestReport
from pipelines.landing import IngestError

__all__ = ["IngestError", "IngestReport", "dataset_fingerprint", "ingest_month"]
