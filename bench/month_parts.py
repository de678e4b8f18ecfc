"""What a month's steps spend their time on, by part: the conformance-month target's ledger.

    python -m bench.month_parts --landing tests/conformance/landing --through 2026-03 \
        --work /tmp/parts

Grades the landing's months from an empty warehouse (``--work``/w.duckdb, no dashboard),
in this process, while a thread samples the main thread's stack every 5 ms. For each
month after the first (the first also waits for the GE import, as a run's first month
does), it prints Dagster's time of the month's steps and splits the samples taken inside
the steps' compute into parts: opening and closing the warehouse, the month journal,
Great Expectations' own validation code, our check batches, Data Docs, Dagster called
from our code, and the rest (our statements and Python). The difference between the
steps' time and the sampled compute is Dagster's own per-step cost (events, outputs).
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections import Counter
from pathlib import Path
from types import FrameType

from bench.profile import OURS, ROOT, step_of

INTERVAL = 0.005
OPENING = {
    ("pipelines/warehouse.py", "connect"),
    ("pipelines/warehouse.py", "configure"),
    ("pipelines/warehouse.py", "_has_schema"),
    ("assets/resources.py", "connection"),
}
CHECK_BATCHES = ("validation.py", "check_filter.py", "quarantine_summary.py")


def part_of(frame: FrameType | None) -> str:
    """The part a sample belongs to, from the innermost frame of ours and what it called."""
    inner: list[str] = []  # library files below our innermost frame
    ours: list[tuple[str, str]] = []
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(OURS):
            ours.append((str(Path(path).relative_to(ROOT)), frame.f_code.co_name))
        elif not ours:
            inner.append(path)
        frame = frame.f_back
    if not ours:
        return "Dagster, no frame of ours"
    path, _ = ours[0]
    if "data_docs" in path:
        return "Data Docs (store and build)"
    if any(key in OPENING for key in ours):
        return "opening and closing the warehouse"
    if path.endswith("month_journal.py"):
        return "month journal"
    if path.endswith("validation.py") and any("great_expectations" in p for p in inner):
        return "GE validation (the library)"
    if path.endswith(CHECK_BATCHES):
        return "check batches (ours)"
    if any("/dagster/" in p for p in inner):
        return "Dagster, called by ours"
    return "our statements and Python"


class PartSampler(threading.Thread):
    def __init__(self, target_thread: int) -> None:
        super().__init__(daemon=True)
        self.target = target_thread
        self.month: str | None = None
        self.skip: str | None = None
        self.parts: dict[str, Counter[str]] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(INTERVAL):
            month = self.month
            if month is None or month == self.skip:
                continue
            frame = sys._current_frames().get(self.target)
            if step_of(frame) == "(outside steps)":
                continue
            self.parts.setdefault(month, Counter())[part_of(frame)] += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.month_parts", description=__doc__)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--through", required=True)
    parser.add_argument("--work", type=Path, required=True, help="an empty or new folder")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)

    from assets.runner import grade_months

    sampler = PartSampler(threading.get_ident())
    steps: dict[str, float] = {}

    def on_month(index: int, total: int, month: str) -> None:
        sampler.month = month
        if index == 1:
            sampler.skip = month

    def on_done(result) -> None:
        steps[result.month] = sum(result.step_seconds.values())

    sampler.start()
    grade_months(
        args.landing,
        args.work / "w.duckdb",
        args.work / "out",
        args.through,
        on_month=on_month,
        on_done=on_done,
        dashboard=False,
    )
    sampler.done.set()
    sampler.join()
    for month, parts in sampler.parts.items():
        sampled = sum(parts.values()) * INTERVAL
        print(f"{month}: {steps[month]:.2f} s of steps, {sampled:.2f} s sampled in their compute")
        print(f"  {steps[month] - sampled:5.2f} s  Dagster's own, per step (the difference)")
        for part, n in parts.most_common():
            print(f"  {n * INTERVAL:5.2f} s  {part}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
