"""Ratio sweep (issue #6.2): every step equals a single run of the scenario with the general seats written
into its regions; the parallel sweep equals the serial one; shares parse; the chart files are written."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import load_scenario_data
from scenarios import generate
from solver.analysis.sweep import TOTAL, ShareError, general_seats_at, parse_shares, sweep, write_sweep
from solver.run import run

from builders import region, scenario_dict, school, student, write_csv_folder
from strategies import scenarios

HYPOTHESIS = settings(max_examples=40, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def at_share_from_scratch(data: dict, share: float) -> dict:
    """The scenario with every region's general seats written in as the share of its graduates (half up)."""
    data = copy.deepcopy(data)
    data["scenario"]["general_stage"] = "seats"
    for r in data["regions"]:
        r.pop("general_cutoff", None)
        r["general_seats"] = math.floor(r["graduates"] * share + 0.5)
    return data


def expected_rows(data: dict, share: float) -> pd.DataFrame:
    """One step computed by hand from a plain run: per region and the 合计 row."""
    out = run(load_scenario_data(at_share_from_scratch(data, share)))
    reg, sch = out.regions, out.schools[out.schools["registered"]]
    vac = sch.groupby("region_id")["vacancies"].sum()
    rows = [(r.region_id, r.general, r.vocational, r.unplaced, r.vocational_share, r.enrollment_rate,
             int(vac.get(r.region_id, 0))) for r in reg.itertuples()]
    g, v = int(reg["general"].sum()), int(reg["vocational"].sum())
    rows.append(("", g, v, int(reg["unplaced"].sum()), round(v / (g + v), 4) if g + v else np.nan,
                 round((g + v) / reg["graduates"].sum(), 4), int(sch["vacancies"].sum())))
    return pd.DataFrame(rows, columns=["region_id", "general", "vocational", "unplaced", "vocational_share",
                                       "enrollment_rate", "vocational_vacancies"])


def assert_step_equals(report, data: dict, share: float) -> None:
    got = report.table[report.table["general_share"] == share].reset_index(drop=True)
    want = expected_rows(data, share)
    assert list(got["region_id"]) == list(want["region_id"])
    assert list(got["name"].iloc[-1:]) == [TOTAL]
    for col in ("general", "vocational", "unplaced", "vocational_vacancies"):
        assert got[col].astype(int).tolist() == want[col].astype(int).tolist(), col
    for col in ("vocational_share", "enrollment_rate"):
        np.testing.assert_allclose(got[col].to_numpy(dtype=float), want[col].to_numpy(dtype=float), equal_nan=True)


# Shares ------------------------------------------------------------------------------------------------

def test_a_range_includes_both_ends():
    shares = parse_shares("0.40:0.60:0.02")
    assert len(shares) == 11 and shares[0] == 0.4 and shares[-1] == 0.6 and shares[5] == 0.5
    assert parse_shares("0.5") == [0.5]
    assert parse_shares("0.45, 0.5,0.55") == [0.45, 0.5, 0.55]
    assert parse_shares("0.4:0.5:0.3") == [0.4]  # the stop is not a step: not included


@pytest.mark.parametrize("spec, words", [("0.6:0.4:0.1", "START <= STOP"), ("0.4:0.6:0", "positive"),
                                         ("0.4:0.6", "START:STOP:STEP"), ("abc", "not START:STOP:STEP"),
                                         ("1.2", "between 0 and 1"), ("0.5,0.5", "twice"), ("", "no general share")])
def test_bad_shares_are_errors(spec, words):
    with pytest.raises(ShareError, match=words):
        parse_shares(spec)


def test_seats_are_the_share_of_graduates_rounded_half_up():
    sc = load_scenario_data(scenario_dict([student("a", 90, ["A"])], [school("A", 1)],
                                          [region("R1", graduates=5), region("R2", graduates=7)]))
    assert general_seats_at(sc, 0.5).tolist() == [3, 4]  # 2.5 -> 3, 3.5 -> 4
    assert general_seats_at(sc, 0.3).tolist() == [2, 2]  # 1.5 -> 2, 2.1 -> 2


# Steps equal single runs -----------------------------------------------------------------------------------

def hand_case() -> dict:
    """R1: 4 graduates, R2: 2; A (in R1) has 2 seats, B (in R2) 1 seat."""
    return scenario_dict(
        students=[student("a", 90, ["A"]), student("b", 80, ["A", "B"]), student("c", 70, ["A"]),
                  student("d", 60, ["B"]), student("e", 85, ["B"], region="R2"), student("f", 50, ["A"], region="R2")],
        schools=[school("A", 2), school("B", 1, region="R2")],
        regions=[region("R1", graduates=4, cutoff=75), region("R2", graduates=2, cutoff=99)],
        general_stage="cutoff")


def test_hand_checked_steps():
    data = hand_case()
    report = sweep(load_scenario_data(data), [0.0, 0.5], workers=1)
    t = report.totals.set_index("general_share")
    # 0%: nobody general; round 1: A takes a, b (c rejected, f rejected), B takes e (d rejected)
    assert (t.loc[0.0, "general"], t.loc[0.0, "vocational"], t.loc[0.0, "unplaced"]) == (0, 3, 3)
    # 50%: R1 2 seats (a, b), R2 1 seat (e); A takes c, f; B takes d
    assert (t.loc[0.5, "general"], t.loc[0.5, "vocational"], t.loc[0.5, "unplaced"]) == (3, 3, 0)
    assert t.loc[0.5, "general_vocational_ratio"] == "1 : 1.00" and t.loc[0.5, "vocational_vacancies"] == 0
    for share in (0.0, 0.5):
        assert_step_equals(report, data, share)


@HYPOTHESIS
@given(scenarios(), st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 1.0]), min_size=1, max_size=3, unique=True))
def test_each_step_equals_a_single_run(data, shares):
    report = sweep(load_scenario_data(data), shares, workers=1)
    assert report.shares == shares
    for share in shares:
        assert_step_equals(report, data, share)


def test_parallel_steps_equal_serial_steps():
    sc = generate(3000, regions=4, schools=8, seed=5, general_stage="cutoff")
    shares = parse_shares("0.3:0.7:0.1")
    seen = []
    parallel = sweep(sc, shares, workers=2, progress=lambda what, done, total: seen.append((done, total)))
    serial = sweep(sc, shares, workers=1)
    assert parallel.workers == 2 and serial.workers == 1
    pd.testing.assert_frame_equal(parallel.table, serial.table)
    assert seen[0] == (0, 5) and seen[-1] == (5, 5) and len(seen) == 6
    t = serial.totals
    assert (np.diff(t["general"]) >= 0).all()  # more general seats, more general students
    assert (np.diff(t["vocational_vacancies"]) >= 0).all()


# Files and the command -------------------------------------------------------------------------------------

def test_write_sweep_writes_the_table_and_both_charts(tmp_path):
    report = sweep(load_scenario_data(hand_case()), [0.0, 0.25, 0.5], workers=1)
    out = write_sweep(report, tmp_path / "sw")
    table = pd.read_csv(out / "sweep.csv", dtype=str, keep_default_na=False)
    assert len(table) == 3 * 3 and (table["name"] == TOTAL).sum() == 3
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "sweep.html").read_text(encoding="utf-8")
    embedded = "src=\"https://cdn.plot.ly" not in html and len(html) > 1_000_000  # plotly.js inside: opens offline
    assert embedded
    assert ("1 : 1" in html) and ("95%" in html)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["steps"] == 3 and [s["general_share"] for s in summary["totals"]] == [0.0, 0.25, 0.5]
    assert summary["shares_meeting_enrollment_target"] == [0.5]


def test_sweep_command(tmp_path):
    from api.cli import cli

    folder = write_csv_folder(hand_case(), tmp_path / "sc")
    res = CliRunner().invoke(cli, ["sweep", str(folder), "--general-share", "0:0.5:0.25", "--out", str(tmp_path / "o"),
                                   "--workers", "1", "-q"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "sweep.png").exists() and "50%" in res.output
    bad = CliRunner().invoke(cli, ["sweep", str(folder), "--general-share", "0.6:0.4:0.1"])
    assert bad.exit_code == 2 and "START <= STOP" in bad.output
