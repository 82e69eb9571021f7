"""The loader's fast paths (issue #14) read exactly what the plain paths read and report exactly the same
problems: a file without quotes is split without looking for line breaks inside values, a column with no
byte that can be whitespace is not trimmed, an ASCII file is not decoded, checks run once per distinct
cell, whole-number ids are checked for repeats by sorting.  Each test gives the case where the fast path
must step aside next to the one where it is taken."""

from __future__ import annotations

import numpy as np
import pytest

from models import ScenarioError, load_scenario
from models.columns import derived, text
from solver.engine.arrays import ScenarioArrays

from builders import write_tiny

HEADER = "student_id,region_id,score,evaluation,choice_1,choice_2,batch2_choice_1,batch2_choice_2\n"
CLEAN = HEADER + "1,R1,500,A,S1,S2,,\n2,R1,480,B,S1,S2,,\n3,R2,470,A,S1,S2,,\n4,R2,300,C,,,,\n5,R1,200,D,S2,,,\n"


def frames(sc) -> dict:
    return {name: getattr(sc, name).to_dict("list") for name in ("regions", "schools", "students")}


def errors(folder) -> list[tuple]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    return [(p.file, p.row, p.column, p.value, p.clause, p.message) for p in info.value.errors]


@pytest.mark.parametrize("space", [" ", "\t", "\u3000", "\xa0", " \u3000 "])
def test_cells_padded_with_any_whitespace_read_as_the_clean_file(tmp_path, space):
    padded = HEADER + "".join(
        ",".join(f"{space}{c}{space}" if c else c for c in line.split(",")) + "\n" for line in CLEAN.splitlines()[1:])
    clean = load_scenario(write_tiny(tmp_path / "clean", CLEAN))
    assert frames(load_scenario(write_tiny(tmp_path / "padded", padded))) == frames(clean)


def test_a_quoted_line_break_inside_a_value_and_a_file_without_quotes(tmp_path):
    """With a quote in the file the reader looks for line breaks inside values; the row numbers after
    such a value still count the spreadsheet's rows (the value spans two lines of the file)."""
    text = CLEAN.replace("5,R1,200,D,S2", '"5",R1,200,D,S2').replace("2,R1,480,B,S1,S2,,", '2,R1,480,B,"S1\nX",S2,,')
    found = errors(write_tiny(tmp_path / "quoted", text))
    assert [(f, r, c, v, clause) for f, r, c, v, clause, _ in found] == [
        ("students.csv", 3, "choice_1", "S1\nX", "R3")]
    assert load_scenario(write_tiny(tmp_path / "plain", CLEAN)).students["student_id"].tolist() == list("12345")


def test_empty_and_comma_only_rows_anywhere_keep_the_row_numbers(tmp_path):
    lines = CLEAN.splitlines()
    text = "\n".join([lines[0], lines[1], ",,,,,,,", "", lines[2], ",,9,,,,,", lines[3], lines[4], lines[5], ",,,,,,,"])
    found = errors(write_tiny(tmp_path / "s", text + "\n"))
    assert [(r, c, clause) for _, r, c, _, clause, _ in found] == [
        (6, "student_id", "FORMATS students.csv"), (6, "region_id", "FORMATS students.csv"), (6, "evaluation", "R6")]


@pytest.mark.parametrize(("ids", "repeated"), [
    (["0001", "0002", "0003", "0001", "0005"], "0001"),  # equal lengths: compared as numbers
    (["7", "07", "3", "4", "5"], None),  # "7" and "07" are two ids (the texts differ)
    (["10", "20", "30", "20", "50"], "20"),
    (["a1", "b2", "a1", "c4", "d5"], "a1"),  # not numbers: compared as texts
])
def test_a_repeated_id_is_found_whether_or_not_the_ids_are_numbers(tmp_path, ids, repeated):
    rows = CLEAN.splitlines()[1:]
    text = HEADER + "".join(f"{i},{row.split(',', 1)[1]}\n" for i, row in zip(ids, rows))
    folder = write_tiny(tmp_path / "s", text)
    if repeated is None:
        sc = load_scenario(folder)
        assert sc.students["student_id"].tolist() == ids
        return
    assert [(r, v, m) for _, r, _, v, _, m in errors(folder)] == [
        (ids.index(repeated, ids.index(repeated) + 1) + 2, repeated,
         f"duplicate student id (first on row {ids.index(repeated) + 2})")]


def test_a_decline_of_an_id_that_is_another_as_a_number_is_an_unknown_student(tmp_path):
    """'7' is not '07': the binary search by number checks the texts too."""
    rows = CLEAN.splitlines()[1:]
    text = HEADER + "".join(f"{i},{row.split(',', 1)[1]}\n" for i, row in zip(["07", "10", "11", "12", "13"], rows))
    folder = write_tiny(tmp_path / "s", text)
    (folder / "declines.csv").write_text("student_id,batch\n7,1\n010,1\n07,1\n", encoding="utf-8")
    assert [(f, r, v, m) for f, r, _, v, _, m in errors(folder)] == [
        ("declines.csv", 2, "7", "unknown student"), ("declines.csv", 3, "010", "unknown student")]


def test_a_fraction_of_graduates_is_reported_not_a_crash(tmp_path):
    folder = write_tiny(tmp_path / "s", CLEAN)
    (folder / "regions.csv").write_text(
        "region_id,name,kind,graduates,general_seats\nR1,甲区,urban,4.5,1\nR2,乙县,county,3,0\n", encoding="utf-8")
    assert [(f, r, c, v, m) for f, r, c, v, _, m in errors(folder)] == [
        ("regions.csv", 2, "graduates", "4.5", "graduates (应届初中毕业生数) must be a whole number")]


def test_the_engines_take_the_loaders_codes_only_for_the_very_columns(tmp_path):
    """The codes the loader leaves are used while the columns are the ones it read; a column replaced
    afterwards is looked up again."""
    sc = load_scenario(write_tiny(tmp_path / "s", CLEAN))
    kept = derived(sc).get("codes", (sc.students["choice_1"], sc.schools["school_id"]))
    assert kept is not None and kept.tolist() == [0, 0, 0, -1, 1]
    before = ScenarioArrays.from_scenario(sc).lists["choices"].copy()
    sc.students["choice_1"] = text(["S2", "", "S1", "", "S2"])  # a what-if edits the table in place
    assert derived(sc).get("codes", (sc.students["choice_1"], sc.schools["school_id"])) is None
    assert ScenarioArrays.from_scenario(sc).lists["choices"][:, 0].tolist() == [1, -1, 0, -1, 1]
    sc.students["choice_1"] = sc.students["choice_2"]  # the very data of another column: its codes
    assert np.array_equal(ScenarioArrays.from_scenario(sc).lists["choices"][:, 0], before[:, 1])
