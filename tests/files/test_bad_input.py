"""Bad input, one test per class, in all three forms of a scenario (docs/formats.md): a CSV folder, one .xlsx
workbook, a JSON object.  Every problem names the file, the row as a spreadsheet numbers it (header =
row 1, first data row = 2; JSON counts records from 1), the column, the value and the clause: a rule id
of docs/rules.md or a clause of docs/formats.md.  Void choices (R2, R3) are warnings, never errors.
"""

from __future__ import annotations

import copy
import json

import pytest

from models import ScenarioError, load_scenario, load_scenario_data
from solver.engine.sequential import run_sequential

from builders import file_of, load_as, region, row_of, scenario_dict, school, student, write_csv_folder


def base() -> dict:
    """A valid scenario: every test breaks one thing in it."""
    return scenario_dict(
        regions=[region("R1"), region("R2")],
        schools=[school("A", 2), school("B", 1), school("C", 1, region="R2")],
        students=[student("s1", 90, ["A", "B"]), student("s2", 80, ["B"], region="R2"), student("s3", 70, ["C"])],
        subquotas=[("A", "R1", 1)], declines=[("s1", 1)], interviews=[("s2", "B")], batches=2)


def errors_of(data: dict, form: str, tmp_path) -> list:
    with pytest.raises(ScenarioError) as info:
        load_as(data, form, tmp_path)
    assert info.value.errors, "a ScenarioError must carry at least one error"
    return info.value.errors


def where(p) -> tuple:
    return (p.file, p.row, p.column, p.value, p.clause)


def assert_only(errors, file, row, column, value, clause):
    """Exactly this one error is reported."""
    assert [where(p) for p in errors] == [(file, row, column, value, clause)]


def test_the_base_scenario_is_valid(form, tmp_path):
    sc = load_as(base(), form, tmp_path)
    assert len(sc.students) == 3 and sc.warnings == []
    assert run_sequential(sc).admissions["outcome"].tolist() == ["unplaced", "vocational", "vocational"]


# Identifiers --------------------------------------------------------------------------------------

def test_duplicate_student_id(form, tmp_path):
    data = base()
    data["students"][2]["student_id"] = "s1"
    assert_only(errors_of(data, form, tmp_path), file_of(form, "students"), row_of(form, 2), "student_id", "s1",
                "FORMATS students.csv")


def test_duplicate_school_id(form, tmp_path):
    data = base()
    data["schools"][2]["school_id"] = "B"
    data["students"][2]["choice_1"] = "A"
    assert_only(errors_of(data, form, tmp_path), file_of(form, "schools"), row_of(form, 2), "school_id", "B",
                "FORMATS schools.csv")


@pytest.mark.parametrize("table, index, clause", [
    ("students", 1, "FORMATS students.csv"),
    ("schools", 0, "FORMATS schools.csv"),
    ("subquotas", 0, "R8"),
])
def test_unknown_region(form, tmp_path, table, index, clause):
    data = base()
    data[table][index]["region_id"] = "R9"
    assert_only(errors_of(data, form, tmp_path), file_of(form, table), row_of(form, index), "region_id", "R9",
                clause)


def test_unknown_school_in_a_choice_column(form, tmp_path):
    data = base()
    data["students"][0]["choice_2"] = "Z"
    assert_only(errors_of(data, form, tmp_path), file_of(form, "students"), row_of(form, 0), "choice_2", "Z", "R3")


@pytest.mark.parametrize("table, clause", [("subquotas", "R8"), ("interviews", "R3")])
def test_unknown_school_in_a_table(form, tmp_path, table, clause):
    data = base()
    data[table][0]["school_id"] = "Z"
    assert_only(errors_of(data, form, tmp_path), file_of(form, table), row_of(form, 0), "school_id", "Z", clause)


# Choices (R3) ---------------------------------------------------------------------------------------

def test_a_school_listed_twice_in_one_list(form, tmp_path):
    data = base()
    data["students"][0]["choice_2"] = "A"
    assert_only(errors_of(data, form, tmp_path), file_of(form, "students"), row_of(form, 0), "choice_2", "A", "R3")


def test_more_filled_choices_than_max_choices(form, tmp_path):
    data = base()
    for s in data["students"]:
        s["choice_3"] = ""
    data["students"][0]["choice_3"] = "C"
    assert_only(errors_of(data, form, tmp_path), file_of(form, "students"), row_of(form, 0), "choice_3", "C", "R3")


def test_a_gap_in_a_choice_list(form, tmp_path):
    data = base()
    data["students"][1]["choice_1"] = ""
    data["students"][1]["choice_2"] = "B"
    assert_only(errors_of(data, form, tmp_path), file_of(form, "students"), row_of(form, 1), "choice_1", "", "R3")


# Numbers ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [("", ""), ("abc", "abc"), (-5, "-5")])
def test_bad_score(form, tmp_path, value, text):
    data = base()
    data["students"][2]["score"] = value
    assert_only(errors_of(data, form, tmp_path), file_of(form, "students"), row_of(form, 2), "score", text, "R6")


@pytest.mark.parametrize("value, text", [("", ""), ("many", "many"), (-1, "-1")])
def test_bad_quota(form, tmp_path, value, text):
    data = base()
    data["schools"][1]["quota"] = value
    assert_only(errors_of(data, form, tmp_path), file_of(form, "schools"), row_of(form, 1), "quota", text, "R7")


def test_sub_quotas_adding_up_to_more_than_the_quota(form, tmp_path):
    data = base()
    data["subquotas"] = [{"school_id": "A", "region_id": "R1", "quota": 2},
                         {"school_id": "B", "region_id": "R1", "quota": 1},
                         {"school_id": "A", "region_id": "R2", "quota": 1}]
    # reported once, on the school's first sub-quota row, with the total as the value
    assert_only(errors_of(data, form, tmp_path), file_of(form, "subquotas"), row_of(form, 0), "quota", "3", "R8")


# Settings ------------------------------------------------------------------------------------------------

SETTINGS_FILE = {"csv": "scenario.yaml", "xlsx": "scenario.xlsx:scenario", "json": "scenario.json:scenario"}


def test_batch_dates_out_of_order(form, tmp_path):
    data = base()
    del data["declines"]  # see test_broken_settings_do_not_invent_unknown_batch_errors
    data["scenario"]["batches"][0]["admit_by"] = "2021-07-25"  # after confirm_by 2021-07-22
    [p] = errors_of(data, form, tmp_path)
    if form == "xlsx":  # a workbook's batches are rows of its batches sheet
        assert (p.file, p.row, p.clause) == ("scenario.xlsx:batches", 2, "R11")
    else:
        assert (p.file, p.column, p.clause) == (SETTINGS_FILE[form], "batches[1]", "R11")
    assert "2021-07-25" in p.value


def test_batch_dates_out_of_order_point_at_the_batches_sheet_row(tmp_path):
    data = base()
    data["scenario"]["batches"][1]["confirm_by"] = "2021-07-23"  # before admit_by 2021-07-24
    [p] = errors_of(data, "xlsx", tmp_path)
    assert (p.file, p.row, p.clause) == ("scenario.xlsx:batches", 3, "R11")


# Declines (R9) ---------------------------------------------------------------------------------------------

def test_a_decline_for_an_unknown_student(form, tmp_path):
    data = base()
    data["declines"].append({"student_id": "s9", "batch": 1})
    assert_only(errors_of(data, form, tmp_path), file_of(form, "declines"), row_of(form, 1), "student_id", "s9", "R9")


def test_a_decline_for_an_unknown_batch(form, tmp_path):
    data = base()
    data["declines"][0]["batch"] = 7
    assert_only(errors_of(data, form, tmp_path), file_of(form, "declines"), row_of(form, 0), "batch", "7", "R9")


# Malformed files ------------------------------------------------------------------------------------------

def test_malformed_scenario_yaml(tmp_path):
    data = base()
    del data["declines"]
    folder = write_csv_folder(data, tmp_path / "sc")
    (folder / "scenario.yaml").write_text("name: broken\nmax_choices: [2\ngeneral_stage: none\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    [p] = info.value.errors
    assert (p.file, p.clause) == ("scenario.yaml", "FORMATS scenario.yaml")
    assert p.row in (2, 3)  # the line of the unclosed list or the line where the parser notices it


def test_a_folder_without_scenario_yaml(tmp_path):
    data = base()
    del data["declines"]
    folder = write_csv_folder(data, tmp_path / "sc")
    (folder / "scenario.yaml").unlink()
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    assert [(p.file, p.clause) for p in info.value.errors] == [("scenario.yaml", "FORMATS scenario.yaml")]


def test_malformed_json_file(tmp_path):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(base())[:-40], encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    p = info.value.errors[0]
    assert (p.file, p.row, p.clause) == ("scenario.json", 1, "FORMATS")
    assert "malformed JSON" in p.message


def test_malformed_json_file_reports_no_missing_tables(tmp_path):
    """The tables are in the file the parser could not read: 'no regions table' would send the
    planner looking for the wrong fault."""
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(base())[:-40], encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [p.file for p in info.value.errors] == ["scenario.json"]


@pytest.mark.parametrize("setting, value, clause", [
    ("max_choices", 0, "R3"), ("general_stage", "sometimes", "R4"), ("batches", [], "R5")])
def test_bad_setting(form, tmp_path, setting, value, clause):
    data = base()
    del data["declines"]  # see test_broken_settings_do_not_invent_unknown_batch_errors
    data["scenario"][setting] = value
    errors = errors_of(data, form, tmp_path)
    assert [(p.file, p.column, p.clause) for p in errors] == [(SETTINGS_FILE[form], setting, clause)]


def test_broken_settings_do_not_invent_unknown_batch_errors(form, tmp_path):
    """One wrong setting (max_choices) must not turn every row of declines.csv, whose batch ids are
    right, into 'unknown batch (batches: [])'."""
    data = base()
    data["scenario"]["max_choices"] = "two"
    errors = errors_of(data, form, tmp_path)
    assert [(p.file, p.column, p.clause) for p in errors] == [(SETTINGS_FILE[form], "max_choices", "R3")]


def test_broken_settings_still_check_the_choice_columns(form, tmp_path):
    """Every problem at once (models.validate): an unknown school in a choice column is reported even
    when another setting is wrong."""
    data = base()
    del data["declines"]
    data["scenario"]["general_stage"] = "sometimes"
    data["students"][0]["choice_2"] = "Z"
    got = [where(p) for p in errors_of(data, form, tmp_path)]
    assert (file_of(form, "students"), row_of(form, 0), "choice_2", "Z", "R3") in got


@pytest.mark.parametrize("table, column, clause", [
    ("students", "score", "R6"), ("students", "region_id", "FORMATS students.csv"), ("schools", "quota", "R7")])
def test_missing_required_column(form, tmp_path, table, column, clause):
    data = base()
    for r in data[table]:
        del r[column]
    [p] = errors_of(data, form, tmp_path)
    assert (p.file, p.column, p.value, p.clause) == (file_of(form, table), column, None, clause)
    if form != "json":  # the header row; JSON has no header row (the loader says row 1 there too)
        assert p.row == 1


def test_missing_required_table(form, tmp_path):
    data = base()
    del data["schools"]
    errors = errors_of(data, form, tmp_path)
    assert ("schools.csv", None, None, None, "FORMATS schools.csv") in [where(p) for p in errors]


# Many at once -----------------------------------------------------------------------------------------------

def test_several_errors_are_all_reported_together(form, tmp_path):
    data = base()
    data["students"][2]["student_id"] = "s1"  # duplicate
    data["students"][1]["score"] = "abc"  # not a number
    data["students"][0]["choice_2"] = "Z"  # unknown school
    data["schools"][2]["quota"] = -3  # negative
    data["subquotas"][0]["region_id"] = "R9"  # unknown region
    data["declines"][0]["batch"] = 5  # unknown batch
    data["interviews"][0]["school_id"] = "Q"  # unknown school
    got = {where(p) for p in errors_of(data, form, tmp_path)}
    expected = {
        (file_of(form, "students"), row_of(form, 2), "student_id", "s1", "FORMATS students.csv"),
        (file_of(form, "students"), row_of(form, 1), "score", "abc", "R6"),
        (file_of(form, "students"), row_of(form, 0), "choice_2", "Z", "R3"),
        (file_of(form, "schools"), row_of(form, 2), "quota", "-3", "R7"),
        (file_of(form, "subquotas"), row_of(form, 0), "region_id", "R9", "R8"),
        (file_of(form, "declines"), row_of(form, 0), "batch", "5", "R9"),
        (file_of(form, "interviews"), row_of(form, 0), "school_id", "Q", "R3"),
    }
    assert got == expected


# Void choices are warnings -------------------------------------------------------------------------------------

def test_void_choices_are_warnings_not_errors(form, tmp_path):
    data = base()
    data["schools"][1]["registered"] = False  # B: s1's choice 2, s2's choice 1 (R2)
    data["schools"][2]["requires_interview"] = True  # C: s3 has no pass (R3)
    sc = load_as(data, form, tmp_path)
    got = sorted(where(p) + (p.severity,) for p in sc.warnings)
    students = file_of(form, "students")
    assert got == sorted([
        (students, row_of(form, 0), "choice_2", "B", "R2", "warning"),
        (students, row_of(form, 1), "choice_1", "B", "R2", "warning"),
        (students, row_of(form, 2), "choice_1", "C", "R3", "warning"),
    ])
    assert run_sequential(sc).admissions["outcome"].tolist() == ["unplaced", "none", "none"]


def test_an_interview_pass_lifts_the_warning(form, tmp_path):
    data = base()
    data["schools"][1]["requires_interview"] = True  # B: s2 passed it, s1 did not
    sc = load_as(data, form, tmp_path)
    assert [where(p) for p in sc.warnings] == [(file_of(form, "students"), row_of(form, 0), "choice_2", "B", "R3")]


def test_load_scenario_data_reports_like_a_json_file():
    data = copy.deepcopy(base())
    data["students"][1]["score"] = -1
    with pytest.raises(ScenarioError) as info:
        load_scenario_data(data)
    assert [where(p) for p in info.value.errors] == [("scenario.json:students", 2, "score", "-1", "R6")]
