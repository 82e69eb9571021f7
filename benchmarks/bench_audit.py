"""Benchmark of ``zhaosheng audit`` (issue #4), two parts:

1. A 1,000,000-row published result of a generated 1M-student scenario (the sequential engine's own
   result, with 20 faults injected): checks and difference, ``--no-explain``.  Goal: <= 10 s for the
   audit itself (checker + sequential engine + difference, summary.json's timings); the whole process,
   loading the three files included, is printed too.  Baseline: ``zhaosheng run --engine sequential``
   on the same scenario, whole process, in the same run.
2. hengyang-2021 with 20 injected faults, with the CP-SAT explanation.  Goal: explanation <= 60 s.
   Baseline: the same audit with ``--no-explain``.

    python benchmarks/bench_audit.py [--students 1000000] [--skip-large]

Faults (seeded): 8 seats handed from their holder to an unplaced applicant of the school (R6), 4 extra
admissions at full schools (R7, and R6 where the extra student is behind others), 2 extra admissions of
a region at a full sub-quota where there is one (R8), 2 seats left empty (R6 wasted seat), 2 admission
dates before batch 1 opens (R11), 2 ineligible students admitted (R1).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MOVED = ["outcome", "school_id", "batch", "choice_rank", "admit_date", "confirm_date"]


def inject(sc, adm: pd.DataFrame, seed: int = 1) -> tuple[pd.DataFrame, list[str]]:
    """The published result with 20 faults (see the module), and what was injected."""
    rng = np.random.default_rng(seed)
    adm = adm.copy().astype(object)
    st = sc.students.reset_index(drop=True)
    first = st["choice_1"].astype(str).to_numpy()
    assert (adm["student_id"].astype(str).to_numpy() == st["student_id"].astype(str).to_numpy()).all()
    outcome = adm["outcome"].astype(str).to_numpy()
    b1 = sc.settings.batches[0]
    dates = [b1.admit_by.isoformat(), b1.confirm_by.isoformat()]
    done: list[str] = []
    touched: set[int] = set()

    def pick(mask: np.ndarray) -> int:
        rows = np.flatnonzero(mask & ~np.isin(np.arange(len(mask)), list(touched)))
        row = int(rng.choice(rows))
        touched.add(row)
        return row

    unplaced = outcome == "unplaced"
    voc1 = (outcome == "vocational") & (adm["batch"].astype(str).to_numpy() == "1")
    schools_first = pd.Series(first[unplaced]).value_counts()
    full_with_waiting = set(schools_first.index)
    for _ in range(8):  # a seat handed to an unplaced applicant who listed the school first
        j = pick(voc1 & np.isin(adm["school_id"].astype(str).to_numpy(), list(full_with_waiting)))
        school = adm.at[j, "school_id"]
        u = pick(unplaced & (first == school))
        adm.loc[u, MOVED] = ["vocational", school, 1, 1, *dates]
        adm.loc[j, MOVED] = ["unplaced", None, None, None, None, None]
        done.append(f"R6 swap {adm.at[j, 'student_id']} -> {adm.at[u, 'student_id']} at {school}")
    for _ in range(4):  # one more admission at a school that is full
        u = pick(unplaced & np.isin(first, list(full_with_waiting)))
        adm.loc[u, MOVED] = ["vocational", first[u], 1, 1, *dates]
        done.append(f"R7 extra {adm.at[u, 'student_id']} at {first[u]}")
    sub = sc.subquotas
    for _ in range(2):  # one more student of a region at a school where the region has a sub-quota
        keys = set(zip(sub["school_id"].astype(str), sub["region_id"].astype(str)))
        region = st["region_id"].astype(str).to_numpy()
        has = np.array([(f, r) in keys for f, r in zip(first, region)])
        if not (unplaced & has).any():
            break
        u = pick(unplaced & has)
        adm.loc[u, MOVED] = ["vocational", first[u], 1, 1, *dates]
        done.append(f"R8 extra {adm.at[u, 'student_id']} at {first[u]}")
    for _ in range(2):  # a seat left empty
        j = pick(voc1)
        done.append(f"R6 emptied {adm.at[j, 'student_id']} at {adm.at[j, 'school_id']}")
        adm.loc[j, MOVED] = ["unplaced", None, None, None, None, None]
    for _ in range(2):  # admitted before batch 1 opens
        j = pick(voc1)
        adm.at[j, "admit_date"] = (b1.open - pd.Timedelta(days=5)).isoformat()
        done.append(f"R11 early {adm.at[j, 'student_id']}")
    ineligible = (outcome == "ineligible")
    for _ in range(2):  # an ineligible student admitted
        if not ineligible.any():
            break
        u = pick(ineligible)
        school = first[u] if first[u] not in ("", "nan") else adm.loc[voc1, "school_id"].iloc[0]
        adm.loc[u, MOVED] = ["vocational", school, 1, 1, *dates]
        done.append(f"R1 ineligible {adm.at[u, 'student_id']} at {school}")
    return adm, done


def audit_process(scenario: str, result: Path, out: Path, explain: bool) -> tuple[float, dict, int]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "api.cli", "audit", scenario, "--result", str(result), "--out",
                           str(out), "--explain" if explain else "--no-explain"], cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr.decode())
    return wall, json.loads((out / "summary.json").read_text()), proc.returncode


def run_process(scenario: str, out: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "api.cli", "run", scenario, "--engine", "sequential", "--out", str(out),
                    "--quiet"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def published(scenario: str, work: Path, label: str) -> tuple[Path, list[str]]:
    """The engine's result of the scenario with the 20 faults, as a CSV file."""
    import scenarios
    from solver.engine.sequential import run_sequential

    sc = scenarios.load(scenario)
    adm, done = inject(sc, run_sequential(sc).admissions)
    path = work / f"{label}-published.csv"
    adm.to_csv(path, index=False)
    return path, done


def part(title: str, scenario: str, work: Path, label: str, repeat: int, explain: bool) -> None:
    path, done = published(scenario, work, label)
    print(f"\n== {title}: {len(done)} faults injected ({', '.join(sorted({d.split()[0] for d in done}))})")
    base = min(run_process(scenario, work / f"{label}-run") for _ in range(repeat)) if not explain else None
    runs = [audit_process(scenario, path, work / f"{label}-audit", explain) for _ in range(repeat)]
    wall, summary, code = min(runs, key=lambda r: r[0])
    t = summary["timings"]
    audit_s = t["checker"] + t["sequential"] + t["differences"]
    print(f"exit {code}; {summary['violations']:,} violation rows {summary['violations_by_rule']}; "
          f"{summary['differences']:,} students differ")
    print("timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in t.items()))
    if explain:
        no_wall, no_summary, _ = min((audit_process(scenario, path, work / f"{label}-plain", False)
                                      for _ in range(repeat)), key=lambda r: r[0])
        ex = summary["explanations"]
        print(f"explanations: {ex}")
        print(f"explanation: {t['explain']:.2f} s (goal <= 60 s); whole audit with explanation {wall:.2f} s")
        print(f"baseline (the same audit, --no-explain, whole process): {no_wall:.2f} s; "
              f"ratio {wall / no_wall:.2f}x")
    else:
        print(f"audit (checker + sequential + difference): {audit_s:.2f} s (goal <= 10 s); "
              f"whole process {wall:.2f} s (load {t['load']:.2f} s)")
        print(f"baseline (zhaosheng run --engine sequential, whole process): {base:.2f} s; "
              f"ratio {wall / base:.2f}x whole process")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "zhaosheng-bench")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    part("hengyang-2021, explanation", "hengyang-2021", args.workdir, "hengyang", args.repeat, explain=True)
    if args.skip_large:
        return
    folder = args.workdir / f"gen-{args.students}-300-40-7"
    if not (folder / "students.csv").exists():
        subprocess.run([sys.executable, "-m", "api.cli", "generate", str(folder), "--students", str(args.students),
                        "--schools", "300", "--regions", "40", "--seed", "7", "--batches", "3", "--max-choices", "2"],
                       check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    part(f"generated {args.students:,} students, checks and difference", str(folder), args.workdir, "large",
         args.repeat, explain=False)


if __name__ == "__main__":
    main()
