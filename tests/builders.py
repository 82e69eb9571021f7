"""Build small scenarios from a few Python rows, so that each rule test reads like the rule it tests.

    sc = make_scenario(
        schools=[school("A", 1)],
        students=[student("s1", 90, ["A"]), student("s2", 80, ["A"])],
    )
    assert placements(run_sequential(sc))["s1"] == ("vocational", "A", 1, 1)

`scenario_dict` gives the JSON form (``{"scenario": {...}, "regions": [...], ...}``, models.readers
.read_json); `write_csv_folder` and `write_workbook` write the same rows, cell for cell, as a folder of
CSV files or one .xlsx workbook, so that bad input can be tested in all three forms (docs/formats.md).
"""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import pandas as pd
import yaml

from models import Scenario, load_scenario, load_scenario_data

# The Hengyang calendar of docs/formats.md (R5, R11): batch 2 falls back to the original list, batch 3 not.
CALENDAR = [
    {"id": 1, "name": "第一批次", "choices": "choices", "open": "2021-07-10", "admit_by": "2021-07-20",
     "confirm_by": "2021-07-22"},
    {"id": 2, "name": "第二批次", "choices": "batch2", "fallback": True, "admit_by": "2021-07-24",
     "confirm_by": "2021-07-26"},
    {"id": 3, "name": "调剂补录", "choices": "batch3", "admit_by": "2021-08-10", "confirm_by": "2021-08-15"},
]

LISTS = ("choices", "batch2", "batch3")  # keyword of `student` -> choice list name


def column(list_name: str, k: int) -> str:
    """FORMATS students.csv: choice_k for the original list, batch2_choice_k for list batch2."""
    return f"choice_{k}" if list_name == "choices" else f"{list_name}_choice_{k}"


def student(student_id, score, choices=(), *, region="R1", evaluation="B", batch2=(), batch3=(), **extra) -> dict:
    """One student row; ``choices``/``batch2``/``batch3`` are lists of school ids in order ("" = empty)."""
    row = {"student_id": str(student_id), "region_id": region, "score": score, "evaluation": evaluation}
    row.update(extra)
    row["_lists"] = {"choices": list(choices), "batch2": list(batch2), "batch3": list(batch3)}
    return row


def school(school_id, quota, *, region="R1", **extra) -> dict:
    return {"school_id": school_id, "name": f"学校{school_id}", "kind": "vocational", "region_id": region,
            "quota": quota, **extra}


def region(region_id, *, graduates=100, seats=None, cutoff=None, **extra) -> dict:
    row = {"region_id": region_id, "name": f"地区{region_id}", "kind": "county", "graduates": graduates}
    if seats is not None:
        row["general_seats"] = seats
    if cutoff is not None:
        row["general_cutoff"] = cutoff
    row.update(extra)
    return row


def _batches(batches) -> list[dict]:
    if isinstance(batches, int):
        return [dict(b) for b in CALENDAR[:batches]]
    return [dict(b) for b in batches]


def _student_records(students, max_choices: int, read: tuple[str, ...] = ("choices",)) -> list[dict]:
    """Student rows with every choice column: a list a batch reads (``read``) has at least max_choices
    columns even when nobody fills it (a batch whose list has no column is an error, R5)."""
    used = {name: 0 for name in LISTS}
    for s in students:
        for name, items in s.get("_lists", {}).items():
            used[name] = max(used[name], len(items))
    records = []
    for s in students:
        row = {k: v for k, v in s.items() if k != "_lists"}
        lists = s.get("_lists", {})
        for name in LISTS:
            width = max(used[name], max_choices if name in read else 0)
            items = list(lists.get(name, ()))
            for k in range(1, width + 1):
                row[column(name, k)] = items[k - 1] if k <= len(items) else ""
        records.append(row)
    return records


def scenario_dict(students=(), schools=(), regions=None, *, batches=1, max_choices=2, general_stage="none",
                  tie_break=None, subquotas=(), declines=(), interviews=(), name="test", **settings) -> dict:
    """The JSON form of a scenario.  Regions default to every region the rows name (graduates 100)."""
    if regions is None:
        ids = ["R1"] + [r["region_id"] for r in [*students, *schools] if r.get("region_id")]
        regions = [region(rid) for rid in dict.fromkeys(ids)]
    sc = {"name": name, "year": 2021, "max_choices": max_choices, "general_stage": general_stage,
          "batches": _batches(batches), **settings}
    if tie_break is not None:
        sc["tie_break"] = list(tie_break)
    data = {"scenario": sc, "regions": [dict(r) for r in regions], "schools": [dict(s) for s in schools],
            "students": _student_records(students, max_choices, tuple(b.get("choices", "") for b in sc["batches"]))}
    if subquotas:
        data["subquotas"] = [dict(zip(("school_id", "region_id", "quota"), q)) if not isinstance(q, dict) else q
                             for q in subquotas]
    if declines:
        data["declines"] = [dict(zip(("student_id", "batch"), d)) if not isinstance(d, dict) else d for d in declines]
    if interviews:
        data["interviews"] = [dict(zip(("student_id", "school_id"), i)) if not isinstance(i, dict) else i
                              for i in interviews]
    return data


def make_scenario(**kw) -> Scenario:
    """A valid `Scenario` (through the JSON loader, so every row is validated like a planner's file)."""
    return load_scenario_data(scenario_dict(**kw))


# Results -----------------------------------------------------------------------------------------------

def plain(v):
    """A result cell as a plain Python value: None for empty/NA, int for whole numbers."""
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, str):
        return v or None
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    return int(v) if isinstance(v, float) and v.is_integer() else v


def placements(result) -> dict[str, tuple]:
    """student_id -> (outcome, school_id, batch, choice_rank); None where admissions.csv is empty."""
    out = {}
    for r in result.admissions.to_dict("records"):
        out[str(r["student_id"])] = (r["outcome"], plain(r["school_id"]), plain(r["batch"]),
                                     plain(r["choice_rank"]))
    return out


def offer_rows(result) -> list[tuple]:
    """Every offer as (student_id, school_id, batch, choice_rank, confirmed), sorted."""
    rows = [(str(r["student_id"]), r["school_id"], int(r["batch"]), int(r["choice_rank"]), bool(r["confirmed"]))
            for r in result.offers.to_dict("records")]
    return sorted(rows, key=lambda t: (t[2], t[0]))


# The same rows as files ----------------------------------------------------------------------------------

TABLES = ("regions", "schools", "subquotas", "students", "declines", "interviews")


def _header(records: list[dict]) -> list[str]:
    header: list[str] = []
    for r in records:
        header.extend(k for k in r if k not in header)
    return header


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def write_csv_folder(data: dict, folder: Path) -> Path:
    """The JSON form written as scenario.yaml + one CSV per table (UTF-8 with a BOM, as Excel writes)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.yaml").write_text(yaml.safe_dump(data["scenario"], allow_unicode=True, sort_keys=False),
                                          encoding="utf-8")
    for table in TABLES:
        if table not in data:
            continue
        records = data[table]
        header = _header(records)
        with open(folder / f"{table}.csv", "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for r in records:
                w.writerow([_text(r.get(k)) for k in header])
    return folder


def write_workbook(data: dict, path: Path) -> Path:
    """The JSON form as one workbook: a key/value 'scenario' sheet, a 'batches' sheet, one sheet per table."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "scenario"
    ws.append(["key", "value"])
    for key, value in data["scenario"].items():
        if key == "batches":
            continue
        ws.append([key, ", ".join(value) if isinstance(value, list) else value])
    ws = wb.create_sheet("batches")
    batches = data["scenario"]["batches"]
    header = _header(batches)
    ws.append(header)
    for b in batches:
        ws.append([_text(b.get(k)) if isinstance(b.get(k), bool) else b.get(k) for k in header])
    for table in TABLES:
        if table not in data:
            continue
        ws = wb.create_sheet(table)
        header = _header(data[table])
        ws.append(header)
        for r in data[table]:
            ws.append([r.get(k) if r.get(k) != "" else None for k in header])
    wb.save(path)
    return path


def load_as(data: dict, form: str, tmp_path: Path) -> Scenario:
    """Load the JSON-form ``data`` after writing it in ``form``: "csv", "xlsx" or "json"."""
    if form == "csv":
        return load_scenario(write_csv_folder(data, tmp_path / "scenario"))
    if form == "xlsx":
        return load_scenario(write_workbook(data, tmp_path / "scenario.xlsx"))
    if form == "json":
        path = tmp_path / "scenario.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return load_scenario(path)
    raise ValueError(form)


def file_of(form: str, table: str) -> str:
    """The file name a problem in ``table`` is reported under, in each form."""
    return {"csv": f"{table}.csv", "xlsx": f"scenario.xlsx:{table}", "json": f"scenario.json:{table}"}[form]


def row_of(form: str, index: int) -> int:
    """Row of the ``index``-th record (0-based) as reported.  A spreadsheet counts the header as row 1,
    so the first data row is 2; JSON has no header and counts records from 1 (models.readers.read_json)."""
    return index + (1 if form == "json" else 2)


def hand_checked_scenario() -> dict:
    """A case worked by hand (R4 seats, R6 Boston order, R8 sub-quota, R9 decline, R5 fallback), shared by
    the reference engine's own test and the CLI tests."""
    return scenario_dict(
        students=[student("a", 90, ["P", "Q"], applies_general=True),
                  student("b", 80, ["P", "Q"], applies_general=True),
                  student("c", 70, ["Q"]),
                  student("d", 95, ["P"], region="R2"),
                  student("e", 60, ["P"], region="R2")],
        schools=[school("P", 2), school("Q", 2)],
        regions=[region("R1", seats=1), region("R2", seats=0)],
        subquotas=[("P", "R2", 1)], declines=[("b", 1)], batches=2, general_stage="seats")


# Edits of a result (audit and checker tests) --------------------------------------------------------

def dates(sc, batch: int) -> tuple[str, str]:
    """The dates an offer of this batch carries in a simulation (R11): admit_by and confirm_by."""
    b = sc.settings.batch(batch)
    return b.admit_by.isoformat(), b.confirm_by.isoformat()


def set_outcome(sc, adm, sid, outcome, school="", batch=None, rank=None) -> pd.DataFrame:
    """admissions.csv with the row of ``sid`` replaced (vocational rows carry their batch's dates)."""
    adm = adm.copy()
    row = (adm["student_id"] == sid).to_numpy()
    assert row.sum() == 1, sid
    admit, confirm = dates(sc, batch) if batch is not None else ("", "")
    adm.loc[row, ["outcome", "school_id", "admit_date", "confirm_date"]] = [outcome, school, admit, confirm]
    adm.loc[row, "batch"] = pd.NA if batch is None else batch
    adm.loc[row, "choice_rank"] = pd.NA if rank is None else rank
    return adm


def add_offer(sc, off, sid, school, batch, rank, confirmed=True) -> pd.DataFrame:
    """offers.csv with one more offer, dated by the calendar."""
    admit, confirm = dates(sc, batch)
    regions = dict(zip(sc.students["student_id"], sc.students["region_id"]))
    row = pd.DataFrame({"student_id": [sid], "school_id": [school], "batch": [batch], "choice_rank": [rank],
                        "admit_date": [admit], "confirmed": [confirmed], "region_id": [regions.get(sid, "")],
                        "confirm_date": [confirm if confirmed else ""]}).astype(off.dtypes.to_dict())
    return pd.concat([off, row], ignore_index=True)


def drop_offer(off, sid, batch=None) -> pd.DataFrame:
    """offers.csv without the offers of ``sid`` (in ``batch``, or in every batch)."""
    keep = off["student_id"] != sid
    if batch is not None:
        keep |= off["batch"] != batch
    return off[keep].reset_index(drop=True)


# Scenarios and edits shared by several test modules ---------------------------------------------------

SCENARIO_YAML = """\
name: cli-tiny
year: 2021
max_choices: 2
general_stage: seats
batches:
  - {id: 1, open: 2021-07-10, admit_by: 2021-07-20, confirm_by: 2021-07-22}
  - {id: 2, choices: batch2, fallback: true, admit_by: 2021-07-24, confirm_by: 2021-07-26}
"""


def write_tiny(folder: Path, students: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.yaml").write_text(SCENARIO_YAML, encoding="utf-8")
    (folder / "regions.csv").write_text(
        "region_id,name,kind,graduates,general_seats\nR1,甲区,urban,4,1\nR2,乙县,county,3,0\n", encoding="utf-8")
    (folder / "schools.csv").write_text(
        "school_id,name,kind,region_id,quota\nS1,一中职,vocational,R1,1\nS2,二技工,technical,R2,1\n", encoding="utf-8")
    (folder / "students.csv").write_text(students or textwrap.dedent("""\
        student_id,region_id,score,evaluation,choice_1,choice_2,batch2_choice_1,batch2_choice_2
        1,R1,500,A,S1,S2,,
        2,R1,480,B,S1,S2,,
        3,R2,470,A,S1,S2,,
        4,R2,300,C,,,,
        5,R1,200,D,S2,,,
        """), encoding="utf-8")
    return folder


def envy_scenario(**kw):
    """G1 and G2 go to general high school (R4) though they listed S03; C takes S01; A (512) takes S03 at
    his 1st choice; B (498) is rejected at S01 and finds S03 full.  (Without G1 and G2 nobody would be
    ahead of A at S03, and "A was free and S03 had a free seat at his turn" would be the smaller proof.)"""
    no = {"applies_general": False}
    return dict(students=[student("A", 512, ["S03"], **no), student("B", 498, ["S01", "S03"], **no),
                          student("C", 520, ["S01"], **no), student("G1", 600, ["S03"]), student("G2", 590, ["S03"])],
                schools=[school("S01", 1), school("S03", 1)], regions=[region("R1", seats=2)],
                general_stage="seats", **kw)


def moved(sc, adm: pd.DataFrame, sid: str, school_id: str | None, rank: int | None = 1) -> pd.DataFrame:
    """admissions with ``sid`` put at ``school_id`` in batch 1 (None: unplaced)."""
    if school_id is None:
        return set_outcome(sc, adm, sid, "unplaced")
    return set_outcome(sc, adm, sid, "vocational", school_id, 1, rank)


def contested():
    """Two schools, A popular: moving seats from B to A places more students at their first choice, and
    B has too few applicants to fill its quota."""
    students = [student(f"s{i}", 90 - i, ["A", "B"]) for i in range(5)] + [student("t", 40, ["B"])]
    return scenario_dict(students=students, schools=[school("A", 2), school("B", 4)])


# R6 variants: the tiny cases where the mechanism decides (tests/{engine,cpsat}/test_r06_variants.py) ------------

UNPLACED = ("unplaced", None, None, None)


def one_batch(mechanism: str, e: int | None = None) -> list[dict]:
    batch = dict(CALENDAR[0], mechanism=mechanism)
    if e is not None:
        batch["e"] = e
    return [batch]


def envy_case(mechanism: str, e: int | None = None):
    """A(1), B(1).  s (95) lists B; p (90) lists B then A; q (80) lists A.  Boston: B takes s and A takes
    its first-choice q in round 1, so p finds A full in round 2.  Parallel: p, rejected at B, displaces q
    at A (p is ahead of q in the chain)."""
    return make_scenario(schools=[school("A", 1), school("B", 1)],
                         students=[student("s", 95, ["B"]), student("p", 90, ["B", "A"]), student("q", 80, ["A"])],
                         batches=one_batch(mechanism, e))


BOSTON = {"s": ("vocational", "B", 1, 1), "p": UNPLACED, "q": ("vocational", "A", 1, 1)}
PARALLEL = {"s": ("vocational", "B", 1, 1), "p": ("vocational", "A", 1, 2), "q": UNPLACED}


def three_choices(e: int):
    """max_choices 3, A(1), B(1), C(1).  w (95) lists B; x (90) lists B, C, A; y (80) lists C, A; z (70)
    lists A, B.
    e = 1 (boston): round 1 B w, C y, A z; round 2 x finds C full (y); round 3 x finds A full (z): x unplaced.
    e = 2: one block of choices 1-2 where the chain alone decides: x, rejected at B, applies to C and
    displaces y (behind him); y applies to A (his 2nd) and displaces z (behind him); z applies to B (his
    2nd), held by w: rejected.  The block ends: w B, x C, y A; z has no 3rd choice.
    e = 3 (= parallel here): the same; x's 3rd choice is never needed."""
    return make_scenario(schools=[school("A", 1), school("B", 1), school("C", 1)],
                         students=[student("w", 95, ["B"]), student("x", 90, ["B", "C", "A"]),
                                   student("y", 80, ["C", "A"]), student("z", 70, ["A", "B"])],
                         max_choices=3, batches=one_batch("chen-kesten", e))
