"""Benchmark: each mechanism (docs/rules.md "R6 variants") against boston, measured in the same run.

    python benchmarks/bench_mechanisms.py [--students 1000000] [--repeat 2]

1. The whole ``zhaosheng run --engine sequential`` process on a generated scenario (300 schools, 14 regions,
   seed 1 at 1M) with every batch under boston, parallel and chen-kesten (e = 2 and 3 over 3 choices):
   wall time (best of --repeat), peak memory, and the ratio to boston (goal, issue #15: <= 1.3x).
2. ``zhaosheng verify hengyang-2021`` with every batch parallel against the same with boston.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MECHANISMS = [("boston", None), ("parallel", None), ("chen-kesten", 2), ("chen-kesten", 3)]


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process run from the repository root."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


def variant(folder: Path, target: Path, mechanism: str, e: int | None) -> Path:
    """A copy of the scenario folder's scenario.yaml with every batch under ``mechanism`` (the tables are
    linked, not copied)."""
    target.mkdir(parents=True, exist_ok=True)
    for f in folder.iterdir():
        link = target / f.name
        if f.name != "scenario.yaml" and not link.exists():
            link.symlink_to(f.resolve())
    settings = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    for b in settings["batches"]:
        b.pop("e", None)
        b["mechanism"] = mechanism
        if e is not None:
            b["e"] = e
    (target / "scenario.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return target


def bundled_variant(name: str, target: Path, mechanism: str) -> Path:
    """A bundled scenario written out as a folder with every batch under ``mechanism``."""
    import dataclasses

    import scenarios
    from models.writers import write_scenario

    sc = scenarios.load(name)
    batches = tuple(dataclasses.replace(b, mechanism=mechanism, e=None) for b in sc.settings.batches)
    write_scenario(dataclasses.replace(sc, settings=dataclasses.replace(sc.settings, batches=batches)), target)
    return target


def label(mechanism: str, e: int | None) -> str:
    return mechanism + (f" e={e}" if e else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "zhaosheng-bench")
    ap.add_argument("--no-verify", action="store_true", help="skip the hengyang-2021 verification")
    args = ap.parse_args()
    base = args.workdir / f"gen-{args.students}-300-14-1"
    if not (base / "students.csv").exists():
        subprocess.run([sys.executable, "-m", "api.cli", "generate", str(base), "--students", str(args.students),
                        "--schools", "300", "--regions", "14", "--seed", "1"], check=True, stdout=subprocess.DEVNULL,
                       cwd=ROOT)
    out = args.workdir / "mechanism-out"
    times: dict[str, tuple[float, float]] = {}
    print(f"run --engine sequential, {args.students:,} students, best of {args.repeat}:")
    for mechanism, e in MECHANISMS:
        folder = variant(base, args.workdir / f"mech-{args.students}-{label(mechanism, e).replace(' ', '-')}",
                         mechanism, e)
        runs = [measure([sys.executable, "-m", "api.cli", "run", str(folder), "--engine", "sequential", "--out",
                         str(out), "-q"]) for _ in range(args.repeat)]
        times[label(mechanism, e)] = (min(r[0] for r in runs), max(r[1] for r in runs))
        wall, peak = times[label(mechanism, e)]
        ratio = wall / times["boston"][0]
        print(f"  {label(mechanism, e):<16} {wall:6.2f} s  peak {peak:,.0f} MiB  ratio to boston {ratio:.2f}x"
              + ("" if mechanism == "boston" else " (goal <= 1.3x)"), flush=True)
    if args.no_verify:
        return
    print("verify hengyang-2021 (batch by batch):")
    verified: dict[str, float] = {}
    for mechanism in ("boston", "parallel"):
        folder = bundled_variant("hengyang-2021", args.workdir / f"hengyang-{mechanism}", mechanism)
        wall, peak = measure([sys.executable, "-m", "api.cli", "verify", str(folder), "--out", str(out), "-q"])
        verified[mechanism] = wall
        print(f"  {mechanism:<10} {wall:6.2f} s  peak {peak:,.0f} MiB  ratio to boston "
              f"{wall / verified['boston']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
