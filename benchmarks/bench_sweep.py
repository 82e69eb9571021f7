"""Benchmark: a ratio sweep of 11 steps on ``hengyang-2021`` (issue #6.2) against 11 plain sequential runs
one after the other.

    python benchmarks/bench_sweep.py [--scenario hengyang-2021] [--shares 0.40:0.60:0.02] [--workers N] [--repeat 2]

The sweep validates each step's scenario and runs it in parallel processes (`--workers`, default the
CPUs); the charts (PNG and HTML) and sweep.csv are timed apart.  Prints the best of --repeat and the
ratio sweep / baseline (below 1 when the processes pay off).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from timing import best  # benchmarks/ is on the path when a benchmark runs as a script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _burn(_) -> float:
    import numpy as np

    t = time.perf_counter()
    x = np.random.default_rng(0).random(1_000_000)
    for _ in range(10):
        x = np.sort(x)
    return time.perf_counter() - t


def free_cores(workers: int) -> float:
    """How many cores the machine gives us now: the same numpy work, once in this process and once in
    each of ``workers`` processes at the same time (1.0 = the processes only took turns)."""
    from concurrent.futures import ProcessPoolExecutor

    alone = min(_burn(0) for _ in range(2))
    with ProcessPoolExecutor(workers) as pool:
        together = max(pool.map(_burn, range(workers)))
    return workers * alone / together


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="hengyang-2021")
    ap.add_argument("--shares", default="0.40:0.60:0.02")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    import scenarios
    from solver.analysis.sweep import parse_shares, sweep, write_sweep
    from solver.run import run

    shares = parse_shares(args.shares)
    sc = scenarios.load(args.scenario)
    print(f"{args.scenario}: {len(sc.students):,} students, {len(shares)} steps, {os.cpu_count()} CPU(s)")
    run(sc, engine="sequential")  # warm up
    serial, _ = best(lambda: [run(sc, engine="sequential") for _ in shares], args.repeat)
    one_process, _ = best(lambda: sweep(sc, shares, workers=1), args.repeat)
    parallel, report = best(lambda: sweep(sc, shares, workers=args.workers), args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        charts, _ = best(lambda: write_sweep(report, Path(tmp) / "sw"), args.repeat)
    workers = report.workers
    print(f"control: {workers} processes of plain numpy work ran like {free_cores(workers):.2f} free core(s)")
    print(f"baseline: {len(shares)} plain sequential runs, serially   {serial:7.3f} s")
    print(f"sweep in one process                            {one_process:7.3f} s   ratio {one_process / serial:5.2f}")
    print(f"sweep in {report.workers} processes                           {parallel:7.3f} s   "
          f"ratio {parallel / serial:5.2f}")
    print(f"   per step (in the workers): sum {report.timings['steps_sum']:.3f} s, "
          f"longest {report.timings['step_max']:.3f} s")
    print(f"sweep.csv, sweep.png, sweep.html                {charts:7.3f} s")
    print(f"sweep + files                                   {parallel + charts:7.3f} s   "
          f"ratio {(parallel + charts) / serial:5.2f}")


if __name__ == "__main__":
    main()
