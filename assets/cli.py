"""The ``grading`` command line: run months through the pipeline, generate sample data."""

from __future__ import annotations

import argparse
import codecs
import errno
import os
import re
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from assets.cli_options import missing_warehouse_folder, package_version, path_option
from assets.exception_chain import exception_chain
from pipelines.env_settings import SettingInvalid
from pipelines.error_text import first_line
from pipelines.local_time import use_utc_as_local_time

if TYPE_CHECKING:  # imported by the commands that need them, not at start-up
    from pipelines.policy import Policy, PolicyCalendar

# Shown by `grading --help`: plain words, where the module docstring is reStructuredText.
DESCRIPTION = (
    "Merchant grading: grade landing months into a DuckDB warehouse, and explain, "
    "preview, summarise and chart the published grades. --landing, --warehouse, "
    "--outputs and --policy default to $GRADING_LANDING, $GRADING_WAREHOUSE, "
    "$GRADING_OUTPUTS and $GRADING_POLICY."
)


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        restart_in_utf8_mode()
    use_utc_as_local_time()  # GE's Data Docs render times in the local zone
    # Dagster flags preview/beta parameters at import; they are not the user's concern.
    warnings.filterwarnings("ignore", module="dagster")
    warnings.filterwarnings("ignore", message=".*(preview|beta).*")
    # GE imports pyspark when it is installed, in a background thread during the first
    # month; its pandas-version warning would land between the progress lines.
    warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
    parser = build_parser()
    args = parser.parse_args(argv)
    stdout = sys.stdout
    sys.stdout = ReaderGoneSafe(stdout)  # type: ignore[assignment]
    try:
        return args.handler(args)
    except Exception as exc:
        if isinstance(exc, SettingInvalid):  # a GRADING_* variable, read as a module loads
            return fail(str(exc))
        warehouse = sys.modules.get("pipelines.warehouse")
        if warehouse is not None and isinstance(exc, warehouse.WarehouseOutdated):
            return fail(str(exc))
        duckdb = sys.modules.get("duckdb")
        if warehouse is not None and duckdb is not None:
            memory = next(
                (e for e in exception_chain(exc) if isinstance(e, duckdb.OutOfMemoryException)),
                None,
            )
            if memory is not None:  # outside a month's steps (they say it in their line)
                # A preview works on a copy of the warehouse under TMPDIR, spilling there.
                spills_beside = args.handler is not preview_command
                hint = warehouse.out_of_memory_hint(
                    getattr(args, "warehouse", None) if spills_beside else None
                )
                return fail(f"{first_line(memory)}; {hint} (the months published before stand)")
        message = file_access_error(exc)
        if message is None:
            raise
        return fail(message)
    finally:
        sys.stdout = stdout


def file_access_error(exc: BaseException) -> str | None:
    """A file the command could not open or write outside Dagster's steps (whose
    failures a run reports as its month's): the warehouse's lock file in a read-only
    folder, a warehouse file without write permission, a landing folder it may not list.
    These ended in a traceback (a review, 2026-12-06); now in one line naming the file.
    The months published before stand, as after any failure. A full disk is looked for
    first (``disk_full_error``). None for any other error."""
    full = disk_full_error(exc)
    if full is not None:
        return full
    duckdb = sys.modules.get("duckdb")
    if isinstance(exc, OSError) and exc.filename is not None:
        names = " -> ".join(
            os.fsdecode(f) if isinstance(f, bytes) else str(f)
            for f in (exc.filename, exc.filename2)
            if f is not None
        )
        reason = exc.strerror or type(exc).__name__
    elif duckdb is not None and isinstance(exc, duckdb.IOException):
        names, reason = "", first_line(exc)
    else:
        return None
    return f"{reason}: {names}" if names else reason


# errnos of a disk that cannot take a write: full, over quota, or failing (SQLite's
# "disk I/O error" in Dagster's storage, which is most often a full disk too).
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EIO)
NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"
FAILING_DISK = os.strerror(errno.EIO)  # "Input/output error"
# DuckDB names the file it could not write: 'Could not write file "<path>": ...'.
DUCKDB_FILE = re.compile(r'file "([^"]+)"')


def disk_full_error(exc: BaseException) -> str | None:
    """A write the disk refused, found anywhere in ``exc``'s chain of causes: an OSError
    of a full (or failing) disk, or a DuckDB error saying "No space left on device".

    A full disk ended in a traceback where the error came wrapped (DuckDB's failed
    commit, a rollback that failed too) or named no file (a review, 2026-12-07). Now one
    line gives the reason and the file or folder, and that the months published before
    stand. None when nothing in the chain is such an error."""
    duckdb = sys.modules.get("duckdb")
    for error in exception_chain(exc):
        if isinstance(error, OSError) and error.errno in DISK_ERRNOS:
            reason = error.strerror or os.strerror(error.errno)
            if error.errno == errno.EIO and "out of space" not in reason:
                reason = FAILING_DISK  # a failing disk, not a full one: nothing to free
            name = error.filename
            break
        if duckdb is not None and isinstance(error, duckdb.Error) and NO_SPACE in str(error):
            reason = NO_SPACE
            file = DUCKDB_FILE.search(str(error))
            name = file.group(1) if file else None
            break
    else:
        return None
    where = f": {os.fsdecode(name)}" if name is not None else ""
    what_to_do = "" if reason == FAILING_DISK else ": free some space and run again"
    return f"{reason}{where} (the months published before stand{what_to_do})"


def restart_in_utf8_mode() -> None:
    """Start the command again in Python's UTF-8 mode when the locale's encoding is not
    UTF-8 (``LC_ALL=en_US.ISO-8859-1``).

    Python then names files in the locale's encoding while DuckDB, polars and Arrow name
    them in UTF-8: a warehouse, landing or outputs path with a non-ASCII character was
    "no such file" (or the month published with its exports unwritten), and ``grading
    explain`` could not print its arrows (a review, 2026-12-06). In UTF-8 mode both agree
    on the bytes the user typed. ``-X utf8`` holds under ``-E`` too; ``PYTHONUTF8=1`` is
    kept for the processes the run starts (a local Spark's Python workers)."""
    encoding = codecs.lookup(sys.getfilesystemencoding()).name
    if sys.flags.utf8_mode or encoding == "utf-8" or os.environ.get("PYTHONUTF8") == "1":
        return
    if sys.stdout is not None:
        sys.stdout.flush()
    command = [sys.executable, "-X", "utf8", *sys.orig_argv[1:]]
    os.execve(sys.executable, command, {**os.environ, "PYTHONUTF8": "1"})


class ReaderGoneSafe:
    """Standard output that outlives its reader.

    When the reader of a pipe goes away (``grading run | head -1``), the next write
    raises BrokenPipeError, which used to stop the run between two months. Output is
    only progress: the rest of it is dropped (stdout then points at /dev/null, so the
    flush at exit is quiet too) and the command goes on to its own end and exit code.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._guarded(self._stream.write, text) or 0

    def flush(self) -> None:
        self._guarded(self._stream.flush)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _guarded(self, call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
            return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grading", description=DESCRIPTION)
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {package_version()}",
        help="print the installed merchant-grading version and exit",
    )
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        help="what to do ('grading COMMAND --help' lists its options)",
    )

    run = commands.add_parser("run", help="grade every landing month through --through")
    run.add_argument("--landing", **path_option("--landing", "landing folder (spec §1)"))
    run.add_argument("--warehouse", **path_option("--warehouse", "DuckDB warehouse file"))
    run.add_argument(
        "--create",
        action="store_true",
        help="create the warehouse's folder when it does not exist (without it, a "
        "--warehouse in a missing folder is refused as a likely typo)",
    )
    run.add_argument("--through", required=True, help="last month to grade, YYYY-MM")
    run.add_argument(
        "--from",
        dest="first",
        default=None,
        help="first month to grade (default: the landing folder's first); the month "
        "before must already be graded",
    )
    run.add_argument(
        "--outputs",
        **path_option(
            "--outputs",
            "Parquet exports and Data Docs folder",
            required=False,
            otherwise="'outputs' beside the warehouse",
        ),
    )
    run.add_argument(
        "--policy",
        **path_option(
            "--policy",
            "policy calendar: a folder of policy TOML files, each in force from its "
            "effective_from, or one policy file",
            required=False,
            otherwise="the shipped folder",
        ),
    )
    run.add_argument(
        "--policy-override",
        type=Path,
        default=None,
        metavar="FILE",
        help="grade every month of the run under this one policy file, whatever the "
        "calendar says: an explicit restatement, logged as one in main.run_log",
    )
    run.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="engine of the row-level work: duckdb (one machine, the default) or spark "
        "(a cluster: --spark-master, rows stored under --lake)",
    )
    run.add_argument(
        "--spark-master",
        default="",
        metavar="URL",
        help="the Spark cluster: spark://HOST:PORT (standalone master) or sc://HOST:PORT "
        "(Spark Connect)",
    )
    run.add_argument(
        "--lake",
        default="",
        metavar="PATH_OR_URI",
        help="with --engine spark: where raw and quarantined rows are stored as Parquet "
        "by month (default: 'lake' beside the warehouse)",
    )
    run.add_argument("--timings", action="store_true", help="print each step's time")
    run.add_argument(
        "--no-dashboard",
        dest="dashboard",
        action="store_false",
        help="do not rebuild <outputs>/dashboard/index.html (by default it is built once, "
        "with the run's last graded month)",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="regrade months even when their inputs are unchanged since they were published",
    )
    run.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another run on the same warehouse to finish",
    )
    run.set_defaults(handler=run_command)

    preview = commands.add_parser(
        "preview", help="projected grades of a month as of a day (nothing is published)"
    )
    preview.add_argument("--landing", **path_option("--landing", "landing folder (spec §1)"))
    preview.add_argument(
        "--warehouse",
        **path_option(
            "--warehouse",
            "DuckDB warehouse file (its published tables are read, never changed; the "
            "projection is stored in its preview schema)",
        ),
    )
    preview.add_argument(
        "--as-of", required=True, help="YYYY-MM-DD: grade its month as if it closed that day"
    )
    preview.add_argument(
        "--policy",
        **path_option(
            "--policy",
            "policy calendar folder or one policy file",
            required=False,
            otherwise="the shipped folder",
        ),
    )
    preview.add_argument(
        "--policy-override",
        type=Path,
        default=None,
        metavar="FILE",
        help="project the month under this one policy file, whatever the calendar says "
        "(as grading run --policy-override; nothing is published, and the run log is not "
        "written: the preview is logged in preview.preview_log as every preview is)",
    )
    preview.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the projected merchant_grades here (.parquet or .csv)",
    )
    preview.add_argument(
        "--outputs",
        type=Path,
        default=None,
        help="also export the preview as Parquet under DIR/preview/<table>/month=YYYY-MM/",
    )
    preview.set_defaults(handler=preview_command)

    summary = commands.add_parser(
        "summary", help="tier distribution of the published months, and which are stale or restated"
    )
    summary.add_argument("--warehouse", **path_option("--warehouse", "DuckDB warehouse file"))
    summary.add_argument(
        "--policy",
        **path_option(
            "--policy",
            "policy calendar the months are graded under, to list those due for a newer "
            "policy: a folder of policy TOML files, or one policy file",
            required=False,
            otherwise="the shipped folder",
        ),
    )
    summary.set_defaults(handler=summary_command)

    dash = commands.add_parser("dashboard", help="write the offline HTML dashboard")
    dash.add_argument("--warehouse", **path_option("--warehouse", "DuckDB warehouse file"))
    dash.add_argument("--out", required=True, type=Path, help="folder to write index.html in")
    dash.add_argument(
        "--merchant",
        action="append",
        dest="merchants",
        default=None,
        help="merchant to explain in the page (repeat it; default: up to 3 per tier)",
    )
    dash.add_argument("--policy", **explained_policy_option())
    dash.set_defaults(handler=dashboard_command)

    explain = commands.add_parser("explain", help="why a merchant got its grade, exactly")
    explain.add_argument("--warehouse", **path_option("--warehouse", "DuckDB warehouse file"))
    explain.add_argument("--merchant", required=True, help="merchant_id")
    explain.add_argument("--month", default=None, help="YYYY-MM (default: latest published)")
    explain.add_argument("--policy", **explained_policy_option())
    explain.set_defaults(handler=explain_command)

    gen = commands.add_parser("generate", help="write a realistic landing folder")
    gen.add_argument("--out", required=True, type=Path, help="landing folder to write")
    gen.add_argument(
        "--merchants", required=True, type=int, help="how many merchants (at least 50)"
    )
    gen.add_argument("--months", required=True, help="months to write: YYYY-MM..YYYY-MM or YYYY-MM")
    gen.add_argument(
        "--orders-per-month",
        type=int,
        default=None,
        help="orders in each month, at least 5,000 (default: 50 per merchant, at least 5,000)",
    )
    gen.add_argument(
        "--seed", type=int, default=0, help="random seed: the same seed writes the same files"
    )
    gen.add_argument(
        "--overwrite", action="store_true", help="replace month folders that already exist"
    )
    gen.set_defaults(handler=generate_command)
    return parser


def fail(message: str) -> int:
    print(f"grading: {message}", file=sys.stderr)
    return 1


def run_command(args: argparse.Namespace) -> int:
    share_paths_with_code_location(args.landing, args.warehouse)
    from assets.instance import InstanceNotOpened
    from assets.runner import (
        DashboardNotRebuilt,
        DataDocsNotRendered,
        ExportsNotWritten,
        RunFailed,
        grade_months,
    )
    from pipelines.landing import LandingError
    from pipelines.locking import WarehouseBusy
    from pipelines.policy import PolicyError, load_policy
    from pipelines.warehouse import WarehouseLocked, changes_left_in_wal

    refusal = missing_warehouse_folder(args.warehouse, args.create)
    if refusal:
        return fail(refusal)
    outputs = args.outputs or args.warehouse.parent / "outputs"
    started = time.monotonic()

    tiers_shown = load_policy().tier_names  # the shipped policy's, top first

    def on_month(index: int, total: int, month: str) -> None:
        print(f"[{index}/{total}] {month} grading ...", flush=True)

    def on_done(result) -> None:
        if result.unchanged_since:
            print(
                f"        {result.month} unchanged since its publication at "
                f"{result.unchanged_since} UTC (same landing files, policy and earlier months): "
                f"skipped (--force regrades it)",
                flush=True,
            )
            return
        counted = [  # tiers of the month's policy that the shipped one lacks, too
            key.removeprefix("tier_")
            for key in result.metadata.get("merchant_grades", {})
            if key.startswith("tier_") and key.removeprefix("tier_") not in tiers_shown
        ]
        tiers = ", ".join(
            f"{t} {result.value('merchant_grades', f'tier_{t}')}" for t in (*tiers_shown, *counted)
        )
        graded = result.value("merchant_grades", "merchants_graded")
        quarantined = result.value("published_month", "rows_quarantine")
        print(
            f"        {result.month} published: {graded} merchants ({tiers}); "
            f"{quarantined} rows quarantined",
            flush=True,
        )
        if result.value("published_month", "restated", False):
            print(f"        {result.month} {restatement_line(result)}", flush=True)
        for warning in ingest_warnings(result):
            print(f"        {result.month} warning: {warning}", flush=True)
        for warning in result.unrecorded_events:
            print(f"        {result.month} warning: {warning}", flush=True)
        if args.timings:
            steps = ", ".join(f"{k} {v:.1f}s" for k, v in result.step_seconds.items())
            print(f"        steps: {steps}", flush=True)

    try:
        results = grade_months(
            args.landing,
            args.warehouse,
            outputs,
            args.through,
            args.policy,
            on_month,
            on_done,
            wait_seconds=args.wait,
            first=args.first,
            force=args.force,
            policy_override=args.policy_override,
            engine=args.engine,
            spark_master=args.spark_master,
            lake=args.lake,
            dashboard=args.dashboard,
        )
    except ExportsNotWritten as exc:  # its reason says the month is published, and what to do
        return fail(exc.reason)
    except RunFailed as exc:
        if exc.published:
            return fail(f"month {exc.month} was published, but a later step failed: {exc.reason}")
        if published_before(args.warehouse, exc.month):  # a refused or failed regrade
            return fail(
                f"month {exc.month} was not published again (its earlier publication "
                f"stands): {exc.reason}"
            )
        return fail(f"month {exc.month} was not published: {exc.reason}")
    except (PolicyError, LandingError, WarehouseBusy, WarehouseLocked, ValueError) as exc:
        return fail(str(exc))
    except (DashboardNotRebuilt, DataDocsNotRendered, InstanceNotOpened) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:  # SIGINT, or SIGTERM (taken as SIGINT for the run)
        fail(
            "interrupted: the months published before stand, and the month in progress was "
            "not published (the next run rolls back anything it left): run again to go on"
        )
        return 130
    unchanged = sum(1 for r in results if r.unchanged_since)
    skipped = f" ({unchanged} unchanged, skipped)" if unchanged else ""
    print(
        f"graded {len(results) - unchanged} month(s){skipped} in "
        f"{time.monotonic() - started:.1f}s; "
        f"tables in {args.warehouse}, Parquet exports in {outputs}"
    )
    wal = changes_left_in_wal(args.warehouse)
    if wal is not None:
        print(
            f"grading: warning: the run's last changes are still in {wal}: DuckDB could "
            f"not fold them into {args.warehouse.name} when it closed it (is its disk "
            f"full?). They are safe there, and the next command that writes the warehouse "
            f"folds them in; until then a copy of the warehouse must take {wal.name} too",
            file=sys.stderr,
        )
    return 0


def share_paths_with_code_location(landing: Path, warehouse: Path) -> None:
    """Build this process's code location over the run's own landing and warehouse.

    The partitions start at their first month (assets/first_month.py), read from
    GRADING_LANDING and GRADING_WAREHOUSE when the code location is imported; set here
    first, the run's partitions are the ones ``make ui`` shows over the same paths.
    Once imported (a second command in the same process) they are left as they are.
    """
    if "assets.partitions" not in sys.modules:
        os.environ["GRADING_LANDING"] = str(landing)
        os.environ["GRADING_WAREHOUSE"] = str(warehouse)


def published_before(warehouse: Path, month: str) -> bool:
    """Whether ``month`` has a publication in the warehouse (read-only; False when the
    file cannot be read), so a refused regrade does not read as if the month had none."""
    from pipelines.warehouse import read_value_if_readable

    sql = "SELECT count(*) FROM main.run_log WHERE month = $month"
    return bool(read_value_if_readable(warehouse, sql, {"month": month}))


def ingest_warnings(result) -> list[str]:
    """The month's ingest warnings (extra columns ignored, an optional dataset graded
    without), in dataset order: printed, not only kept in the Dagster event log, so the
    operator of a `grading run` sees what was left out."""
    from assets.ingest import raw_key
    from pipelines.datasets import DATASETS

    return [
        warning
        for dataset in DATASETS
        for warning in result.value(raw_key(dataset.name).to_user_string(), "warnings", None) or []
    ]


def restatement_line(result) -> str:
    """'restated (why): tiers before {...}, after {...}' for a restated month."""
    reason = result.value("published_month", "restatement_reason", "")
    before = result.value("published_month", "old_tier_counts", {})
    after = result.value("published_month", "new_tier_counts", {})
    return f"restated ({reason}): tiers before {before}, after {after}"


def preview_command(args: argparse.Namespace) -> int:
    from pipelines.grading import GradingError
    from pipelines.ingest import IngestError
    from pipelines.locking import WarehouseBusy
    from pipelines.preview import (
        PreviewBlocked,
        output_format,
        preview_month,
        preview_text,
        write_grades,
    )
    from pipelines.preview_store import store_blocked, store_preview

    try:
        if args.out is not None:
            output_format(args.out)  # a wrong suffix is refused before any work
        try:
            preview = preview_month(
                args.landing,
                args.warehouse,
                args.as_of,
                args.policy,
                policy_override=args.policy_override,
            )
        except PreviewBlocked as blocked:  # as a month is: logged, nothing of it kept
            store_blocked(args.warehouse, args.outputs, blocked)
            raise
        stored = store_preview(args.warehouse, args.outputs, preview)
        if args.out is not None:
            write_grades(preview.grades, args.out)
    except (GradingError, IngestError, WarehouseBusy, ValueError) as exc:  # ValueError:
        return fail(str(exc))  # PreviewError, PolicyError, LandingError
    print(preview_text(preview))
    if stored is None:
        print(f"not stored: {args.warehouse} does not exist (a preview never creates it)")
    else:
        where = f" and {args.outputs / 'preview'}" if args.outputs else ""
        print(f"stored in the warehouse's preview schema{where}")
    if args.out is not None:
        print(f"projected merchant_grades written to {args.out}")
    return 0


def summary_command(args: argparse.Namespace) -> int:
    from pipelines.policy import load_calendar
    from pipelines.reporting.summary import tier_summary

    if not args.warehouse.is_file():
        return fail(f"warehouse {args.warehouse} does not exist")
    try:
        calendar = load_calendar(args.policy)
    except ValueError as exc:  # PolicyError
        return fail(str(exc))
    print(tier_summary(args.warehouse, calendar))
    return 0


def explained_policy_option() -> dict:
    """``--policy`` of ``explain`` and ``dashboard``: a calendar folder, or one file that
    explains every month, defaulting to $GRADING_POLICY as ``run``'s does; they explained
    under the shipped calendar whatever GRADING_POLICY said (found by a review,
    2026-12-05)."""
    return path_option(
        "--policy",
        "policy calendar folder (each month under its policy), or one policy file (every "
        "month under it)",
        required=False,
        otherwise="the shipped folder",
    )


def explained_policy(path: Path | None) -> tuple[Policy | None, PolicyCalendar | None]:
    """``--policy`` as (one policy for every month, the calendar): a file is the first, a
    folder the second, neither given both None (the shipped calendar)."""
    from pipelines.policy import load_calendar, load_policy

    if path is None:
        return None, None
    if path.is_dir():
        return None, load_calendar(path)
    return load_policy(path), None


def dashboard_command(args: argparse.Namespace) -> int:
    from pipelines.reporting.dashboard import write_dashboard

    try:
        policy, calendar = explained_policy(args.policy)
        result = write_dashboard(
            args.warehouse,
            args.out,
            policy,
            args.merchants,
            policy_for=calendar.policy_for if calendar else None,
        )
    except ValueError as exc:  # PolicyError, DashboardError, UnknownMerchantError
        return fail(str(exc))
    print(
        f"wrote {result.path} ({result.charts} charts, months {result.months[0]}.."
        f"{result.months[-1]}, {len(result.merchants)} merchants explained)"
    )
    return 0


def explain_command(args: argparse.Namespace) -> int:
    from pipelines.reporting.explain import explain_text

    try:
        policy, calendar = explained_policy(args.policy)
        print(explain_text(args.warehouse, args.merchant, args.month, policy, calendar))
    except ValueError as exc:  # PolicyError, ExplainError (unknown merchant or month)
        return fail(str(exc))
    return 0


def generate_command(args: argparse.Namespace) -> int:
    from pipelines.generate import generate_landing, parse_month_range

    try:
        months = parse_month_range(args.months)
    except ValueError as exc:
        return fail(str(exc))
    started = time.monotonic()
    try:
        counts = generate_landing(
            args.out,
            args.merchants,
            months,
            args.orders_per_month,
            seed=args.seed,
            progress=lambda msg: print(msg, flush=True),
            overwrite=args.overwrite,
        )
    except (ValueError, FileExistsError) as exc:
        return fail(str(exc))
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"wrote {args.out} ({summary}) in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
