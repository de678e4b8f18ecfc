"""Resources: where the landing folder, the warehouse file, the outputs and the policy are."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from pipelines import month_journal
from pipelines.checks.validation import DEFAULT_CHUNK_ROWS
from pipelines.locking import exclusive_run
from pipelines.policy import Policy, PolicyCalendar, load_calendar, load_policy
from pipelines.warehouse import compact_on_close, connect


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file; every connection has the schema and UTC set up.

    A run holds the warehouse's run lock (pipelines/locking.py) from the resource's
    setup to its teardown, so runs launched from the UI, the schedule or a backfill
    exclude a CLI run and each other, as the CLI's runs do. A second run waits up to
    ``lock_wait_seconds``, then fails with WarehouseBusy before touching anything.
    """

    path: str
    lock_wait_seconds: float = 0.0

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[WarehouseResource]:
        """The run's lifetime: the lock is taken before its first step, released after."""
        with exclusive_run(Path(self.path), self.lock_wait_seconds):
            yield self

    @contextmanager
    def connection(self, compact: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """``compact``: the closing checkpoint may also vacuum (``compact_on_close``)."""
        con = connect(Path(self.path))
        try:
            yield con
            if compact:
                compact_on_close(con)
        finally:
            con.close()

    @contextmanager
    def month_writer(
        self, context: dg.AssetExecutionContext, compact: bool = False, publishes: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for a step that writes the run's month.

        The month's rows as they were before the run are kept first
        (``month_journal.open_month``), and put back if the step raises; a failed check
        puts them back too (``assets.checks.run_suite_check``). So a run that does not
        publish leaves the warehouse as it found it, however it was launched: the CLI,
        the job, or a selection materialized in the UI.

        A step that finishes is recorded for the run (``month_journal.record_step``), so
        the publishing step (``publishes``) can refuse results this run did not build.
        """
        month, run_id = context.partition_key, context.run.run_id
        with self.connection(compact) as con:
            month_journal.open_month(con, month, run_id)
            try:
                yield con
            except BaseException:
                month_journal.roll_back_after_failure(con, month, context.log)
                raise
            if not publishes:
                month_journal.record_step(con, month, run_id, context.asset_key.to_user_string())


class GradingSettings(dg.ConfigurableResource):
    """Inputs and outputs of a grading run.

    ``policy_file`` is the policy calendar: a folder of policy files or one file (a
    calendar of one policy); empty means the shipped folder. Each month is graded under
    the policy in force for it. ``policy_override``, when set, is one policy file every
    month is graded under instead: an explicit restatement, logged as one.
    """

    landing_dir: str
    outputs_dir: str
    policy_file: str = ""
    policy_override: str = ""
    # Rows per Arrow chunk handed to Great Expectations: bounds the checks' memory.
    check_chunk_rows: int = DEFAULT_CHUNK_ROWS
    # Which engine does the row-level work (docs/decisions/spark.md): "duckdb" (one
    # machine, the default) or "spark" (a cluster at spark_master, rows under lake_dir).
    engine: str = "duckdb"
    spark_master: str = ""
    lake_dir: str = ""

    @property
    def uses_spark(self) -> bool:
        return self.engine == "spark"

    def lake(self, warehouse: str) -> str:
        """The lake's path or URI: as given, else ``lake`` beside the warehouse file."""
        return self.lake_dir or str(Path(warehouse).parent / "lake")

    def calendar(self) -> PolicyCalendar:
        return load_calendar(self.policy_file or None)

    def policy_for(self, month: str) -> Policy:
        """The policy ``month`` is graded under: the override, else the calendar's."""
        if self.policy_override:
            return load_policy(self.policy_override)
        return self.calendar().policy_for(month)

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def outputs(self) -> Path:
        return Path(self.outputs_dir)
