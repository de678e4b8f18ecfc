"""What a landing folder holds: its datasets' month folders, validated by name."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from pipelines.datasets import DATASETS_BY_NAME
from pipelines.months import MONTH_PATTERN


class LandingError(ValueError):
    """The landing folder does not follow the contract's layout."""


class IngestError(RuntimeError):
    """A landing file is unusable; the month stops. The message names file, column, row."""


SUPPORTED_SUFFIXES = {".csv": "csv", ".parquet": "parquet"}


def landing_months(landing: Path) -> list[str]:
    """Every month that has a folder in any dataset, sorted.

    A folder that is not ``month=YYYY-MM`` inside a dataset is refused rather than
    skipped: a misnamed month would otherwise silently go ungraded.
    """
    landing = Path(landing)
    if landing.exists() and not landing.is_dir():
        raise LandingError(f"landing folder {landing} is not a folder: it names a file")
    if not landing.is_dir():
        raise LandingError(f"landing folder {landing} does not exist")
    months: set[str] = set()
    for dataset in DATASETS_BY_NAME:
        root = landing / dataset
        if not root.is_dir():
            continue
        for entry in root.iterdir():
            if entry.name.startswith("."):
                continue
            name = entry.name.removeprefix("month=")
            if (
                not entry.is_dir()
                or not entry.name.startswith("month=")
                or not MONTH_PATTERN.match(name)
            ):
                raise LandingError(f"{entry}: not a month folder (expected month=YYYY-MM)")
            months.add(name)
    if not months:
        raise LandingError(
            f"landing folder {landing} holds no month folder of any dataset "
            f"({', '.join(DATASETS_BY_NAME)})"
        )
    return sorted(months)


# A month cannot be graded without these: its snapshot, its orders and its feedback.
REQUIRED_DATASETS = ("merchants", "orders", "feedback")
# These may be absent: a month with no bad-experience record is normal, and without
# service metrics the metrics they feed are undefined (spec §4). The ingest asset says so.
OPTIONAL_DATASETS = ("bad_orders", "service_metrics")


class IncompleteMonth(LandingError):
    """A month's landing lacks a dataset it cannot be graded without."""


def month_gaps(landing: Path, month: str) -> dict[str, str]:
    """Each dataset whose month folder is missing or holds no data file, with why.

    Only the folder listing is read. Markers (``is_marker``) are not data, as in the
    ingest; a file of another type, or a folder, is (the ingest refuses it by name).
    """
    gaps: dict[str, str] = {}
    for dataset in DATASETS_BY_NAME:
        folder = Path(landing) / dataset / f"month={month}"
        if not folder.is_dir():
            gaps[dataset] = f"{dataset}/month={month} is missing"
        elif all(is_marker(entry) for entry in folder.iterdir()):
            gaps[dataset] = f"{dataset}/month={month} is empty"
    return gaps


def require_complete_month(landing: Path, month: str) -> dict[str, str]:
    """Refuse a month whose merchants, orders or feedback folder is missing or empty.

    Called before anything of the month is written (by the runner before the month's
    job, and by every ingest asset before it opens the warehouse), so an incomplete
    month, such as the running one, leaves the warehouse as it was. Returns a note for
    each optional dataset without files (dataset -> note): the month is graded without.
    """
    gaps = month_gaps(landing, month)
    required = [gaps[d] for d in REQUIRED_DATASETS if d in gaps]
    if required:
        raise IncompleteMonth(
            f"landing for {month} is incomplete: {'; '.join(required)} "
            f"(in {landing}; a month is graded once its landing is complete)"
        )
    return {
        d: f"{gaps[d]}: the month is graded without {d} records"
        for d in OPTIONAL_DATASETS
        if d in gaps
    }


def month_folder(landing: Path, dataset: str, month: str) -> Path:
    return Path(landing) / dataset / f"month={month}"


def is_marker(entry: Path) -> bool:
    """Whether a month folder's entry is a writer's marker or a hidden file, not data: its
    name starts with '.' or '_' (``_SUCCESS``, ``.part-0.csv.crc``, Spark's
    ``_temporary/``, ``.DS_Store``), and it is not a .csv or .parquet file. Spec §1 reads
    any file name, so ``_late.csv`` is data, and a hidden ``.orders.csv`` too: read, or
    refused by name when it cannot be, never skipped in silence."""
    return entry.name.startswith((".", "_")) and not (
        entry.suffix.lower() in SUPPORTED_SUFFIXES and entry.is_file()
    )


def landing_files(landing: Path, dataset: str, month: str) -> list[Path]:
    """The month folder's data files, sorted; other files, and folders, are refused, not
    skipped: rows a writer put in a deeper folder (``day=02/``) would be lost in silence."""
    folder = month_folder(landing, dataset, month)
    if not folder.is_dir():
        return []
    files = []
    for path in sorted(folder.iterdir()):
        if is_marker(path):
            continue
        if path.is_dir():
            raise IngestError(
                f"{relative_path(path, landing)}: a folder inside a month folder is not read "
                "(expected .csv or .parquet files directly in the month folder)"
            )
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise IngestError(
                f"{relative_path(path, landing)}: unsupported file type "
                f"{path.suffix!r} (expected .csv or .parquet)"
            )
        _refuse_a_name_not_utf8(path, landing)
        # Absolute: DuckDB reads a leading '~' of a relative path as the home folder.
        files.append(path.absolute())
    return files


def _refuse_a_name_not_utf8(path: Path, landing: Path) -> None:
    """A file name that is not UTF-8 cannot be the quarantine's ``source_file`` (text),
    nor a DuckDB path: refused by name, its bytes shown escaped (a crash on
    UnicodeEncodeError named no file; found 2026-12-06)."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(relative_path(path, landing)).decode("utf-8", "backslashreplace")
        raise IngestError(
            f"{shown}: the file name is not UTF-8 text; rename the file (its name is "
            "what the quarantine records as the rows' source_file)"
        ) from None


def files_digest(files: list[Path]) -> str:
    """Digest of a dataset-month's landing files (names and content), for the run key."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        stat = path.stat()
        digest.update(
            _content_digest(
                str(path.resolve()),
                (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns),
            )
        )
    return digest.hexdigest()


@lru_cache(maxsize=1 << 16)
def _content_digest(path: str, identity: tuple[int, ...]) -> bytes:
    """A file's SHA-256, read once per process while the file is unchanged.

    A run hashes a month's files for its run key and again at ingest (gigabytes at 10M
    orders); ``identity`` (inode, size, modification and change times) makes any
    rewrite of the file a new cache entry.
    """
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


def relative_path(path: Path, landing: Path) -> str:
    """``path`` as errors and the quarantine name it: relative to the landing folder."""
    try:
        return Path(path).absolute().relative_to(Path(landing).absolute()).as_posix()
    except ValueError:
        return str(path)
