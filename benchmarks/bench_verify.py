"""Benchmark: the phases of ``zhaosheng verify`` (load, build, solve, uniqueness proof, checker) and peak
memory, on hengyang-2021 and on generated scenarios.

    python benchmarks/bench_verify.py                     # hengyang-2021 and 300,000 students
    python benchmarks/bench_verify.py --sizes 300000 1000000 --time-limit 900

Each case runs in its own process (peak memory is that process's).  The baseline measured in the same
run is the sequential engine's whole run of the same scenario (``zhaosheng run --engine sequential``):
the ratio says what the proof costs on top of the rule itself.  Goals (issue #3): hengyang-2021 all
phases <= 30 s; 300k <= 3 min and < 8 GB; 1M report (goal <= 15 min, < 16 GB).
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


def generated(workdir: Path, students: int) -> Path:
    regions, schools = (40, 300) if students >= 1_000_000 else (20, 120) if students >= 200_000 else (12, 40)
    folder = workdir / f"gen-{students}-{schools}-{regions}-7"
    if not (folder / "students.csv").exists():
        subprocess.run([sys.executable, "-m", "api.cli", "generate", str(folder), "--students", str(students),
                        "--schools", str(schools), "--regions", str(regions), "--seed", "7"], check=True,
                       stdout=subprocess.DEVNULL, cwd=ROOT)
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[300_000], help="generated scenario sizes")
    ap.add_argument("--no-bundled", action="store_true", help="skip hengyang-2021")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "zhaosheng-bench")
    args = ap.parse_args()
    cases = ([] if args.no_bundled else [("hengyang-2021", "hengyang-2021")]) + \
        [(f"generated {n:,}", str(generated(args.workdir, n))) for n in args.sizes]
    limit = ["--time-limit", str(args.time_limit)] if args.time_limit else []
    for label, scenario in cases:
        out = args.workdir / "verify-out"
        base = measure([sys.executable, "-m", "api.cli", "run", scenario, "--engine", "sequential", "--out",
                        str(out), "-q"])
        wall, peak, code = measure([sys.executable, "-m", "api.cli", "verify", scenario, "--out", str(out), "-q",
                                    *limit])
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        if code != 0 and "verification" not in summary:
            print(f"{label}: verify failed (exit {code}) after {wall:.1f} s, peak {peak:,.0f} MiB; "
                  f"baseline {base[0]:.1f} s, peak {base[1]:,.0f} MiB", flush=True)
            continue
        v = summary.get("verification", {})
        t = v.get("times", {})
        m = v.get("model_size", {})
        print(f"{label}: verdict {v.get('verdict')} (exit {code}); whole process {wall:.1f} s, peak {peak:,.0f} MiB")
        print(f"  phases (s): load {summary['timings'].get('load', 0):.1f}, build {t.get('build', 0):.1f}, "
              f"solve {t.get('solve', 0):.1f}, proof {t.get('proof', 0):.1f}, checker {t.get('checker', 0):.1f}")
        print(f"  model: {m.get('applications', 0):,} applications, {m.get('variables', 0):,} variables, "
              f"{m.get('constraints', 0):,} constraints")
        print(f"  baseline (run --engine sequential, whole process): {base[0]:.1f} s, peak {base[1]:,.0f} MiB; "
              f"ratio {wall / base[0]:.1f}x", flush=True)


if __name__ == "__main__":
    main()
