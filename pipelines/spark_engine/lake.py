"""The lake: raw and quarantined rows as Parquet, partitioned by month.

Layout under the lake root::

    raw/<dataset>/month=YYYY-MM/*.parquet          accepted rows (raw.<dataset>'s columns)
    quarantine/<dataset>/month=YYYY-MM/*.parquet   rejected rows, typed, with their reason
    aggregates/<name>/month=YYYY-MM/*.parquet      per-merchant window aggregates
    _staging/month=YYYY-MM/<table>/<name>/         a month being graded, not yet published

Each raw partition holds ``_ingest.json``: the digests of the warehouse's ingest of that
dataset-month (``raw.ingest_log``) its rows were written by. Spark reads no file whose
name starts with ``_``. A month ingested again by the DuckDB engine (which does not write
the lake) then no longer matches, and Spark refuses to build on it
(``spark_engine.ingest.require_lake_history``).

A month is written to its staging folder while it is graded (later datasets of the month
look their orders and merchants up there), and moved into place only when DuckDB has
published it (``publish_month``): readers never see half a month, and a month that
fails leaves the published one as it was. The move replaces each partition whole: the
new one is renamed in, the old one renamed aside first and removed after.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

TABLES = ("raw", "quarantine", "aggregates")
# In a raw partition: what the warehouse logged of the ingest that wrote its rows.
INGEST_RECORD = "_ingest.json"


def literal_path(path: str | Path) -> str:
    """``path`` for Spark's reader, which takes a path as a glob pattern: a file named
    ``part[1].csv`` or ``{a}.csv`` was not found (found by an audit), ``*`` or ``?``
    could match other files, and a lake under a folder named ``lake [1]`` was not read
    (found 2026-12-06). Hadoop's patterns escape a character with a backslash."""
    return re.sub(r"([\\\[\]{}*?])", r"\\\1", str(path))


def local_path_of_file_uri(uri: str) -> Path:
    """The local path a ``file:`` URI names (RFC 8089): ``file:///p``, ``file://localhost/p``
    and ``file:/p``, percent escapes decoded (``%20`` is a space, as ``Path.as_uri()``
    writes it). Only the ``file://`` prefix was stripped before, so an escaped name, a
    ``localhost`` or a single slash put the lake in another folder, under the working one
    (a review, 2026-12-06). Another host, a relative path, a query or a fragment (a
    literal ``?`` or ``#`` is written ``%3F``, ``%23``) are refused: no local folder to name."""
    parts = urlsplit(uri)
    if parts.netloc.lower() not in ("", "localhost"):
        raise _bad_file_uri(uri, f"names the host {parts.netloc!r}, not this machine")
    if not parts.path.startswith("/"):
        raise _bad_file_uri(uri, "is not an absolute path")
    if parts.path.startswith("//"):
        raise _bad_file_uri(uri, "names a network share (//host/...), not a local path")
    if parts.query or parts.fragment or uri.rstrip("?#") != uri:
        raise _bad_file_uri(uri, "has a query or fragment (write ? as %3F and # as %23)")
    try:
        path = unquote(parts.path, errors="strict")
    except UnicodeDecodeError:
        raise _bad_file_uri(uri, "has percent escapes that are not UTF-8") from None
    if "\x00" in path:
        raise _bad_file_uri(uri, "has a NUL character (%00)")
    return Path(path)


def _bad_file_uri(uri: str, problem: str) -> ValueError:
    return ValueError(f"lake {uri!r}: the file URI {problem}")


class Lake:
    """A lake root: a local path (a ``file://`` URI too). Object-store URIs need a table
    format's atomic commit (docs/decisions/spark.md) and are refused for now."""

    def __init__(self, root: str) -> None:
        if root[:5].lower() == "file:":
            self.root = local_path_of_file_uri(root)
        elif "://" in root:
            raise ValueError(
                f"lake {root!r}: only a local path or file:// URI is supported so far "
                "(object storage needs a table format, see docs/decisions/spark.md)"
            )
        else:
            self.root = Path(root).absolute()

    def partition(self, table: str, name: str, month: str) -> Path:
        """The published partition of ``table``/``name`` (e.g. raw/orders) for ``month``."""
        return self.root / table / name / f"month={month}"

    def staged(self, table: str, name: str, month: str) -> Path:
        """Where ``month``'s partition is written while the month is graded."""
        return self.root / "_staging" / f"month={month}" / table / name

    def clear_staging(self, month: str, table: str, name: str) -> None:
        shutil.rmtree(self.staged(table, name, month), ignore_errors=True)

    def months(self, table: str, name: str) -> list[str]:
        """The published months of ``table``/``name``, in order."""
        folder = self.root / table / name
        if not folder.is_dir():
            return []
        return sorted(
            p.name.removeprefix("month=")
            for p in folder.iterdir()
            if p.name.startswith("month=") and any(p.glob("*.parquet"))
        )

    def has_partition(self, table: str, name: str, month: str) -> bool:
        """Whether ``month`` of ``table``/``name`` was published here (an empty one too)."""
        return self.partition(table, name, month).is_dir()

    def record_ingest(self, name: str, month: str, files_digest: str, rows_digest: str) -> None:
        """Mark the staged raw partition of ``name`` with the digests the warehouse logged
        for its ingest (``raw.ingest_log``), moved into place with it."""
        folder = self.staged("raw", name, month)
        folder.mkdir(parents=True, exist_ok=True)
        record = {"files_digest": files_digest, "rows_digest": rows_digest}
        (folder / INGEST_RECORD).write_text(json.dumps(record, sort_keys=True), encoding="utf-8")

    def ingest_record(self, name: str, month: str) -> dict[str, str] | None:
        """The ingest digests of the published raw partition of ``name`` for ``month``;
        None when it has none (a lake written before partitions recorded them) or the
        partition is missing."""
        path = self.partition("raw", name, month) / INGEST_RECORD
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def publish(self, month: str) -> list[str]:
        """Move every staged partition of ``month`` into place, each replaced whole, and
        all of them or none.

        Returns the partitions moved (``table/name``). A partition is swapped by two
        renames on the same file system: the old one aside, the new one in. The old ones
        are removed only once every partition is in; if a rename fails half way, the
        partitions already swapped are put back, so the lake keeps the previous month
        whole, as the warehouse does when the publication fails (its journal puts the
        month back).
        """
        staging = self.root / "_staging" / f"month={month}"
        if not staging.is_dir():
            return []
        swapped: list[tuple[Path, Path, Path]] = []  # (staged, target, aside)
        try:
            for table_dir in sorted(p for p in staging.iterdir() if p.is_dir()):
                for staged in sorted(p for p in table_dir.iterdir() if p.is_dir()):
                    target = self.partition(table_dir.name, staged.name, month)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    aside = target.parent / f".replaced-{month}-{uuid.uuid4().hex}"
                    if target.exists():
                        target.rename(aside)
                    swapped.append((staged, target, aside))
                    staged.rename(target)
        except BaseException:
            _put_back(swapped)
            raise
        for _, _, aside in swapped:
            shutil.rmtree(aside, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        return [f"{target.parent.parent.name}/{target.parent.name}" for _, target, _ in swapped]

    def discard(self, month: str) -> None:
        """Drop a month's staging (a month that failed: the published one stays)."""
        shutil.rmtree(self.root / "_staging" / f"month={month}", ignore_errors=True)


def _put_back(swapped: list[tuple[Path, Path, Path]]) -> None:
    """Undo partition swaps, last first: each new partition back to its staging, the old
    one (if there was one) back in place."""
    for staged, target, aside in reversed(swapped):
        if target.exists() and not staged.exists():
            target.rename(staged)
        if aside.exists():
            aside.rename(target)
