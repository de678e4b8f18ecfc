"""A lower bound on what spec §1 adds to the floor: the floor, then the lookups it skips.

    python -m bench.contract_floor --work /tmp/bench-10m [--month 2026-03] [--out F.json]

The floor (bench/floor.sql) loads the month's rows and aggregates them; it never looks a
feedback row's order up, nor a row's merchant, nor a key among the month's rows or the
earlier months'. The contract needs each of those for every row. This tool runs the floor
as `bench.run` does (a fresh file, earlier months loaded untimed, the same memory limit),
then each lookup of bench/contract_lookups.sql, timed one by one on the floor's tables.

The floor plus the lookups is the least a contract-keeping run of the month can cost in
DuckDB, before casts, provenance, quarantine, checks, grading, outputs and the stack's own
cost (bench/fixed_costs.py); set against the issue's "2x the floor", it shows how much
of the allowance the contract's lookups alone use. Uses the landing `bench.run` made.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.run import (
    earlier_months,
    floor_database,
    parquet_files,
    remove_database,
    timed_floor,
)
from pipelines.warehouse import bound_params, statements

LOOKUPS_SQL = Path(__file__).with_name("contract_lookups.sql")
NAME = "contract_floor"  # its DuckDB file and spill folder in the work folder


def lookups() -> list[tuple[str, str]]:
    """(name, statement) for each lookup: the name is the first word of its comment."""
    named = []
    for block in LOOKUPS_SQL.read_text().split("\n\n")[1:]:
        name = block.lstrip("- ").split(":", 1)[0]
        in_block = statements(block)
        for number, statement in enumerate(in_block, start=1):
            named.append((f"{name}.{number}" if len(in_block) > 1 else name, statement))
    return named


def measure(work: Path, month: str, history: int) -> dict:
    """The floor's seconds, each lookup's and what it found (its one result row), and
    the floor plus the lookups as a multiple of the floor."""
    landing = work / "landing"
    con, params = floor_database(landing, work, NAME, month, history)
    earlier = earlier_months(month, history)
    con.execute(  # every snapshot up to M, for the merchant lookup (M's is the floor's)
        "CREATE TABLE merchant_snapshots AS SELECT merchant_id, month FROM read_parquet($files)",
        {"files": parquet_files(landing, "merchants", [*earlier, month])},
    )
    con.execute("CHECKPOINT")
    floor = timed_floor(con, params)
    seconds: dict[str, float] = {}
    found: dict[str, list] = {}
    for name, statement in lookups():
        started = time.monotonic()
        (row,) = con.execute(statement, bound_params(statement, params)).fetchall()
        seconds[name] = round(time.monotonic() - started, 2)
        found[name] = [value if isinstance(value, int | bool) else str(value) for value in row]
    (month_orders,) = con.execute(
        "SELECT count(*) FROM orders WHERE month = $month", {"month": month}
    ).fetchone()
    con.close()
    remove_database(work, NAME)
    total = sum(seconds.values())
    return {
        "month": month,
        "month_orders": month_orders,
        "floor_seconds": round(floor, 2),
        "lookup_seconds": seconds,
        "lookup_found": found,
        "lookups_total_seconds": round(total, 2),
        "floor_plus_lookups_over_floor": round((floor + total) / floor, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.contract_floor", description=__doc__)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--month", default="2026-03")
    parser.add_argument("--history", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    result = measure(args.work.resolve(), args.month, args.history)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
