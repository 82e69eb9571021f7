"""Memory and progress of long jobs (issue #14.5): every summary.json gives the peak memory; running out of
memory ends with a clear message (what ran out, at which phase and batch, what to try), exit 1 and a failed
summary, never a traceback or half a result; verification reports each batch's steps as progress."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from solver.verify import verify

from builders import make_scenario, school, student

ROOT = Path(__file__).resolve().parents[2]


def zhaosheng(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def test_running_out_of_memory_ends_with_a_clear_failure(tmp_path):
    """150,000 students verified within 1 GiB of address space: the CP-SAT model of batch 1 does not fit."""
    scenario, out = tmp_path / "big", tmp_path / "out"
    assert zhaosheng("generate", str(scenario), "--students", "150000", "--schools", "60", "--regions", "12",
                     "--seed", "3").returncode == 0
    (out / "admissions.csv").parent.mkdir()
    (out / "admissions.csv").write_text("an earlier run's file\n", encoding="utf-8")
    done = zhaosheng("verify", str(scenario), "--out", str(out), "-q", "--memory-limit", "1")
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "failed"
    reason = summary["reason"]
    assert reason.startswith("out of memory while ") and "under a limit of 1 GiB" in reason, reason
    assert "batch" in reason or "loading" in reason or "sequential" in reason, reason
    assert "Try:" in reason and "--method batches" in reason
    assert summary["peak_memory_mib"] > 0
    assert "out of memory while" in " ".join(done.stderr.split())
    assert not (out / "admissions.csv").exists()  # no result, old or half-written, next to a failed summary


def _two_batches():
    return make_scenario(schools=[school("A", 1), school("B", 2)],
                         students=[student("p", 90, ["A", "B"]), student("q", 80, ["A", "B"]),
                                   student("r", 70, ["A"])],
                         declines=[("p", 1)], batches=2)


def test_verification_reports_each_batch_as_progress():
    steps: list[tuple[str, int, int]] = []
    v = verify(_two_batches(), progress=lambda what, done, total: steps.append((what, done, total)))
    assert v.verdict.text == "verified"
    assert steps == [("batch 1 (1 of 2): building the CP-SAT model", 0, 6), ("batch 1 (1 of 2): solving", 1, 6),
                     ("batch 1 (1 of 2): proving uniqueness", 2, 6),
                     ("batch 2 (2 of 2): building the CP-SAT model", 3, 6), ("batch 2 (2 of 2): solving", 4, 6),
                     ("batch 2 (2 of 2): proving uniqueness", 5, 6)]


def test_summary_gives_peak_memory_and_the_batches(tmp_path):
    from models.writers import write_scenario

    write_scenario(_two_batches(), tmp_path / "sc")
    done = zhaosheng("verify", str(tmp_path / "sc"), "--out", str(tmp_path / "out"), "-q")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["peak_memory_mib"] > 50  # Python, pandas and OR-Tools alone take more
    v = summary["verification"]
    assert v["method"] == "batch by batch" and [b["batch"] for b in v["batches"]] == [1, 2]
    assert all(b["solve_status"] == "OPTIMAL" and b["proof_status"] == "INFEASIBLE" for b in v["batches"])


def test_a_run_that_skips_the_teardown_still_says_everything(tmp_path):
    """`run` ends by os._exit once its files are published (api.cli.main): through a pipe, every line it
    printed still arrives, and the exit codes stay those of the command (0 here, 2 for bad input)."""
    from models.writers import write_scenario

    write_scenario(_two_batches(), tmp_path / "sc")
    done = zhaosheng("run", str(tmp_path / "sc"), "--out", str(tmp_path / "out"), "--engine", "sequential", "-q")
    assert done.returncode == 0, done.stderr[-2000:]
    said = " ".join(done.stdout.split())
    assert "合计" in said and said.rstrip().endswith("s") and "Results in" in said and "progress.xlsx" in said
    assert json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))["status"] == "done"
    bad = zhaosheng("run", str(tmp_path / "missing"), "--out", str(tmp_path / "out2"), "-q")
    assert bad.returncode == 2 and "missing" in bad.stdout + bad.stderr
