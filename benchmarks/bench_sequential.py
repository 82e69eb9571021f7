"""Benchmark: the whole ``zhaosheng run --engine sequential`` process on a generated scenario against a
baseline process that only reads the same students.csv with pandas and lexsorts the applications.

    python benchmarks/bench_sequential.py [--students 1000000] [--schools 300] [--regions 40] [--repeat 3]

Prints wall time and peak memory of each process (best of --repeat), the engine's own phases from
summary.json, and the ratio to the baseline.  Goal (issue #2): ratio <= 3, engine after loading <= 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = r"""
import sys, numpy as np, pandas as pd
students = pd.read_csv(sys.argv[1], dtype={"student_id": str})
cols = [c for c in students.columns if "choice_" in c]
codes, schools = pd.factorize(pd.concat([students[c] for c in cols], ignore_index=True))
n = len(students)
student = np.tile(np.arange(n), len(cols))
rank = np.repeat(np.arange(len(cols)), n)
keep = codes >= 0
score = students["score"].to_numpy()
# applications by (school, choice rank, score descending, student): the order a school reads them
order = np.lexsort((student[keep], -score[student[keep]], rank[keep], codes[keep]))
print(len(order))
"""


ROOT = Path(__file__).resolve().parents[1]


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process, run from the repository root."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--schools", type=int, default=300)
    ap.add_argument("--regions", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "zhaosheng-bench")
    args = ap.parse_args()

    folder = args.workdir / f"gen-{args.students}-{args.schools}-{args.regions}-{args.seed}"
    if not (folder / "students.csv").exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "api.cli", "generate", str(folder), "--students", str(args.students),
                        "--schools", str(args.schools), "--regions", str(args.regions), "--seed", str(args.seed),
                        "--batches", "3", "--max-choices", "2"], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        print(f"generated {folder} in {time.perf_counter() - t0:.1f} s")
    size = (folder / "students.csv").stat().st_size / 2**20
    print(f"scenario: {args.students:,} students, {args.schools} schools, {args.regions} regions, 3 batches, "
          f"2 choices; students.csv {size:.0f} MiB")

    out = args.workdir / "out"
    base_runs, run_runs, phases = [], [], []
    for _ in range(args.repeat):
        base_runs.append(measure([sys.executable, "-c", BASELINE, str(folder / "students.csv")]))
        run_runs.append(measure([sys.executable, "-m", "api.cli", "run", str(folder), "--engine", "sequential",
                                 "--out", str(out), "--quiet"]))
        phases.append(json.loads((out / "summary.json").read_text())["timings"])
    base = min(base_runs)
    ours = min(run_runs)
    best = min(phases, key=lambda t: t["engine"])
    base_peak = max(m for _, m in base_runs)
    ours_peak = max(m for _, m in run_runs)
    print(f"baseline (pandas read_csv + lexsort of applications): {base[0]:6.2f} s, peak {base_peak:7.0f} MiB")
    print(f"zhaosheng run --engine sequential (whole process):   {ours[0]:6.2f} s, peak {ours_peak:7.0f} MiB")
    print(f"ratio to baseline: {ours[0] / base[0]:.2f}x  (goal <= 3x)")
    print("phases of the best run (s): " + ", ".join(f"{k} {v:.2f}" for k, v in best.items()))
    after_load = best["arrays"] + best["engine"]
    print(f"engine after loading (arrays + rounds): {after_load:.2f} s  (goal <= 3 s)")


if __name__ == "__main__":
    main()
