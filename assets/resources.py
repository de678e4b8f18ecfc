"""Resources: where the landing folder, the warehouse file, the outputs and the policy are."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.policy import Policy, PolicyCalendar, load_calendar, load_policy
from pipelines.validation import DEFAULT_CHUNK_ROWS
from pipelines.warehouse import compact_on_close, connect


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file; every connection has the schema and UTC set up."""

    path: str

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
