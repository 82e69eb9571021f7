"""Files as Chinese offices really produce them (issue #10): each is read to exactly the outcome of the
same data in clean form, or refused (exit 2 on the CLI) with an error naming the cause, first.

The corpus is made here by the project's own fixtures: CSVs saved as GB18030 or with a BOM, Chinese and
renamed headers, ids Excel turned into numbers, merged header cells and formulas written with openpyxl,
comma-only rows, a title row above the header, unknown columns and keys.  "Never certify a misread
input": nothing the loader does not understand may fall back to a default.
"""

from __future__ import annotations

import csv
import json

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.cli import cli
from models import ScenarioError, load_scenario
from models.published import read_published
from solver.engine.sequential import run_sequential

from builders import region, scenario_dict, school, student, write_workbook
from strategies import scenarios

TABLES = ("regions", "schools", "subquotas", "students", "declines", "interviews")


def base() -> dict:
    """A clean scenario: two batches, an unregistered school (R2), an interview school (R3), a
    sub-quota (R8), a decline (R9), Chinese names everywhere."""
    return scenario_dict(
        regions=[region("R1", name="珠晖区", graduates=10), region("R2", name="衡南县", graduates=10)],
        schools=[school("A", 2, name="衡阳市职业中专"), school("B", 1, name="衡南县职业中专", region="R2"),
                 school("C", 1, name="衡阳技师学院", requires_interview=True),
                 school("X", 5, name="外市某职校", region="", registered=False)],
        students=[student("2021001", 90, ["A", "B"], student_name="张三"),
                  student("2021002", 80, ["X", "A"], region="R2", student_name="李四"),
                  student("2021003", 70, ["C", "A"], student_name="王五"),
                  student("2021004", 60, ["A", "B"], batch2=["B"], student_name="赵六"),
                  student("2021005", 50, ["B"], region="R2", student_name="钱七")],
        subquotas=[("A", "R2", 1)], declines=[("2021001", 1)], interviews=[("2021003", "C")], batches=2)


def outcome(sc) -> list[tuple]:
    adm = run_sequential(sc).admissions
    return [tuple(str(v) for v in r) for r in adm[["student_id", "outcome", "school_id", "batch", "choice_rank"]]
            .itertuples(index=False)]


@pytest.fixture(scope="module")
def clean() -> list[tuple]:
    return outcome(load_scenario_from(base()))


def load_scenario_from(data: dict):
    from models import load_scenario_data

    return load_scenario_data(data)


# Writers of office files ----------------------------------------------------------------------------

def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    return str(v)


def office_folder(data: dict, folder, *, encoding="utf-8-sig", rename=None, title=None, trailing=0,
                  settings=None):
    """The scenario as a folder of CSVs the way Excel writes them: ``rename`` maps table -> {column:
    header}, ``title`` puts a title row above each header, ``trailing`` adds comma-only rows."""
    folder.mkdir(parents=True, exist_ok=True)
    sc = dict(data["scenario"], **(settings or {}))
    (folder / "scenario.yaml").write_text(yaml.safe_dump(sc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for table in TABLES:
        if table not in data:
            continue
        records = data[table]
        header = list(dict.fromkeys(k for r in records for k in r))
        with open(folder / f"{table}.csv", "w", encoding=encoding, newline="") as fh:
            w = csv.writer(fh)
            if title:
                w.writerow([title] + [""] * (len(header) - 1))
            w.writerow([(rename or {}).get(table, {}).get(h, h) for h in header])
            for r in records:
                w.writerow([_cell(r.get(h)) for h in header])
            for _ in range(trailing):
                w.writerow([""] * len(header))
    return folder


def run_cli(target, tmp_path) -> tuple[int, list[dict], str]:
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(target), "--out", str(out), "--engine", "sequential", "-q"])
    errors = []
    if (out / "errors.csv").exists():
        with open(out / "errors.csv", encoding="utf-8-sig") as fh:
            errors = list(csv.DictReader(fh))
    return result.exit_code, errors, result.output


def refused(target, tmp_path) -> list:
    """Load errors, root cause first; the CLI exits 2 with the same first error in errors.csv."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(target)
    code, errors, output = run_cli(target, tmp_path)
    assert code == 2, output
    assert errors and errors[0]["message"] == info.value.errors[0].message
    return info.value.errors


# Headers -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("style", [
    {"choice_1": "第一志愿学校代码", "choice_2": "第二志愿学校代码", "batch2_choice_1": "第二批次第一志愿学校代码",
     "batch2_choice_2": "第二批次第二志愿学校代码"},
    {"choice_1": "志愿1", "choice_2": "志愿2", "batch2_choice_1": "第二批次志愿1", "batch2_choice_2": "第二批次志愿2"},
    {"choice_1": "第1志愿代码", "choice_2": "第2志愿代码", "batch2_choice_1": "第二批第一志愿",
     "batch2_choice_2": "第二批第二志愿"},
    {"student_id": "考生号", "region_id": "学籍所在地", "score": "中考成绩", "evaluation": "综合素质评价",
     "student_name": "姓名", "choice_1": "第一志愿", "choice_2": "第二志愿"},
], ids=["学校代码", "志愿N", "第N志愿代码", "考生号"])
def test_chinese_choice_headers_read_to_the_clean_outcome(tmp_path, clean, style):
    folder = office_folder(base(), tmp_path / "sc", rename={"students": style})
    sc = load_scenario(folder)
    assert outcome(sc) == clean
    assert sc.students["student_name"].tolist()[:2] == ["张三", "李四"]  # name columns are carried


@pytest.mark.parametrize("header", ["备案情况", "备案", "是否备案"])
def test_registered_synonyms_keep_an_unregistered_school_out(tmp_path, clean, header):
    folder = office_folder(base(), tmp_path / "sc", rename={"schools": {"registered": header, "quota": "招生计划",
                                                                         "requires_interview": "是否面试"}})
    sc = load_scenario(folder)
    assert not sc.schools.set_index("school_id").loc["X", "registered"]
    assert outcome(sc) == clean
    assert all(r[2] != "X" for r in outcome(sc))  # R2: the unregistered school admits nobody


def test_an_unknown_column_is_refused_with_the_nearest_names(tmp_path):
    folder = office_folder(base(), tmp_path / "sc", rename={"students": {"choice_1": "第一志原"}})  # a typo
    errors = refused(folder, tmp_path)
    first = errors[0]
    assert (first.file, first.row, first.column) == ("students.csv", 1, "第一志原")
    assert "unknown column" in first.message and "`choice_1` (第一志愿)" in first.message


def test_a_declared_extra_column_is_kept_and_carried(tmp_path, clean):
    data = base()
    for r in data["students"]:
        r["家长电话"] = "13800000000"
    folder = office_folder(data, tmp_path / "sc", settings={"extra_columns": ["家长电话"]})
    sc = load_scenario(folder)
    assert outcome(sc) == clean and "家长电话" in sc.carried_columns()
    folder = office_folder(data, tmp_path / "undeclared")
    assert "unknown column '家长电话'" in refused(folder, tmp_path / "b")[0].message


def test_student_number_is_the_id_only_where_no_exam_number_is_given(tmp_path, clean):
    folder = office_folder(base(), tmp_path / "sc", rename={t: {"student_id": "学籍号"} for t in TABLES})
    assert outcome(load_scenario(folder)) == clean
    data = base()
    for r in data["students"]:
        r["学籍号"] = "G" + r["student_id"]
    sc = load_scenario(office_folder(data, tmp_path / "both", rename={"students": {"student_id": "考生号"}}))
    assert outcome(sc) == clean and sc.students["student_number"].iloc[0] == "G2021001"


def test_a_batch_whose_list_has_no_column_is_refused(tmp_path):
    data = base()
    for r in data["students"]:
        del r["batch2_choice_1"], r["batch2_choice_2"]
    errors = refused(office_folder(data, tmp_path / "sc"), tmp_path)
    assert (errors[0].clause, errors[0].column) == ("R5", "batch2_choice_1")


def test_two_headers_for_one_column_are_refused(tmp_path):
    data = base()
    for r in data["schools"]:
        r["是否备案"] = "是"
    errors = refused(office_folder(data, tmp_path / "sc"), tmp_path)
    assert "two columns mean 'registered'" in errors[0].message


# Keys of scenario.yaml --------------------------------------------------------------------------------

@pytest.mark.parametrize("where, key", [("scenario", "max_choice"), ("batch", "fallbak")])
def test_an_unknown_key_is_refused_naming_it(tmp_path, where, key):
    data = base()
    target = data["scenario"] if where == "scenario" else data["scenario"]["batches"][1]
    target[key] = 2 if where == "scenario" else True
    errors = refused(office_folder(data, tmp_path / "sc"), tmp_path)
    assert any(key in str(e.column) and "unknown key" in e.message and "did you mean" in e.message for e in errors)


@pytest.mark.parametrize("written, e, read", [("parallel", None, ("parallel", None)),
                                              ("平行志愿", None, ("parallel", None)),
                                              ("Chen-Kesten", 2, ("chen-kesten", 2)),
                                              ("chen-kesten", "3", ("chen-kesten", 3)),
                                              ("顺序志愿", None, ("boston", None))])
def test_a_batch_mechanism_is_read(tmp_path, written, e, read):
    data = base()
    data["scenario"]["batches"][0]["mechanism"] = written
    if e is not None:
        data["scenario"]["batches"][0]["e"] = e
    sc = load_scenario(office_folder(data, tmp_path / "sc"))
    assert (sc.settings.batches[0].mechanism, sc.settings.batches[0].e) == read
    assert sc.settings.batches[1].mechanism == "boston"  # the default (R6)


@pytest.mark.parametrize("mechanism, e, says", [("paralel", None, "unknown mechanism"),
                                                ("chen-kesten", None, "needs e"),
                                                ("chen-kesten", 0, "needs e"),
                                                ("chen-kesten", "2.5", "needs e"),
                                                ("parallel", 2, "e belongs to mechanism chen-kesten"),
                                                (None, 2, "e belongs to mechanism chen-kesten")])
def test_a_wrong_mechanism_is_refused_never_run_as_boston(tmp_path, mechanism, e, says):
    data = base()
    if mechanism is not None:
        data["scenario"]["batches"][0]["mechanism"] = mechanism
    data["scenario"]["batches"][0]["e"] = e
    errors = refused(office_folder(data, tmp_path / "sc"), tmp_path)
    assert errors[0].clause == "R6" and says in errors[0].message, errors[0].message


def test_the_title_key_is_the_display_name(tmp_path):
    sc = load_scenario(office_folder(base(), tmp_path / "sc", settings={"title": "衡阳市2021年中职招生"}))
    assert sc.settings.title == "衡阳市2021年中职招生"


def test_unknown_files_sheets_and_json_keys_are_refused(tmp_path):
    folder = office_folder(base(), tmp_path / "sc")
    (folder / "decline.csv").write_text("student_id,batch\n2021002,1\n", encoding="utf-8")  # a misnamed table
    assert "decline.csv is no table" in refused(folder, tmp_path / "a")[0].message
    book = write_workbook(base(), tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(book)
    wb.create_sheet("放弃名单").append(["考生号", "批次"])
    wb.save(book)
    assert "unknown sheet '放弃名单'" in refused(book, tmp_path / "b")[0].message
    path = tmp_path / "s.json"
    path.write_text(json.dumps({**base(), "decline": []}, ensure_ascii=False), encoding="utf-8")
    assert "unknown key 'decline'" in refused(path, tmp_path / "c")[0].message


# Encodings ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8", "utf-8-sig"])
def test_gbk_and_utf8_csvs_read_alike_and_the_encoding_is_recorded(tmp_path, clean, encoding):
    folder = office_folder(base(), tmp_path / "sc", encoding=encoding,
                           rename={"students": {"student_id": "考生号", "choice_1": "第一志愿"}})
    sc = load_scenario(folder)
    assert outcome(sc) == clean
    assert sc.schools["name"].iloc[0] == "衡阳市职业中专"
    expected = "gb18030" if encoding.startswith("gb") else encoding
    assert sc.inputs["students.csv"]["encoding"] == expected
    assert any("GB18030" in w.message for w in sc.warnings) == (expected == "gb18030")
    code, _, _ = run_cli(folder, tmp_path)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert code == 0 and summary["inputs"]["students.csv"]["encoding"] == expected


def test_a_file_neither_utf8_nor_gb18030_is_refused_at_its_first_bad_byte(tmp_path):
    folder = office_folder(base(), tmp_path / "sc")
    body = (folder / "schools.csv").read_bytes().replace("衡南县职业中专".encode(), b"\x80\xff\xfe")
    (folder / "schools.csv").write_bytes(body)
    errors = refused(folder, tmp_path)
    assert (errors[0].file, errors[0].row, errors[0].column, errors[0].value) == ("schools.csv", 3, "name", "0x80")
    assert "CSV UTF-8" in errors[0].message
    # root cause first, and no follow-on "unknown school" errors from the students' choices
    assert not any("unknown school" in e.message for e in errors)


def test_english_headers_in_gbk_run(tmp_path, clean):
    assert outcome(load_scenario(office_folder(base(), tmp_path / "sc", encoding="gbk"))) == clean


# Ordinary noise ---------------------------------------------------------------------------------------

def test_comma_only_and_empty_trailing_rows_are_ignored(tmp_path, clean):
    folder = office_folder(base(), tmp_path / "sc", trailing=3)
    with open(folder / "students.csv", "a", encoding="utf-8") as fh:
        fh.write("\n\n")
    assert outcome(load_scenario(folder)) == clean


def test_rows_keep_their_numbers_past_an_empty_row(tmp_path):
    folder = office_folder(base(), tmp_path / "sc")
    lines = (folder / "students.csv").read_text(encoding="utf-8-sig").splitlines()
    lines.insert(2, ",,,,,,,,,")  # an empty row 3: row 4 onward keep their numbers
    lines[5] = lines[5].replace(",60,", ",abc,")  # 2021004's row, now row 6
    (folder / "students.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = refused(folder, tmp_path)
    assert [(e.row, e.column, e.value) for e in errors] == [(6, "score", "abc")]


def test_a_value_beyond_the_header_is_refused_with_its_row(tmp_path):
    folder = office_folder(base(), tmp_path / "sc")
    lines = (folder / "regions.csv").read_text(encoding="utf-8-sig").splitlines()
    lines[2] += ",999"
    (folder / "regions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = refused(folder, tmp_path)
    assert (errors[0].file, errors[0].row, errors[0].value) == ("regions.csv", 3, "999")


@pytest.mark.parametrize("form", ["csv", "xlsx"])
def test_a_title_row_above_the_header_is_skipped_with_a_warning(tmp_path, clean, form):
    if form == "csv":
        target = office_folder(base(), tmp_path / "sc", title="衡阳市2021年中职招生计划")
    else:
        target = write_workbook(base(), tmp_path / "s.xlsx")
        wb = openpyxl.load_workbook(target)
        wb["students"].insert_rows(1)
        wb["students"]["A1"] = "衡阳市2021年中职考生名单"
        wb.save(target)
    sc = load_scenario(target)
    assert outcome(sc) == clean
    assert any(w.row == 1 and "title" in w.message for w in sc.warnings)


def test_an_ambiguous_name_lists_its_candidates(tmp_path):
    data = base()
    data["schools"][1]["name"] = "衡阳市职业中专"  # two schools of one name
    data["students"][0]["choice_1"] = "衡阳市职业中专"
    errors = refused(office_folder(data, tmp_path / "sc"), tmp_path)
    assert errors[0].column == "choice_1" and "ambiguous school name" in errors[0].message
    assert "A, B" in errors[0].message


def test_more_students_than_graduates_is_a_warning(tmp_path):
    data = base()
    data["regions"][1]["graduates"] = 1
    sc = load_scenario(office_folder(data, tmp_path / "sc"))
    assert any(w.file == "regions.csv" and "more than its 1 graduates" in w.message for w in sc.warnings)


# Ids Excel mangled -------------------------------------------------------------------------------------

def test_ids_with_point_zero_in_every_file_are_refused(tmp_path):
    data = base()
    for table in ("students", "declines", "interviews"):
        for r in data[table]:
            r["student_id"] = r["student_id"] + ".0"
    errors = refused(office_folder(data, tmp_path / "sc"), tmp_path)
    assert errors[0].file == "students.csv" and errors[0].value == "2021001.0"
    assert "'.0'" in errors[0].message and "text" in errors[0].message
    assert not (tmp_path / "out" / "admissions.csv").exists()


def test_one_id_in_scientific_notation_among_good_ones_is_refused(tmp_path):
    data = base()
    data["students"][2]["student_id"] = "2.021E+09"
    errors = refused(office_folder(data, tmp_path / "sc"), tmp_path)
    assert (errors[0].row, errors[0].value) == (4, "2.021E+09") and "scientific" in errors[0].message


def test_long_ids_that_lost_digits_are_refused(tmp_path):
    data = base()
    for i, r in enumerate(data["students"]):
        r["student_id"] = f"43042120050101{i}000"  # 18 digits, zeros after the 15th
    for table in ("declines", "interviews"):
        del data[table]
    errors = refused(office_folder(data, tmp_path / "sc"), tmp_path)
    assert "15 digits" in errors[0].message
    book = write_workbook(base(), tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(book)
    wb["students"]["A2"] = 430421200501011234  # a number: Excel keeps 15 digits
    wb.save(book)
    assert "16 or more digits" in refused(book, tmp_path / "b")[0].message


def test_numeric_id_cells_are_read_as_whole_numbers_and_leading_zeros_kept(tmp_path):
    data = base()
    for r in data["schools"]:
        r["school_id"] = {"A": "0101", "B": "0102", "C": "0103", "X": "0199"}[r["school_id"]]
    mapping = {"A": "0101", "B": "0102", "C": "0103", "X": "0199", "": ""}
    for r in data["students"]:
        for k in ("choice_1", "choice_2", "batch2_choice_1", "batch2_choice_2"):
            r[k] = mapping[r[k]]
    data["subquotas"][0]["school_id"] = "0101"
    data["interviews"][0]["school_id"] = "0103"
    book = write_workbook(data, tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(book)
    for row in wb["students"].iter_rows(min_row=2, max_col=1):
        row[0].value = int(row[0].value)  # student ids stored as numbers
    wb.save(book)
    sc = load_scenario(book)
    assert sc.students["student_id"].tolist()[0] == "2021001"
    assert "0101" in {r[2] for r in outcome(sc)}
    wb["students"]["H2"] = 101  # a school code typed as a number: its leading zero is gone
    wb.save(book)
    errors = refused(book, tmp_path / "b")
    assert "did you mean '0101'" in errors[0].message


# Workbooks ---------------------------------------------------------------------------------------------

def test_merged_header_cells_are_refused_naming_the_cells(tmp_path):
    book = write_workbook(base(), tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(book)
    ws = wb["students"]
    headers = [c.value for c in ws[1]]
    first = headers.index("choice_1") + 1
    ws.cell(1, first).value = "志愿"
    ws.merge_cells(start_row=1, start_column=first, end_row=1, end_column=first + 1)
    wb.save(book)
    errors = refused(book, tmp_path)
    assert errors[0].file == "s.xlsx:students" and "merged cells" in errors[0].message
    col = openpyxl.utils.get_column_letter
    assert errors[0].column == f"{col(first)}1:{col(first + 1)}1"


def test_a_formula_without_a_cached_value_is_refused_naming_the_cell(tmp_path):
    book = write_workbook(base(), tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(book)
    wb["schools"]["E2"] = "=1+1"  # openpyxl saves formulas without a value
    wb.save(book)
    errors = refused(book, tmp_path)
    assert (errors[0].file, errors[0].column) == ("s.xlsx:schools", "E2") and "formula" in errors[0].message


def test_chinese_sheet_names_are_understood(tmp_path, clean):
    book = write_workbook(base(), tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(book)
    for en, zh in (("scenario", "设置"), ("batches", "批次"), ("regions", "地区"), ("schools", "学校"),
                   ("subquotas", "分配计划"), ("students", "考生"), ("declines", "放弃"), ("interviews", "面试")):
        wb[en].title = zh
    wb.create_sheet("说明").append(["本工作簿的说明"])
    wb.save(book)
    assert outcome(load_scenario(book)) == clean


# A published result ---------------------------------------------------------------------------------------

def test_a_published_result_with_an_unknown_column_or_mangled_ids_is_refused(tmp_path):
    path = tmp_path / "adm.csv"
    path.write_text("考生号,录取结果,录取学校,录取批次,志愿序号,奖学金\n2021001,中职,A,1,1,是\n", encoding="gbk")
    with pytest.raises(ScenarioError) as info:
        read_published(path)
    assert "unknown column '奖学金'" in info.value.errors[0].message
    path.write_text("考生号,录取结果,录取学校,录取批次,志愿序号,姓名\n2021001.0,中职,A,1,1,张三\n", encoding="gbk")
    with pytest.raises(ScenarioError) as info:
        read_published(path)
    assert "'.0'" in info.value.errors[0].message


# Property: neither the encoding nor the container changes the outcome ------------------------------------

def _with_names(data: dict, use_names: list[bool]) -> dict:
    """The same scenario with some choice cells naming the school (学校X1) instead of its id."""
    names = {s["school_id"]: s["name"] for s in data["schools"]}
    for r, by_name in zip(data["students"], use_names):
        for k, v in r.items():
            if by_name and v in names and (k.startswith("choice_") or "_choice_" in k):
                r[k] = names[v]
    return data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=scenarios(), use_names=st.lists(st.booleans(), min_size=12, max_size=12))
def test_encoding_and_container_never_change_the_outcome(tmp_path_factory, data, use_names):
    data = _with_names(data, use_names)
    expected = outcome(load_scenario_from(data))
    tmp = tmp_path_factory.mktemp("forms")
    forms = {f"csv-{e}": office_folder(data, tmp / e, encoding=e) for e in ("utf-8", "utf-8-sig", "gb18030")}
    forms["xlsx"] = write_workbook(data, tmp / "s.xlsx")
    forms["json"] = tmp / "s.json"
    forms["json"].write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    for form, target in forms.items():
        assert outcome(load_scenario(target)) == expected, form


# The same through an upload to the service ------------------------------------------------------------------

def _zip(folder) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, path.name)
    return buf.getvalue()


def test_uploads_read_office_files_and_refuse_misread_ones(tmp_path):
    from fastapi.testclient import TestClient

    from api.service import Settings, create_app

    good = office_folder(base(), tmp_path / "gbk", encoding="gb18030",
                         rename={"students": {"choice_1": "第一志愿学校代码", "student_id": "考生号"}})
    bad = office_folder(base(), tmp_path / "bad", rename={"schools": {"registered": "备案状态"}})
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        r = client.post("/scenarios", files={"file": ("gbk.zip", _zip(good), "application/zip")})
        assert r.status_code == 201, r.text
        r = client.post("/scenarios", files={"file": ("bad.zip", _zip(bad), "application/zip")})
        assert r.status_code == 422, r.text
        first = r.json()["problems"][0]
        assert (first["file"], first["row"], first["column"]) == ("schools.csv", 1, "备案状态")
        assert "`registered` (备案)" in first["message"]
