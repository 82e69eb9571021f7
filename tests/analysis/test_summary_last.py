"""Every analysis writer (what-if, set of what-ifs, sweep, bound, comparison, Monte Carlo) writes its files in
`models.results.summary_last`: a folder holding a summary.json is complete.  An earlier summary.json is gone
before the first new file is written, so a writer that fails half-way leaves no summary beside its partial
files, and the writing's seconds go into the report's timings."""

from __future__ import annotations

import json

import pytest

from models.results import summary_last, write_json
from solver.analysis.flow import bound, write_bound

from builders import make_scenario, school, student


def test_an_old_summary_is_gone_before_the_first_file_and_the_writing_is_timed(tmp_path):
    (tmp_path / "summary.json").write_text('{"status": "done"}', encoding="utf-8")
    timings: dict[str, float] = {}
    with summary_last(tmp_path / ".", timings) as out:
        assert not (out / "summary.json").exists()
        (out / "table.csv").write_text("a\n1\n", encoding="utf-8")
    assert timings["write"] >= 0
    write_json({"status": "new"}, out / "summary.json")
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == {"status": "new"}


def test_a_writer_that_fails_half_way_leaves_no_summary(tmp_path, monkeypatch):
    sc = make_scenario(schools=[school("A", 1)], students=[student("p", 90, ["A"]), student("q", 80, ["A"])])
    report = bound(sc)
    out = write_bound(report, tmp_path / "bound")
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))  # complete: with its summary

    def broken(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("solver.analysis.flow._workbook", broken)
    with pytest.raises(OSError, match="disk full"):
        write_bound(report, out)
    assert (out / "bound_schools.csv").exists() and not (out / "summary.json").exists()
