"""Benchmark: quota planning (issue #6.3) on jiaozuo-2022, objective ``placed``, total 16,164 (JZ A1),
default bounds -20 % .. +20 %, time limit 120 s, 2 workers.

    python benchmarks/bench_plan.py [--scenario jiaozuo-2022] [--total 16164] [--time-limit 120]

Prints the status (OPTIMAL or FEASIBLE), the objective, the bound, the gap, the time, whether the
sequential re-run equals the prediction, and the baseline: one sequential run of the scenario with the
current quotas (its time and its objective), with the ratio plan time / baseline time; for the objectives
maximized also how the bound was found (the bound of the whole box before any split, the boxes bounded).
Goal (issue #14.4): OPTIMAL within 120 s, or a gap <= 0.5 % with a real bound.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from solver.analysis.plan import OBJECTIVES, objective_of, plan_quotas

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="jiaozuo-2022")
    ap.add_argument("--total", type=int, default=16_164)
    ap.add_argument("--objective", default="placed", choices=OBJECTIVES)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    import scenarios
    from solver.run import run

    sc = scenarios.load(args.scenario)
    t0 = time.perf_counter()
    base = run(sc, "sequential")
    baseline_seconds = time.perf_counter() - t0
    baseline = objective_of(sc, base.result, args.objective)
    print(f"{args.scenario}: {len(sc.students):,} students, {len(sc.schools)} schools, "
          f"current quota total {int(sc.schools['quota'].sum()):,}", flush=True)
    print(f"baseline (sequential run, current quotas): {baseline_seconds:.2f} s, {args.objective} = {baseline:,.0f}",
          flush=True)

    t1 = time.perf_counter()
    report = plan_quotas(sc, args.total, args.objective, time_limit=args.time_limit, workers=args.workers,
                         progress=lambda m: print(f"  [{time.perf_counter() - t1:6.1f} s] {m}", flush=True))
    seconds = time.perf_counter() - t1
    s = report.summary()
    print(f"status      {report.status}")
    if report.objective_value is not None:
        print(f"objective   {report.objective_value:,.0f}  (current quotas: {baseline:,.0f}, "
              f"{report.objective_value - baseline:+,.0f})")
        print(f"bound       {report.bound:,.0f}")
        print(f"gap         {s['gap']:,.0f} ({s['relative_gap']:.3%})")
    print(f"time        {seconds:.1f} s (limit {args.time_limit:g} s; build {report.times.get('build')} s, "
          f"solve {report.times.get('solve')} s, re-run {report.times.get('rerun')} s)")
    if report.method:
        m = report.method
        print(f"bound found by branch and bound: root bound {m['root_bound']:,}, {m['boxes']:,} boxes in "
              f"{m['bound_seconds']} s, proven optimal: {m['proven_optimal']}")
    print(f"re-run equals prediction: {report.rerun_equal}")
    print(f"ratio plan / one sequential run: {seconds / baseline_seconds:,.0f}x")
    if report.quota_after is not None:
        print(report.quota_table().to_string(index=False))


if __name__ == "__main__":
    main()
