"""Benchmark: a what-if on ``hengyang-2021`` (issue #6.1) against one plain sequential run of it.

    python benchmarks/bench_whatif.py [--scenario hengyang-2021] [--repeat 3]

The what-if applies a few changes (a quota +10%, a sub-quota, a region's cutoff, the decline rate),
validates the changed scenario, runs baseline and variant and compares them; writing its files
(baseline/, variant/, changes.csv, whatif.xlsx) is timed apart.  Prints the best of --repeat of each
and the ratio what-if / plain run (a what-if is two runs plus the comparison: about 2-3 is the floor).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from timing import best  # benchmarks/ is on the path when a benchmark runs as a script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHANGES = ["quota.43040501=+10%", "subquota.43040501.430421=300", "general_cutoff.430421=430", "decline_rate=0.04"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="hengyang-2021")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import scenarios
    from solver.analysis.whatif import whatif, write_whatif
    from solver.run import run

    t = time.perf_counter()
    sc = scenarios.load(args.scenario)
    print(f"{args.scenario}: {len(sc.students):,} students, {len(sc.schools)} schools, loaded in "
          f"{time.perf_counter() - t:.2f} s")
    run(sc, engine="sequential")  # warm up imports and caches for both sides
    plain, _ = best(lambda: run(sc, engine="sequential"), args.repeat)
    quick, _ = best(lambda: whatif(sc, ["quota.43040501=+10%"]), args.repeat)
    full, report = best(lambda: whatif(sc, CHANGES, seed=1), args.repeat)
    phases = dict(report.timings)
    with tempfile.TemporaryDirectory() as tmp:
        written, _ = best(lambda: write_whatif(report, Path(tmp) / "wi"), args.repeat)
    s = report.summary()
    print(f"baseline: one plain sequential run           {plain:7.3f} s")
    print(f"what-if, one quota change                    {quick:7.3f} s   ratio {quick / plain:5.2f}")
    print(f"what-if, {len(CHANGES)} changes (incl. decline_rate)     {full:7.3f} s   ratio {full / plain:5.2f}")
    print(f"   phases of the last: {phases}")
    print(f"writing baseline/, variant/, changes.csv, xlsx  {written:7.3f} s")
    print(f"what-if + files                              {full + written:7.3f} s   "
          f"ratio {(full + written) / plain:5.2f}")
    print(f"{s['changed_students']:,} students changed: {s['changed_by_kind']}")


if __name__ == "__main__":
    main()
