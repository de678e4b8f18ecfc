"""Which warehouse an outputs folder holds the exports of.

A run deletes the month folders of the exports its warehouse never published (a
warehouse deleted to start over leaves its outputs, and readers would take them as
published). Given the outputs folder of another warehouse, say through a mistyped
``--warehouse``, it deleted that warehouse's months, and they stayed away until that
warehouse ran again (found by an audit, 2026-12-04).

So each warehouse has an identity, made once with it (``journal.warehouse_identity``,
copied with the file), and an outputs folder records the identity and path of the
warehouse that writes it (``.warehouse.json``, beside the table folders, which readers
never glob). Another warehouse is refused the folder while the recorded one still
exists at its path. The recorded one gone (deleted to start over, or a new warehouse
made at the same path), the folder passes to the warehouse now writing it; the same
warehouse moved or copied keeps it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb

from pipelines.atomic_files import write_atomically
from pipelines.warehouse import fetch_value

CLAIM_FILE = ".warehouse.json"


class OutputsClaimed(ValueError):
    """The outputs folder holds the exports of another warehouse, which still exists."""


def warehouse_id(con: duckdb.DuckDBPyConnection) -> str:
    """The warehouse's identity, made on first use (a read-write connection)."""
    con.execute(
        "INSERT INTO journal.warehouse_identity SELECT CAST(uuid() AS VARCHAR) "
        "WHERE NOT EXISTS (FROM journal.warehouse_identity)"
    )
    return str(fetch_value(con, "SELECT min(warehouse_id) FROM journal.warehouse_identity"))


def check_claim(outputs: Path, warehouse: Path, identity: str | None) -> None:
    """Refuse ``outputs`` to ``warehouse`` (of ``identity``; None: not made yet) when the
    folder records another warehouse that still exists at its recorded path."""
    claim = _read_claim(Path(outputs))
    if claim is None or claim["warehouse_id"] == identity:
        return
    other = Path(claim["warehouse"])
    if other.is_file() and not _same_file(other, Path(warehouse)):
        raise OutputsClaimed(
            f"{outputs} holds the Parquet exports of another warehouse, {other} "
            f"(recorded in {Path(outputs) / CLAIM_FILE}): grading {warehouse} into it "
            f"would delete that warehouse's months. Give {warehouse} its own --outputs, "
            f"or grade {other}; if {other} is to give the folder up, move it away first."
        )


def claim_outputs(outputs: Path, warehouse: Path, identity: str) -> None:
    """Record ``warehouse`` as the one writing ``outputs``, once ``check_claim`` passes."""
    outputs = Path(outputs)
    check_claim(outputs, warehouse, identity)
    record = {"warehouse_id": identity, "warehouse": str(Path(warehouse).resolve())}
    if _read_claim(outputs) == record:
        return
    # A reader sees the old record or the new.
    write_atomically(outputs / CLAIM_FILE, json.dumps(record, indent=1) + "\n")


def _read_claim(outputs: Path) -> dict[str, str] | None:
    path = outputs / CLAIM_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise OutputsClaimed(
            f"{path}: cannot read which warehouse this outputs folder holds the exports "
            f"of ({exc}); delete the file if the folder is this warehouse's"
        ) from None
    if not (
        isinstance(record, dict)
        and isinstance(record.get("warehouse_id"), str)
        and isinstance(record.get("warehouse"), str)
    ):
        raise OutputsClaimed(
            f"{path}: expected a warehouse_id and a warehouse path; delete the file if the "
            "folder is this warehouse's"
        )
    return record


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # b not made yet
        return False
