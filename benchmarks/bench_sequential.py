"""Benchmark: the whole ``zhaosheng run --engine sequential`` process on a generated scenario against the
floor of issue #14: a process that only reads the same students.csv with pyarrow's CSV reader (student_id
as text) and lexsorts its applications by (school, choice rank, score descending, student).

    python benchmarks/bench_sequential.py [--students 1000000] [--schools 300] [--regions 14] [--seed 1]
                                          [--repeat 3]

The default case is the issue's: ``zhaosheng generate DIR --students 1000000 --schools 300 --regions 14
--seed 1``.  Prints wall time and peak memory of each process (best of --repeat, the two alternating so
that both see the same machine), the engine's own phases from summary.json, and the ratio to the floor.
Goal (issue #14): ratio <= 2.
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
import sys
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

table = pacsv.read_csv(sys.argv[1], convert_options=pacsv.ConvertOptions(column_types={"student_id": pa.string()}))
cols = [c for c in table.column_names if "choice_" in c]
n = table.num_rows
# every choice cell, column after column; schools as codes of one dictionary, -1 where empty
cells = pa.concat_arrays([pc.cast(table.column(c), pa.string()).combine_chunks() for c in cols])
encoded = pc.dictionary_encode(cells)
codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
empty = [i for i, s in enumerate(encoded.dictionary.to_pylist()) if s == ""]
if empty:
    codes[codes == empty[0]] = -1
student = np.tile(np.arange(n), len(cols))
rank = np.repeat(np.arange(len(cols)), n)
keep = codes >= 0
score = table.column("score").to_numpy()
# applications by (school, choice rank, score descending, student): the order a school reads them
order = np.lexsort((student[keep], -score[student[keep]], rank[keep], codes[keep]))
print(table.column("student_id")[0], len(order))
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
    ap.add_argument("--regions", type=int, default=14)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "zhaosheng-bench")
    args = ap.parse_args()

    folder = args.workdir / f"gen-{args.students}-{args.schools}-{args.regions}-{args.seed}"
    if not (folder / "students.csv").exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "api.cli", "generate", str(folder), "--students", str(args.students),
                        "--schools", str(args.schools), "--regions", str(args.regions), "--seed", str(args.seed)],
                       check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        print(f"generated {folder} in {time.perf_counter() - t0:.1f} s")
    size = (folder / "students.csv").stat().st_size / 2**20
    print(f"scenario: {args.students:,} students, {args.schools} schools, {args.regions} regions (seed {args.seed}); "
          f"students.csv {size:.0f} MiB")

    # The project's bytecode, as an installed package has it: where PYTHONDONTWRITEBYTECODE is set (as in CI
    # sandboxes) nothing is cached, and every run would compile the project's modules again (numpy's and
    # pyarrow's, which the floor imports, come compiled with them).
    subprocess.run([sys.executable, "-m", "compileall", "-q", "models", "solver", "api", "scenarios"], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    out = args.workdir / "out"
    base_runs, run_runs, phases = [], [], []
    for _ in range(args.repeat):
        base_runs.append(measure([sys.executable, "-c", BASELINE, str(folder / "students.csv")]))
        run_runs.append(measure([sys.executable, "-m", "api.cli", "run", str(folder), "--engine", "sequential",
                                 "--out", str(out), "--quiet"]))
        phases.append(json.loads((out / "summary.json").read_text())["timings"])
    base = min(base_runs)
    ours = min(run_runs)
    best = phases[run_runs.index(ours)]
    base_peak = max(m for _, m in base_runs)
    ours_peak = max(m for _, m in run_runs)
    print(f"floor (pyarrow read_csv + lexsort of applications): {base[0]:6.2f} s, peak {base_peak:7.0f} MiB")
    print(f"zhaosheng run --engine sequential (whole process):  {ours[0]:6.2f} s, peak {ours_peak:7.0f} MiB")
    print(f"ratio to the floor: {ours[0] / base[0]:.2f}x  (goal <= 2x)")
    print("phases of the best run (s): " + ", ".join(f"{k} {v:.2f}" for k, v in best.items()))
    inside = sum(best.values())
    print(f"outside the phases (start-up, imports, exit): {ours[0] - inside:.2f} s")


if __name__ == "__main__":
    main()
