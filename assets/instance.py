"""The Dagster instance a ``grading run`` records its runs in: the one ``make ui`` opens.

A run recorded in a throwaway (ephemeral) instance leaves the UI's run history and
partition metadata behind the warehouse: the UI then shows the counts of an older run.
So every CLI run is recorded in a real instance: ``DAGSTER_HOME`` when it is set, else
``dagster_home`` beside the warehouse file (``data/dagster_home`` for the demo's
``data/warehouse.duckdb``, the folder ``make ui`` points DAGSTER_HOME at).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

HOME_FOLDER = "dagster_home"
# Written into a Dagster home the CLI creates; the same settings as the repository's
# dagster.yaml, which `make ui` copies (tests/test_dagster_ui.py keeps the two equal).
INSTANCE_YAML = """\
# Instance settings for `make ui`. The warehouse is one DuckDB file with a single
# writer, so runs (including each month of a backfill) are queued one at a time.
run_queue:
  max_concurrent_runs: 1
telemetry:
  enabled: false
"""


def dagster_home(warehouse: Path, environ: Mapping[str, str] | None = None) -> Path:
    """DAGSTER_HOME when set, else the ``dagster_home`` folder beside the warehouse."""
    environ = os.environ if environ is None else environ
    if environ.get("DAGSTER_HOME"):
        return Path(environ["DAGSTER_HOME"])
    return Path(warehouse).resolve().parent / HOME_FOLDER


@contextmanager
def run_instance(warehouse: Path) -> Iterator[dg.DagsterInstance]:
    """The instance the run is recorded in, created with the project's settings when new."""
    home = dagster_home(warehouse)
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        settings.write_text(INSTANCE_YAML, encoding="utf-8")
    with dg.DagsterInstance.from_config(str(home.resolve())) as instance:
        yield instance
