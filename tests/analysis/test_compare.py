"""Mechanism comparison (issue #15.3): the same students under boston, parallel and chen-kesten:E, each run
equal to a plain run of the scenario with that mechanism written into every batch; between each pair the
students who gain, lose or move by their own lists (a hand-made case with the exact answer, cross-batch
cases, and a student-by-student oracle on generated cities); bad specifications refused; the files, the
Chinese workbook and the caveat on strategic lists; the command's exit codes."""

from __future__ import annotations

import copy
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from api.cli import cli
from models import load_scenario_data
from scenarios import generate
from solver.analysis.compare import (
    CAVEAT,
    CAVEAT_ZH,
    CHANGES,
    COMPARE_FILES,
    MAX_MECHANISMS,
    MechanismError,
    MechanismSpec,
    compare,
    parse_mechanisms,
    score_bands,
    student_envy,
    with_mechanism,
    write_compare,
)
from solver.analysis.jobs import run_analysis
from solver.run import run

from builders import scenario_dict, school, student, write_csv_folder


def tiny() -> dict:
    """A(1 seat), B(1): s (95) lists [B], p (90) [B, A], q (80) [A].  boston: s gets B, q gets A in round 1,
    p finds A full in round 2; parallel: p is rejected at B and displaces q at A."""
    return scenario_dict(students=[student("s", 95, ["B"]), student("p", 90, ["B", "A"]), student("q", 80, ["A"])],
                         schools=[school("A", 1), school("B", 1)])


def seat(report, label: str) -> dict:
    rows = report.moves
    return {r["student_id"]: r for r in rows[rows["mechanism_b"] == label].to_dict("records")}


# the hand-made case ---------------------------------------------------------------------------------------

def test_boston_and_parallel_differ_as_worked_out_by_hand():
    sc = load_scenario_data(tiny())
    report = compare(sc, parse_mechanisms("boston,parallel"))
    m = report.mechanisms.set_index("mechanism")
    assert m.loc["boston", "justified_envy_students"] == 1 and m.loc["parallel", "justified_envy_students"] == 0
    assert (m.loc["boston", "vocational"], m.loc["parallel", "vocational"]) == (2, 2)
    assert (m.loc["boston", "placed_first_choice"], m.loc["parallel", "placed_first_choice"]) == (2, 1)
    assert m.loc["boston", "first_choice_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert m.loc["parallel", "placed_rank_2"] == 1

    moves = seat(report, "parallel")
    assert set(moves) == {"p", "q"}  # s keeps B
    p, q = moves["p"], moves["q"]
    assert p["change"] == "gain" and p["outcome_a"] == "unplaced"
    assert (p["school_id_b"], p["choice_rank_b"]) == ("A", 2)
    assert p["envy_a"] and not p["envy_b"]  # rejected at A under boston while A took q, behind him
    assert q["change"] == "lose" and q["school_id_a"] == "A" and q["outcome_b"] == "unplaced"
    assert (p["score_band"], q["score_band"]) == (90, 80)

    pairs = report.pairs
    total = pairs[pairs["by"] == "total"].iloc[0]
    assert (total["changed"], total["gain"], total["lose"], total["move"], total["other"], total["net"]) == \
        (2, 1, 1, 0, 0, 0)
    assert total["took_part"] == 3
    bands = pairs[pairs["by"] == "score_band"].set_index("key")
    assert bands.loc["90", ["gain", "lose", "took_part"]].tolist() == [1, 0, 2]  # s and p
    assert bands.loc["80", ["gain", "lose", "took_part"]].tolist() == [0, 1, 1]
    assert bands.loc["90", "name"] == "90–100分"
    assert pairs[pairs["by"] == "region"]["name"].tolist() == ["地区R1"]

    s = report.summary()
    assert s["pairs"] == [{"a": "boston", "b": "parallel", "changed": 2, "gain": 1, "lose": 1, "move": 0,
                           "other": 0, "net": 0}]
    assert s["figures"]["boston"]["justified_envy_students"] == 1 and s["caveat"] == CAVEAT
    assert "strategic" in CAVEAT and "策略" in CAVEAT_ZH


def test_the_reverse_pair_swaps_gain_and_loss():
    report = compare(load_scenario_data(tiny()), parse_mechanisms("parallel,boston"))
    moves = seat(report, "boston")
    assert (moves["p"]["change"], moves["q"]["change"]) == ("lose", "gain")


def test_each_run_equals_a_plain_run_with_the_mechanism_written_into_the_scenario():
    data = tiny()
    report = compare(load_scenario_data(data), parse_mechanisms("boston,parallel,chen-kesten:1"))
    for label, mechanism, e in (("boston", "boston", None), ("parallel", "parallel", None),
                                ("chen-kesten:1", "chen-kesten", 1)):
        written = copy.deepcopy(data)
        for b in written["scenario"]["batches"]:
            b["mechanism"] = mechanism
            if e:
                b["e"] = e
        out = run(load_scenario_data(written))
        row = report.mechanisms.set_index("mechanism").loc[label]
        assert row["justified_envy_students"] == out.fairness["justified_envy_students"]
        assert row["first_choice_share"] == out.fairness["first_choice_share"]
        assert row["vocational"] == (out.result.admissions["outcome"] == "vocational").sum()


# across batches -------------------------------------------------------------------------------------------

NO_FALLBACK = [{"id": 1, "name": "第一批次", "choices": "choices", "open": "2021-07-10", "admit_by": "2021-07-20",
                "confirm_by": "2021-07-22"},
               {"id": 2, "name": "第二批次", "choices": "batch2", "admit_by": "2021-07-24", "confirm_by": "2021-07-26"}]


def test_a_seat_in_another_batch_is_ranked_by_the_list_that_names_both():
    """d (99) takes B in batch 1 and declines it.  boston: p (90, [B, C]) finds C taken by r in round 1 and
    gets B back in batch 2 by the fallback to his original list; parallel: p is held at C in batch 1.  By p's
    own list B is above C: a loss for him (and r loses C)."""
    data = scenario_dict(students=[student("d", 99, ["B"]), student("p", 90, ["B", "C"]), student("r", 85, ["C"])],
                         schools=[school("B", 1), school("C", 1)], batches=2, declines=[("d", 1)])
    report = compare(load_scenario_data(data), parse_mechanisms("boston,parallel"))
    moves = seat(report, "parallel")
    p = moves["p"]
    assert (p["school_id_a"], p["batch_a"], p["choice_rank_a"]) == ("B", 2, 1)
    assert (p["school_id_b"], p["batch_b"], p["choice_rank_b"]) == ("C", 1, 2)
    assert p["change"] == "lose" and moves["r"]["change"] == "lose"
    assert set(moves) == {"p", "r"}


def test_seats_no_list_names_together_are_a_move():
    """p's batch-2 list names X only: boston places him there, parallel at C (batch 1); neither list names
    both schools, so his lists do not say which he prefers."""
    data = scenario_dict(students=[student("s", 99, ["B"]), student("p", 90, ["B", "C"], batch2=["X"]),
                                   student("r", 85, ["C"])],
                         schools=[school("B", 1), school("C", 1), school("X", 1)], batches=NO_FALLBACK)
    report = compare(load_scenario_data(data), parse_mechanisms("boston,parallel"))
    moves = seat(report, "parallel")
    assert (moves["p"]["school_id_a"], moves["p"]["batch_a"]) == ("X", 2)
    assert (moves["p"]["school_id_b"], moves["p"]["batch_b"]) == ("C", 1)
    assert moves["p"]["change"] == "move" and moves["r"]["change"] == "lose"
    total = report.pair_totals().iloc[0]
    assert (total["gain"], total["lose"], total["move"]) == (0, 1, 1)


def test_the_same_school_in_another_batch_is_a_move():
    """q (80) takes A in batch 1 and declines it.  boston: p (90, [B, A]) finds A held by q in round 1 and gets
    it in batch 2 (fallback); parallel: p displaces q at A in batch 1."""
    data = scenario_dict(students=[student("s", 95, ["B"]), student("p", 90, ["B", "A"]), student("q", 80, ["A"])],
                         schools=[school("A", 1), school("B", 1)], batches=2, declines=[("q", 1)])
    report = compare(load_scenario_data(data), parse_mechanisms("boston,parallel"))
    moves = seat(report, "parallel")
    assert set(moves) == {"p"}  # q is unplaced under both
    assert (moves["p"]["batch_a"], moves["p"]["batch_b"], moves["p"]["school_id_b"]) == (2, 1, "A")
    assert moves["p"]["change"] == "move"


# an oracle on generated cities ----------------------------------------------------------------------------

def _list_of(st: pd.DataFrame, sc, batch_id: int, i: int) -> list[str]:
    batch = sc.settings.batch(batch_id)
    m = sc.settings.max_choices

    def names(list_name: str) -> list[str]:
        prefix = "choice_" if list_name == "choices" else f"{list_name}_choice_"
        return [str(st.at[i, f"{prefix}{k}"]) if f"{prefix}{k}" in st.columns and pd.notna(st.at[i, f"{prefix}{k}"])
                else "" for k in range(1, m + 1)]

    own = names(batch.choices)
    if batch.fallback and batch.choices != "choices" and all(c == "" for c in own):
        return names("choices")
    return own


def _expected_change(sc, i: int, a: dict, b: dict) -> str:
    """The change of student i from result a to result b, told from the definition, one student at a time."""
    st = sc.students
    if all(a[k] == b[k] for k in ("outcome", "school_id", "batch", "choice_rank")):
        return ""
    placed_a, placed_b = a["outcome"] == "vocational", b["outcome"] == "vocational"
    if placed_b and not placed_a:
        return "gain"
    if placed_a and not placed_b:
        return "lose"
    if not placed_a:
        return "other"
    if a["batch"] == b["batch"]:
        return "gain" if b["choice_rank"] < a["choice_rank"] else "lose"
    if a["school_id"] != b["school_id"]:
        list_a, list_b = _list_of(st, sc, a["batch"], i), _list_of(st, sc, b["batch"], i)
        if b["school_id"] in list_a:
            return "gain" if list_a.index(b["school_id"]) + 1 < a["choice_rank"] else "lose"
        if a["school_id"] in list_b:
            return "gain" if b["choice_rank"] < list_b.index(a["school_id"]) + 1 else "lose"
    return "move"


@pytest.mark.parametrize("seed", [3, 8])
def test_changes_follow_the_definition_student_by_student(seed):
    sc = generate(3000, regions=4, schools=10, seed=seed, batches=3, decline_share=0.08, quota_factor=0.8)
    specs = parse_mechanisms(["boston", "parallel", "chen-kesten:1"])
    report = compare(sc, specs, band=25)
    results = {}
    for spec in specs:
        adm = run(with_mechanism(sc, spec)).result.admissions
        results[spec.label] = [
            {"outcome": o, "school_id": s if isinstance(s, str) else "", "batch": int(b) if pd.notna(b) else 0,
             "choice_rank": int(r) if pd.notna(r) else 0}
            for o, s, b, r in zip(adm["outcome"], adm["school_id"], adm["batch"], adm["choice_rank"])]
    kinds_seen = set()
    for a, b in (("boston", "parallel"), ("boston", "chen-kesten:1"), ("parallel", "chen-kesten:1")):
        expected = {str(sc.students.at[i, "student_id"]): k for i, (x, y) in enumerate(zip(results[a], results[b]))
                    if (k := _expected_change(sc, i, x, y))}
        rows = report.moves[(report.moves["mechanism_a"] == a) & (report.moves["mechanism_b"] == b)]
        assert dict(zip(rows["student_id"], rows["change"])) == expected
        kinds_seen |= set(expected.values())
        total = report.pairs[(report.pairs["mechanism_a"] == a) & (report.pairs["mechanism_b"] == b)
                             & (report.pairs["by"] == "total")].iloc[0]
        assert total["changed"] == len(expected) == sum(total[k] for k in CHANGES)
        for by in ("score_band", "region"):
            part = report.pairs[(report.pairs["mechanism_a"] == a) & (report.pairs["mechanism_b"] == b)
                                & (report.pairs["by"] == by)]
            assert part[list(CHANGES)].sum().tolist() == [total[k] for k in CHANGES]
    assert report.pair_totals().set_index("mechanism_b").loc["chen-kesten:1"].query(
        "mechanism_a == 'boston'")["changed"].iloc[0] == 0  # e = 1 is the sequential rule
    assert {"gain", "lose"} <= kinds_seen
    m = report.mechanisms.set_index("mechanism")
    assert m.loc["parallel", "justified_envy_students"] == 0
    assert m.loc["chen-kesten:1", "same_as"] == "boston"


def test_student_envy_adds_up_to_the_runs_figure():
    sc = generate(4000, regions=5, schools=12, seed=2, batches=2, quota_factor=0.8)
    for spec in (MechanismSpec("boston"), MechanismSpec("parallel"), MechanismSpec("chen-kesten", 2)):
        out = run(with_mechanism(sc, spec))
        assert student_envy(out).sum() == out.fairness["justified_envy_students"]
    assert student_envy(run(sc)).sum() > 0


def test_regions_add_up_to_the_mechanism_totals():
    sc = generate(3000, regions=4, schools=10, seed=5, batches=2, quota_factor=0.8)
    report = compare(sc, parse_mechanisms("boston,parallel"))
    summed = report.regions.groupby("mechanism", sort=False)[["vocational", "unplaced", "took_part",
                                                               "placed_first_choice",
                                                               "justified_envy_students"]].sum()
    m = report.mechanisms.set_index("mechanism")
    for col in summed.columns:
        assert (summed[col] == m.loc[summed.index, col]).all(), col
    assert len(report.schools) == 2 * len(sc.schools)


# specifications ----------------------------------------------------------------------------------------------

def test_specifications_parse():
    specs = parse_mechanisms("boston, parallel,chen-kesten:2")
    assert [s.label for s in specs] == ["boston", "parallel", "chen-kesten:2"]
    assert specs[2] == MechanismSpec("chen-kesten", 2) and specs[2].name_zh == "分段平行（每段 2 个志愿）"
    assert [s.label for s in parse_mechanisms(["顺序志愿", "平行志愿"])] == ["boston", "parallel"]
    assert [s.label for s in parse_mechanisms("sequential，parallel")] == ["boston", "parallel"]
    assert [s.label for s in parse_mechanisms(["chen-kesten:1", "chen-kesten:3"])] == ["chen-kesten:1", "chen-kesten:3"]
    assert MechanismSpec("chen-kesten", 1).same_as(2) == "boston"
    assert MechanismSpec("chen-kesten", 3).same_as(2) == "parallel"
    assert MechanismSpec("chen-kesten", 2).same_as(3) is None


@pytest.mark.parametrize("spec,message", [
    ("", "at least two"),
    ("boston", "at least two mechanisms, e.g. boston,parallel (only boston given)"),
    ("boston,paralel", "'paralel' is not a mechanism (did you mean 'parallel'?)"),
    ("boston,chen-kesten", "chen-kesten needs its block size E, e.g. chen-kesten:2"),
    ("boston,chen-kesten:0", "a whole number >= 1, not 0"),
    ("boston,chen-kesten:two", "a whole number >= 1, not 'two'"),
    ("boston:2,parallel", "boston takes no block size"),
    ("boston,parallel,boston", "boston is given twice"),
    ("lottery,random", "'lottery' is not a mechanism"),
    (",".join(f"chen-kesten:{e}" for e in range(1, MAX_MECHANISMS + 2)), f"at most {MAX_MECHANISMS} mechanisms"),
])
def test_bad_specifications_are_refused(spec, message):
    with pytest.raises(MechanismError, match=None) as err:
        parse_mechanisms(spec)
    assert message in str(err.value)


def test_every_problem_is_named_at_once():
    with pytest.raises(MechanismError) as err:
        parse_mechanisms("bostn,chen-kesten,parallel:3")
    text = str(err.value)
    assert "'bostn'" in text and "chen-kesten needs" in text and "parallel takes no block size" in text


def test_with_mechanism_sets_every_batch():
    sc = generate(200, regions=2, schools=4, seed=1, batches=3)
    changed = with_mechanism(sc, MechanismSpec("chen-kesten", 2))
    assert [(b.mechanism, b.e) for b in changed.settings.batches] == [("chen-kesten", 2)] * 3
    assert [b.mechanism for b in sc.settings.batches] == ["boston"] * 3  # the original is left as it was
    assert changed.students is sc.students


def test_score_bands():
    assert score_bands(np.array([0.0, 9.5, 10.0, 449.5, 450.0]), 10).tolist() == [0, 0, 10, 440, 450]
    assert score_bands(np.array([37.0]), 25).tolist() == [25]


# files, workbook, job, command ----------------------------------------------------------------------------

def test_files_workbook_and_summary(tmp_path):
    report = compare(load_scenario_data(tiny()), parse_mechanisms("boston,parallel,chen-kesten:2"))
    write_compare(report, tmp_path)
    for name in COMPARE_FILES:
        assert (tmp_path / name).is_file(), name
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "done" and summary["caveat"] == CAVEAT and summary["caveat_zh"] == CAVEAT_ZH
    assert summary["mechanisms"] == ["boston", "parallel", "chen-kesten:2"]
    assert summary["figures"]["chen-kesten:2"]["same_as"] == "parallel" and summary["figures"]["boston"]["e"] is None
    moves = pd.read_csv(tmp_path / "moves.csv", encoding="utf-8-sig", dtype=str)
    assert len(moves) == 4 and set(moves["change"]) == {"gain", "lose"}
    mechanisms = pd.read_csv(tmp_path / "mechanisms.csv", encoding="utf-8-sig")
    assert mechanisms["justified_envy_students"].tolist() == [1, 0, 0]
    assert (tmp_path / "compare.png").read_bytes()[:4] == b"\x89PNG"
    html = (tmp_path / "compare.html").read_text(encoding="utf-8")
    assert any(t in html for t in ("录取机制比较", json.dumps("录取机制比较")[1:-1]))  # plotly may escape it

    wb = openpyxl.load_workbook(tmp_path / "compare.xlsx")
    assert wb.sheetnames == ["说明", "各机制", "各地区", "各学校", "两两比较", "考生变动"]
    notes = "".join(str(c.value or "") for row in wb["说明"].iter_rows() for c in row)
    assert "策略性" in notes and "机械差异" in notes
    for name in wb.sheetnames[1:]:
        header = [c.value for c in next(wb[name].iter_rows(max_row=1))]
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in str(h)) for h in header), (name, header)
    moved = [[c.value for c in row] for row in wb["考生变动"].iter_rows(min_row=2)]
    assert {r[7] for r in moved} == {"得益", "受损"}
    first = [c.value for c in next(wb["各机制"].iter_rows(max_row=1))]
    assert first[:2] == ["录取机制", "机制名称"] and "有合理嫉妒的考生" in first and "第一志愿录取占比" in first


def test_run_analysis_compare_keeps_the_tables_for_the_service(tmp_path):
    analysis = run_analysis("compare", load_scenario_data(tiny()), {"mechanisms": "boston,parallel"}, tmp_path)
    assert analysis.kind == "compare" and analysis.summary["peak_memory_mib"] > 0
    assert analysis.tables["mechanisms"]["mechanism"].tolist() == ["boston", "parallel"]
    assert analysis.tables["pairs"][["gain", "lose"]].values.tolist() == [[1, 1]]
    with pytest.raises(MechanismError):
        run_analysis("compare", load_scenario_data(tiny()), {"mechanisms": "boston"}, tmp_path / "x")


def test_the_command(tmp_path):
    folder = write_csv_folder(tiny(), tmp_path / "tiny")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["compare", str(folder), "--mechanisms", "boston,parallel", "--out", str(out),
                                   "-q"])
    assert res.exit_code == 0, res.output
    assert "strategic" in res.output and "boston → parallel" in res.output
    assert (out / "compare.xlsx").is_file() and json.loads((out / "summary.json").read_text())["status"] == "done"

    bad = CliRunner().invoke(cli, ["compare", str(folder), "--mechanisms", "boston,chen-kesten", "--out",
                                   str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "chen-kesten needs its block size" in bad.output
    assert not (tmp_path / "bad").exists()  # nothing run, nothing written
    assert CliRunner().invoke(cli, ["compare", str(folder), "--band", "0"]).exit_code == 2
    missing = CliRunner().invoke(cli, ["compare", str(tmp_path / "no-such-city"), "--out", str(tmp_path / "m")])
    assert missing.exit_code == 2
