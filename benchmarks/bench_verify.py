"""Benchmark: ``zhaosheng verify`` (batch by batch, the default) against a sequential run of the same scenario,
with the phases (load, build, solve, uniqueness proof, checker), the model's size and peak memory.

    python benchmarks/bench_verify.py                          # hengyang-2021, 300,000 and 1,000,000 students
    python benchmarks/bench_verify.py --sizes 300000 --whole   # also the whole model at once, for comparison

Each case runs in its own process (peak memory is that process's).  The baseline measured in the same run is
the sequential engine's whole run of the same scenario (``zhaosheng run --engine sequential``).  Goals
(issue #14): hengyang-2021 <= 8x; 300,000 students <= 30x and < 6 GB; 1,000,000 students (300 schools, 14
regions, 3 batches, seed 1) equal and unique proven, <= 60x and < 12 GB.
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

ROOT = Path(__file__).resolve().parents[1]


def measure(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MiB) and exit code of one child process run from the repository root;
    a failing child's last error lines are printed."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace").strip().splitlines()[-5:]
            print(f"  ! {' '.join(cmd[2:4])} exited {code}: " + " | ".join(tail), flush=True)
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, code


GOALS = {"hengyang-2021": (8, None), 300_000: (30, 6 * 1024), 1_000_000: (60, 12 * 1024)}
"""ratio to the sequential run, peak MiB (issue #14)."""


def generated(workdir: Path, students: int) -> Path:
    """The issue's cases: 1M students in 300 schools and 14 regions, seed 1; smaller ones in proportion."""
    regions, schools, seed = (14, 300, 1) if students >= 1_000_000 else (20, 120, 7) if students >= 200_000 \
        else (12, 40, 7)
    folder = workdir / f"gen-{students}-{schools}-{regions}-{seed}"
    if not (folder / "students.csv").exists():
        subprocess.run([sys.executable, "-m", "api.cli", "generate", str(folder), "--students", str(students),
                        "--schools", str(schools), "--regions", str(regions), "--seed", str(seed)], check=True,
                       stdout=subprocess.DEVNULL, cwd=ROOT)
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[300_000, 1_000_000], help="generated scenario sizes")
    ap.add_argument("--no-bundled", action="store_true", help="skip hengyang-2021")
    ap.add_argument("--whole", action="store_true", help="also verify with the whole model at once")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "zhaosheng-bench")
    args = ap.parse_args()
    cases: list[tuple[str | int, str]] = ([] if args.no_bundled else [("hengyang-2021", "hengyang-2021")]) + \
        [(n, str(generated(args.workdir, n))) for n in args.sizes]
    limit = ["--time-limit", str(args.time_limit)] if args.time_limit else []
    methods = ["batches", "whole"] if args.whole else ["batches"]
    for case, scenario in cases:
        label = case if isinstance(case, str) else f"generated {case:,}"
        out = args.workdir / "verify-out"
        base = measure([sys.executable, "-m", "api.cli", "run", scenario, "--engine", "sequential", "--out",
                        str(out), "-q"])
        print(f"{label}: baseline (run --engine sequential, whole process) {base[0]:.1f} s, peak {base[1]:,.0f} MiB",
              flush=True)
        for method in methods:
            wall, peak, code = measure([sys.executable, "-m", "api.cli", "verify", scenario, "--out", str(out), "-q",
                                        "--method", method, *limit])
            summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            if code != 0 and "verification" not in summary:
                print(f"  {method}: failed (exit {code}) after {wall:.1f} s, peak {peak:,.0f} MiB: "
                      f"{summary.get('reason', '')[:200]}", flush=True)
                continue
            v = summary.get("verification", {})
            t = v.get("times", {})
            m = v.get("model_size", {})
            ratio_goal, peak_goal = GOALS.get(case, (None, None))
            goal = "" if ratio_goal is None else f" (goal <= {ratio_goal}x" + \
                (f", < {peak_goal:,} MiB)" if peak_goal else ")")
            print(f"  {method}: verdict {v.get('verdict')} (exit {code}); whole process {wall:.1f} s, "
                  f"ratio {wall / base[0]:.1f}x, peak {peak:,.0f} MiB{goal}")
            print(f"    phases (s): load {summary['timings'].get('load', 0):.1f}, build {t.get('build', 0):.1f}, "
                  f"solve {t.get('solve', 0):.1f}, proof {t.get('proof', 0):.1f}, checker {t.get('checker', 0):.1f}")
            print(f"    model: {m.get('applications', 0):,} applications, {m.get('variables', 0):,} variables, "
                  f"{m.get('constraints', 0):,} constraints"
                  + (f"; largest batch {m['largest_batch_variables']:,} variables, "
                     f"{m['largest_batch_constraints']:,} constraints" if "largest_batch_variables" in m else ""))
            for b in v.get("batches", []):
                bm = b["model_size"]
                print(f"    batch {b['batch']}: {bm['applications']:,} applications, {bm['variables']:,} variables, "
                      f"{bm['constraints']:,} constraints; build {b['build']:.1f} s, solve {b['solve']:.1f} s "
                      f"({b['solve_status']}), proof {b['proof'] or 0:.1f} s ({b['proof_status']})", flush=True)


if __name__ == "__main__":
    main()
