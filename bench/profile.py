"""Where a `grading run` spends its wall time, by line of our code: a sampling profile.

    python -m bench.profile --out profile.txt -- run --landing L --warehouse W --through M

Runs the `grading` command in this process while a thread samples the main thread's
stack every ``--interval`` seconds (5 ms). Each sample is charged to the innermost frame
of this project's code (pipelines/, assets/) on the stack: a DuckDB statement releases
the GIL, so the line that runs it collects the statement's wall time; time in Dagster or
Great Expectations is charged to the line of ours that called into them, and time with
no frame of ours (start-up, Dagster between steps) to the outermost library frame. The
report lists the lines with most samples, as seconds, and the totals by step; with
``--step-top N``, each step's own N top lines too (a line several steps run, like
``read_rows``, is then split by step).

Sampling is wall time on one thread: a background thread's work (the GE import) shows
only where the main thread waits for it. The profiler adds ~1% at 5 ms.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
OURS = (str(ROOT / "pipelines"), str(ROOT / "assets"))


def charged_frame(frame: FrameType | None, callers: int = 0) -> str:
    """The innermost frame of our code on the stack, else the outermost one there is;
    with ``callers``, that many more frames of ours that led to it, joined by " < ", so a
    helper many lines call (a fetch, a connect) is split by who called it."""
    outermost, ours = "?", []
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(OURS):
            ours.append(f"{Path(path).relative_to(ROOT)}:{frame.f_lineno} {frame.f_code.co_name}")
            if len(ours) > callers:
                break
        elif not ours:
            outermost = f"{Path(path).name}:{frame.f_lineno} {frame.f_code.co_name}"
        frame = frame.f_back
    return " < ".join(ours) if ours else f"(library) {outermost}"


def step_of(frame: FrameType | None) -> str:
    """The Dagster step a sample is in: the key of the step context on the stack."""
    while frame is not None:
        if frame.f_code.co_name == "execute_core_compute":
            context = frame.f_locals.get("step_context")
            step = getattr(context, "step", None)
            if step is not None:
                return step.key
        frame = frame.f_back
    return "(outside steps)"


class Sampler(threading.Thread):
    def __init__(self, target_thread: int, interval: float, callers: int = 0) -> None:
        super().__init__(daemon=True)
        self.target, self.interval, self.callers = target_thread, interval, callers
        self.lines: Counter[str] = Counter()
        self.steps: Counter[str] = Counter()
        self.step_lines: Counter[tuple[str, str]] = Counter()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            frame = sys._current_frames().get(self.target)
            line, step = charged_frame(frame, self.callers), step_of(frame)
            self.lines[line] += 1
            self.steps[step] += 1
            self.step_lines[step, line] += 1


def report(sampler: Sampler, seconds: float, top: int, step_top: int = 0) -> str:
    total = sum(sampler.lines.values()) or 1
    scale = seconds / total
    out = [f"wall {seconds:.1f} s, {total} samples", "", "by step:"]
    out += [f"  {n * scale:7.2f} s  {step}" for step, n in sampler.steps.most_common()]
    out += ["", f"top {top} lines:"]
    out += [f"  {n * scale:7.2f} s  {line}" for line, n in sampler.lines.most_common(top)]
    for step, _ in sampler.steps.most_common() if step_top else ():
        lines = Counter({ln: n for (st, ln), n in sampler.step_lines.items() if st == step})
        out += ["", f"top {step_top} lines of {step}:"]
        out += [f"  {n * scale:7.2f} s  {ln}" for ln, n in lines.most_common(step_top)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--interval", type=float, default=0.005)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--callers", type=int, default=0, help="also name this many calling lines of ours"
    )
    parser.add_argument(
        "--step-top", type=int, default=0, help="also list each step's this many top lines"
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("grading_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    grading_args = [a for a in args.grading_args if a != "--"]

    sampler = Sampler(threading.get_ident(), args.interval, args.callers)
    started = time.monotonic()
    sampler.start()
    from assets.cli import main as grading

    code = grading(grading_args)
    sampler.done.set()
    sampler.join()
    text = report(sampler, time.monotonic() - started, args.top, args.step_top)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
