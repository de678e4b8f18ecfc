"""Opening the DuckDB warehouse: one place that sets the session the SQL relies on."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from functools import cache
from pathlib import Path

import duckdb
import polars as pl

from pipelines.datasets import STORAGE_TYPES
from pipelines.env_settings import SettingInvalid, seconds_setting, setting_text
from pipelines.error_text import first_line
from pipelines.sql_files import load_sql

# DuckDB may use this much memory, then spills to a temp folder beside the warehouse,
# so a month of 100 million orders stays in bounded memory on a 24 GB machine. Checked
# by check_memory_limit, with DuckDB's own reading of a size.
MEMORY_LIMIT = setting_text("GRADING_DUCKDB_MEMORY_LIMIT") or "4GB"


class MemoryLimitInvalid(SettingInvalid):
    """GRADING_DUCKDB_MEMORY_LIMIT is not a size DuckDB takes as its memory limit."""


@cache
def check_memory_limit() -> None:
    """Refuse (``MemoryLimitInvalid``) a GRADING_DUCKDB_MEMORY_LIMIT DuckDB does not take,
    before any warehouse is opened: "abc" or "0" ended in DuckDB's parser error and a
    traceback from the first connection (a review, 2026-12-07). Tried on an in-memory
    database, so a new warehouse file is not made by a command that cannot run."""
    try:
        with duckdb.connect(":memory:") as con:
            con.execute("SET memory_limit = $limit", {"limit": MEMORY_LIMIT})
    except duckdb.Error as exc:
        raise MemoryLimitInvalid(
            f"GRADING_DUCKDB_MEMORY_LIMIT={MEMORY_LIMIT!r} is not a memory size DuckDB "
            f"takes ({first_line(exc)}): set it as a number and a unit, like 4GB or 512MB, "
            f"or unset it for the default of 4GB"
        ) from exc


def spill_folder(warehouse: str | Path) -> Path:
    """Where DuckDB spills what does not fit its memory limit: ``<warehouse>.tmp`` beside
    the file, absolute (DuckDB does not expand "~")."""
    warehouse = Path(warehouse)
    return warehouse.absolute().with_name(warehouse.name + ".tmp")


def out_of_memory_hint(warehouse: str | Path | None = None) -> str:
    """What to do when DuckDB ran out of memory: within its limit, or with its temp
    folder full ("failed to offload data block"). Said after DuckDB's own line, which
    named neither the setting nor the folder (a review, 2026-12-07)."""
    folder = (
        f"its temp folder {spill_folder(warehouse)}"
        if warehouse is not None
        else "its temp folder, <warehouse>.tmp or a preview's under TMPDIR,"
    )
    return (
        f"DuckDB ran out of memory within GRADING_DUCKDB_MEMORY_LIMIT={MEMORY_LIMIT} "
        f"(or {folder} was full): raise the limit, or free space in that folder, and run "
        f"again"
    )


class WarehouseLocked(RuntimeError):
    """Another process keeps the DuckDB file open."""


class WarehouseOutdated(RuntimeError):
    """The warehouse was made by an earlier version of grading, and a read-only connection
    cannot bring its schema up to date."""


class WarehousePathError(ValueError):
    """A warehouse path DuckDB cannot keep a database at, or would read as another."""


# A file name's limit in bytes (Linux, macOS); the files beside the warehouse add at most
# ".lock" to its name (.lock, .tmp, .wal).
NAME_MAX = 255
SIBLING_SUFFIX = ".lock"


def unusable_path_reason(path: str | Path) -> str | None:
    """Why DuckDB cannot keep a database at ``path`` as written, or None.

    DuckDB (2.0.1) takes what follows a ``?`` in a database path as options: it opens the
    file, but puts its write-ahead log at ``<part before ?>.wal?<rest>``, so every commit
    fails (and a read-only copy opens without its log). It reads ``\\`` as ``/``, so
    ``a\\b.duckdb`` is the file ``b.duckdb`` in a folder ``a``, while the lock and every
    check are on the file named as written (found 2026-12-06). Any other character, quotes
    and glob patterns included, is a name like any other.
    """
    text = str(path)
    if "?" in text:
        return (
            "DuckDB reads what follows '?' in a database path as options, and cannot "
            "write the file's log there"
        )
    if "\\" in text:
        return "DuckDB reads '\\' in a database path as '/', and would open another file"
    size = len(Path(path).name.encode("utf-8", "surrogateescape"))
    if size > NAME_MAX - len(SIBLING_SUFFIX):
        return (
            f"its file name is {size} bytes, and the files kept beside it add "
            f"'{SIBLING_SUFFIX}' to it: at most {NAME_MAX - len(SIBLING_SUFFIX)} bytes fit"
        )
    return None


def refuse_unusable_path(path: str | Path) -> None:
    """Refuse a warehouse path DuckDB cannot use as written, naming it and why."""
    reason = unusable_path_reason(path)
    if reason:
        raise WarehousePathError(f"warehouse {path}: {reason}; choose another path")


def configure(
    con: duckdb.DuckDBPyConnection, path: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """UTC everywhere (timestamps are stored naive, in UTC), bounded memory, the schema."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET memory_limit = $limit", {"limit": MEMORY_LIMIT})
    # Row order of a table is never relied on (every export and check orders explicitly);
    # not keeping it lets large inserts stream in parallel within the memory limit.
    con.execute("SET preserve_insertion_order = false")
    # No vacuum tasks at checkpoint, but at the month's last close when deleted rows
    # call for it (compact_on_close). They merge partly filled row groups and drop
    # deleted rows: at every asset's close they rewrote the month's row groups again
    # (measured in bench/README.md, "Measurements from code comments"). Row groups
    # whose rows are all deleted are dropped either way.
    con.execute("SET max_vacuum_tasks = 0")
    if path is not None:
        con.execute("SET temp_directory = $dir", {"dir": str(spill_folder(path))})
    if not _has_schema(con):
        con.execute(load_sql("warehouse/schema.sql"))
        _widen_amounts(con)
    return con


def _has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse already holds every table, column (of its type) and view
    that schema.sql makes. Then the script is not run again: its CREATE OR REPLACE VIEW
    and ALTERs change the catalog, so every connection wrote and checkpointed it at its
    close (a run opens about fifteen a month). Anything missing or different runs it."""
    return _schema_sql_catalog() <= _catalog(con)


@cache
def _schema_sql_catalog() -> frozenset[tuple]:
    """The catalog schema.sql makes in an empty database (in memory), once a process."""
    with duckdb.connect(":memory:") as con:
        con.execute(load_sql("warehouse/schema.sql"))
        return frozenset(_catalog(con))


def _catalog(con: duckdb.DuckDBPyConnection) -> set[tuple]:
    """The database's own columns (with their types) and views (with their SQL)."""
    return set(
        fetch_rows(
            con,
            "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = current_database() AND NOT internal "
            "UNION ALL SELECT schema_name, view_name, NULL, sql FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT internal",
        )
    )


def _widen_amounts(con: duckdb.DuckDBPyConnection) -> None:
    """Warehouses made when amounts were DECIMAL(38,10) get the exact storage type once
    (an ALTER rewrites the column, so it runs only when the type differs)."""
    wanted = STORAGE_TYPES["decimal"]
    older = fetch_rows(
        con,
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'raw' "
        "AND column_name IN ('amount_usd', 'order_amount_usd') "
        "AND replace(data_type, ' ', '') <> $wanted",
        {"wanted": wanted},
    )
    for table, column in older:
        con.execute(f'ALTER TABLE raw."{table}" ALTER COLUMN "{column}" TYPE {wanted}')


# DuckDB's default number of vacuum tasks per checkpoint.
VACUUM_TASKS = 100
# DuckDB's rows per row group: the deleted rows a table may hold before a vacuum.
ROW_GROUP_ROWS = 122_880


def compact_on_close(con: duckdb.DuckDBPyConnection) -> bool:
    """Let this connection's closing checkpoint vacuum the warehouse, when a table holds
    a row group's worth of deleted rows; returns whether it will.

    Months share row groups where a table gains less than a row group a month; a month
    replaced there (a rerun, a restatement) leaves its old rows behind as deleted rows
    until a vacuum drops them, or every other row of their row group is deleted too.
    The month's last writer asks. Below a row group of them (a first run deletes only
    its few repeated and rejected rows) the vacuum is skipped: it would merge partly
    filled row groups to drop fewer deleted rows than one row group holds (its cost is
    in bench/README.md).
    """
    if deleted_rows(con) < ROW_GROUP_ROWS:
        return False
    con.execute("SET max_vacuum_tasks = $tasks", {"tasks": VACUUM_TASKS})
    return True


def deleted_rows(con: duckdb.DuckDBPyConnection) -> int:
    """The most deleted rows any table of the warehouse holds: its stored rows (DuckDB's
    ``estimated_size`` counts the deleted ones) less its rows, which DuckDB counts from
    its row groups' metadata (a few ms for 30M rows)."""
    tables = fetch_rows(
        con,
        "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
        "WHERE NOT temporary AND database_name = current_database()",
    )
    return max(
        (
            stored - fetch_value(con, f'SELECT count(*) FROM "{schema}"."{table}"')
            for schema, table, stored in tables
        ),
        default=0,
    )


# How long to wait for another process's connection to let go of the file.
LOCK_TIMEOUT_SECONDS = seconds_setting("GRADING_LOCK_TIMEOUT", 30.0)


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (created with its schema when new).

    DuckDB allows one process to write a file; a short-lived reader elsewhere (say a
    notebook that opened the file directly) is waited for, then reported clearly.
    Read-only, the schema is taken as it is (``refuse_outdated_schema``).
    """
    path = Path(path)
    refuse_unusable_path(path)
    if not read_only:
        check_memory_limit()
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
    while True:
        try:
            # Absolute: DuckDB reads a leading '~' as the home folder, and ':memory:' or
            # 'md:' at the start of a relative path as other databases than the file.
            con = duckdb.connect(str(path.absolute()), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if not is_lock_conflict(exc):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLocked(
                    f"warehouse {path} is held by another process for "
                    f"{LOCK_TIMEOUT_SECONDS:g}s: {first_line(exc)}"
                ) from exc
            time.sleep(0.25)
    if read_only:
        con.execute("SET TimeZone = 'UTC'")
        return con
    remove_stale_spill_files(path)
    return configure(con, path)


# DuckDB's spill files: duckdb_temp_<process id>_<n>_owner, ..._storage_<size>-<n>.tmp
SPILL_FILE = re.compile(r"duckdb_temp_(\d+)_")


def remove_stale_spill_files(path: Path) -> list[Path]:
    """Delete the spill files another process left in ``<warehouse>.tmp``; returns them.

    DuckDB deletes its spill files when its database closes, but a process killed or
    aborted while spilling (the OOM killer, an allocation that fails in polars) leaves
    them, and a later run that does not spill leaves them too: a review killed a month
    spilling under a 128MB limit and found 115 MB there after the next run (2026-12-07).
    Called once this process holds the warehouse for writing: DuckDB lets no other
    process open the file then, so no other process spills there; this process's own
    files (other connections of it) are kept."""
    folder = spill_folder(path)
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:  # no folder yet (or not one): nothing left there
        return removed
    for entry in entries:
        owner = SPILL_FILE.match(entry.name)
        if owner and int(owner[1]) != os.getpid():
            try:
                entry.unlink()
                removed.append(entry)
            except OSError:  # DuckDB reports an unusable folder when it spills
                pass
    return removed


def changes_left_in_wal(path: str | Path) -> Path | None:
    """The warehouse's write-ahead log when it still holds changes after every connection
    closed, else None.

    Closing the last connection folds the log into the file (a checkpoint) and removes
    it. When that fails, on a full disk, DuckDB says nothing: the committed changes are
    safe in the log, and the next open folds them in, but a copy of the warehouse file
    alone lacks them (a review filled the disk to within 8 MB, and a run exited 0 with
    its month only in the log, 2026-12-07). Callers say so."""
    wal = Path(f"{Path(path).absolute()}.wal")
    try:
        return wal if wal.stat().st_size > 0 else None
    except FileNotFoundError:
        return None


def refuse_outdated_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse (``WarehouseOutdated``) a warehouse opened read-only whose schema is behind
    this code's: made by an earlier version and not yet run by this one. The reading
    commands that read what later versions added (summary, explain, the dashboard) ended
    in a traceback naming a missing column or table (a review, 2026-12-06). Not made by
    ``connect`` itself: the deadline check and the notebooks' copies read only what every
    version keeps, and stay readable after an upgrade."""
    if not _has_schema(con):
        raise WarehouseOutdated(
            f"warehouse {path} was made by an earlier version of grading, and reading it "
            f"does not bring it up to date: run `grading run` on it once (it updates the "
            f"warehouse and regrades the months this version grades otherwise), then read "
            f"it again"
        )


def is_lock_conflict(exc: duckdb.IOException) -> bool:
    """Whether DuckDB refused the file because another process holds its lock.

    Judged by the start of DuckDB's message, never by a word anywhere in it: the message
    quotes the file's path, and a path such as ``/data/blocks/w.duckdb`` made every
    error of that file (one that is not a DuckDB database, say) look like a lock to wait
    for, then be reported as held by another process (found by an audit, 2026-12-05).
    """
    return str(exc).startswith("IO Error: Could not set lock on file ")


def database_path(con: duckdb.DuckDBPyConnection) -> Path:
    """The file of the connection's database."""
    return Path(
        fetch_value(
            con, "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        )
    )


def replace_month(
    con: duckdb.DuckDBPyConnection,
    table: str,
    month: str,
    frame: pl.DataFrame,
    columns: tuple[str, ...],
    also: tuple[str, dict] | None = None,
) -> int:
    """Idempotent partition write: delete the month, insert the frame, in one transaction.

    ``table`` and ``columns`` come from code, never from data; values travel as Arrow.
    ``also``, a statement and its parameters, runs in the same transaction.
    """
    con.register("_month_frame", frame.select(columns).to_arrow())
    column_list = ", ".join(columns)
    try:
        with transaction(con):
            con.execute(f"DELETE FROM {table} WHERE month = $month", {"month": month})
            con.execute(
                f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM _month_frame"
            )
            if also:
                con.execute(also[0], bound_params(*also))
    finally:
        con.unregister("_month_frame")
    return frame.height


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block in one transaction: committed at its end, rolled back (and the
    error raised again) if anything in it, or the commit itself, fails.

    The error raised is always the one that stopped the block. A failed commit (a full
    disk: "No space left on device") has already ended the transaction, so the
    rollback fails too ("no transaction is active"); that second error is only noted
    on the first, never raised in its place.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except Exception as failure:
        _roll_back(con, failure)
        raise


def _roll_back(con: duckdb.DuckDBPyConnection, failure: Exception) -> None:
    """ROLLBACK; if it fails as well, note that on ``failure`` and let ``failure`` stand."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error as rollback_error:
        failure.add_note(f"(the rollback failed too: {first_line(rollback_error)})")


def fetch_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | None = None
) -> pl.DataFrame:
    """A query's whole result as a polars frame (parameters bound, never interpolated)."""
    return con.sql(sql, params=params or {}).pl()


def fetch_rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | None = None
) -> list[tuple]:
    """All rows of a query; fetching everything leaves the connection free for more work."""
    return con.execute(sql, params or {}).fetchall()


def fetch_value(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | None = None
) -> object:
    """The first column of the first row, or None when there is no row."""
    rows = fetch_rows(con, sql, params)
    return rows[0][0] if rows else None


def read_value_if_readable(
    path: str | Path, sql: str, params: dict[str, object] | None = None
) -> object:
    """``fetch_value`` on the warehouse file opened read-only as it is (no schema set-up);
    None when the file does not exist or cannot be read now (another process writing it
    holds DuckDB's lock). For a caller that must go on either way: the partitions'
    first month, the wording of a refusal."""
    if not Path(path).is_file():
        return None
    try:
        with closing(duckdb.connect(str(path), read_only=True)) as con:
            return fetch_value(con, sql, params)
    except duckdb.Error:
        return None


def statements(sql: str) -> list[str]:
    """Split a SQL file into statements (our files keep ';' only at line ends)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip().strip(";").strip()]


def bound_params(sql: str, params: dict[str, object]) -> dict[str, object]:
    """The parameters a statement names ($name), exactly: DuckDB refuses extra ones, and a
    substring test would take $month for $month_start."""
    used = set(re.findall(r"\$(\w+)", sql))
    return {k: v for k, v in params.items() if k in used}


def run_script(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> None:
    """Run each statement of a script with the named parameters it uses."""
    for statement in statements(sql):
        con.execute(statement, bound_params(statement, params))
