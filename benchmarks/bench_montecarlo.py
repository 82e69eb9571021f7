"""Benchmark: the Monte Carlo of declines (issue #16.3), 200 draws on ``hengyang-2021`` with 1 and with 2 Dask
workers (a LocalCluster made for the run: its start and close are counted) against 200 plain sequential runs
one after another, in the same run.

    python benchmarks/bench_montecarlo.py [--scenario hengyang-2021] [--draws 200] [--rate 0.04] [--seed 1]
                                          [--repeat 2] [--scheduler tcp://HOST:PORT]

The baseline is what a planner would do by hand: for each draw, the scenario with the draw's declines as its
declines.csv (`solver.analysis.montecarlo.draw_declines`), run with `solver.run.run(sc, "sequential")` (the
whole run: arrays, engine, figures), one after another in this process.  The Monte Carlo runs each draw on
the scenario's arrays made once per worker and sends back per school and per region counts only.  The
rounds are interleaved (baseline, in this process, 1 worker, 2 workers, again) and the best of --repeat is
kept, since the machine may be shared; a control measures how many cores two processes actually get.
Goal (issue #16): 2 workers <= 0.6 x the baseline.  The draws are checked equal in every mode.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GOAL = 0.6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="hengyang-2021")
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--rate", type=float, default=0.04)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--scheduler", default=None, help="also time the draws on this running cluster")
    args = ap.parse_args()

    import pandas as pd
    from bench_sweep import free_cores  # benchmarks/ is on the path when a benchmark runs as a script

    import scenarios
    from solver.analysis.montecarlo import draw_declines, montecarlo, write_montecarlo
    from solver.run import run

    sc = scenarios.load(args.scenario)
    print(f"{args.scenario}: {len(sc.students):,} students, {len(sc.schools)} schools, {args.draws} draws at "
          f"{args.rate:.1%}, seed {args.seed}, {os.cpu_count()} CPU(s)")
    run(sc, engine="sequential")  # warm up

    def baseline() -> list[int]:
        vacancies = []
        for d in range(args.draws):
            out = run(dataclasses.replace(sc, declines=draw_declines(sc, args.rate, args.seed, d)), engine="sequential")
            vacancies.append(int(out.schools.loc[out.schools["registered"], "vacancies"].sum()))
        return vacancies

    modes = {"baseline": baseline,
             "in this process": lambda: montecarlo(sc, args.rate, args.draws, args.seed, serial=True),
             "1 Dask worker": lambda: montecarlo(sc, args.rate, args.draws, args.seed, workers=1),
             "2 Dask workers": lambda: montecarlo(sc, args.rate, args.draws, args.seed, workers=2)}
    if args.scheduler:
        modes[f"cluster {args.scheduler}"] = lambda: montecarlo(sc, args.rate, args.draws, args.seed,
                                                                scheduler=args.scheduler)
    times: dict[str, list[float]] = {name: [] for name in modes}
    results: dict[str, object] = {}  # each mode's result of its fastest round
    cores = []
    for i in range(args.repeat):
        print(f"round {i + 1}:")
        for name, fn in modes.items():
            t = time.perf_counter()
            out = fn()
            seconds = time.perf_counter() - t
            if not times[name] or seconds < min(times[name]):
                results[name] = out
            times[name].append(seconds)
            print(f"  {name:<26} {seconds:7.2f} s   ratio {seconds / times['baseline'][-1]:5.2f}", flush=True)
        cores.append(free_cores(2))
        print(f"  control: 2 processes of plain numpy work ran like {cores[-1]:.2f} free core(s)", flush=True)

    reports = {name: r for name, r in results.items() if name != "baseline"}
    first = next(iter(reports.values()))
    for r in reports.values():
        pd.testing.assert_frame_equal(r.schools, first.schools)
        pd.testing.assert_frame_equal(r.per_draw, first.per_draw)
    assert first.per_draw["vacancies"].tolist() == results["baseline"], "a draw differs from its plain run"
    print(f"every mode gives the same {args.draws} draws (and each draw's vacancies equal its plain run's)")

    serial = min(times["baseline"])
    print(f"\nbaseline: {args.draws} plain sequential runs, one after another   {serial:7.2f} s")
    for name, r in reports.items():
        best = min(times[name])
        timings = r.timings
        parts = ", ".join(f"{k} {timings[k]:.2f} s" for k in ("cluster", "tasks", "close") if k in timings)
        print(f"Monte Carlo, {name:<26} {best:7.2f} s   ratio {best / serial:5.2f}"
              + (f"   ({parts}; draws in the workers {timings['draws_sum']:.2f} s)" if parts else ""))
    two = min(times["2 Dask workers"]) / serial
    rounds = [a / b for a, b in zip(times["2 Dask workers"], times["baseline"])]
    print(f"goal: 2 workers <= {GOAL} x the baseline: {'met' if two <= GOAL else 'NOT met'} (best against best "
          f"{two:.2f}; round by round {', '.join(f'{r:.2f}' for r in rounds)} with "
          f"{', '.join(f'{c:.2f}' for c in cores)} free cores)")
    report = reports["2 Dask workers"]
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        write_montecarlo(report, Path(tmp) / "mc")
        print(f"files (CSV, montecarlo.xlsx, montecarlo.png, summary.json)      {time.perf_counter() - t:7.2f} s")
    print(f"peak memory: this process {report.summary()['peak_memory_mib']} MiB, "
          f"a worker {report.worker_peak_memory_mib} MiB")


if __name__ == "__main__":
    main()
