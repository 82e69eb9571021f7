"""A run's result (docs/formats.md, "A run's results") and the files it is written to.

`admissions.csv` has one row per student, `offers.csv` one row per offer made.  Figures
(`schools.csv`, `regions.csv`, `progress.xlsx`) are computed in `solver.engine.figures` and written here.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from models.columns import codes_of, derived, holds_any, take, text
from models.headers import CARRIED_LABELS
from models.problems import Problem
from models.scenario import OUTCOMES, Batch, Scenario

ADMISSION_COLUMNS = ["student_id", "region_id", "outcome", "school_id", "batch", "choice_rank", "admit_date",
                     "confirm_date"]
OFFER_COLUMNS = ["student_id", "school_id", "batch", "choice_rank", "admit_date", "confirmed"]


@dataclass
class Result:
    admissions: pd.DataFrame  # ADMISSION_COLUMNS; batch and choice_rank nullable integers
    offers: pd.DataFrame  # OFFER_COLUMNS (+ region_id, confirm_date)
    engine: str
    timings: dict[str, float] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)  # engine-specific facts for summary.json
    offer_rows: NDArray[np.integer] | None = None  # scenario row of each offer's student, where the engine knows it


# One batch's offers: (batch, student rows, school positions, choice ranks, confirmed), aligned arrays.
OfferPart = tuple[Batch, NDArray[np.integer], NDArray[np.integer], NDArray[np.integer], NDArray[np.bool_]]


def build_admissions(sc: Scenario, student_ids: Collection[object], school_ids: Collection[object],
                     outcome: NDArray[np.object_] | NDArray[np.integer], school: NDArray[np.integer],
                     batch: NDArray[np.integer], rank: NDArray[np.integer]) -> pd.DataFrame:
    """admissions.csv from per-student arrays (school = -1 unless vocational); dates from R11.  ``outcome``
    is each student's word of `OUTCOMES` (R12), or its position there."""
    voc = school >= 0
    batches = sc.settings.batches
    # Each column is a small table of values taken by position: no Python object per student.
    batch_pos = np.full(len(school), len(batches))
    for i, b in enumerate(batches):
        batch_pos[voc & (batch == b.id)] = i
    admit = take([b.admit_by.isoformat() for b in batches] + [""], batch_pos)
    confirm = take([b.confirm_by.isoformat() for b in batches] + [""], batch_pos)
    school_col = take(list(school_ids) + [""], np.where(voc, school, len(school_ids)))
    outcome = np.asarray(outcome)
    codes = None
    if np.issubdtype(outcome.dtype, np.integer):
        codes = outcome.astype(np.int64)
        outcome_col = take(list(OUTCOMES), codes)
    else:
        outcome_codes, outcome_names = pd.factorize(outcome)
        outcome_col = take(list(outcome_names), outcome_codes)
    frame = pd.DataFrame({
        "student_id": text(student_ids).reset_index(drop=True),
        "region_id": sc.students["region_id"].reset_index(drop=True),
        "outcome": outcome_col,
        "school_id": school_col,
        "batch": pd.arrays.IntegerArray(np.asarray(batch, dtype=np.int64), ~voc),
        "choice_rank": pd.arrays.IntegerArray(np.asarray(rank, dtype=np.int64), ~voc),
        "admit_date": admit,
        "confirm_date": confirm,
    })
    kept = derived(frame)  # what the figures would look up again, while these columns are unchanged
    if codes is not None:
        kept.put("outcome", (frame["outcome"],), codes)
    if _the_schools(sc, school_ids):
        kept.put("codes", (frame["school_id"], sc.schools["school_id"]), np.where(voc, school, -1))
    return frame


def build_offers(sc: Scenario, student_ids: Collection[object], school_ids: Collection[object],
                 parts: Iterable[OfferPart]) -> pd.DataFrame:
    """offers.csv from per-batch arrays: (batch, students, schools, ranks, confirmed), all batches' rows
    taken at once (each column one look-up by position)."""
    parts = list(parts)
    if not parts:
        return pd.DataFrame({"student_id": text([]), "school_id": text([]), "batch": pd.Series(dtype=np.int64),
                             "choice_rank": pd.Series(dtype=np.int64), "admit_date": text([]),
                             "confirmed": pd.Series(dtype=bool), "region_id": text([]), "confirm_date": text([])})
    students = np.concatenate([np.asarray(p[1], dtype=np.int64) for p in parts])
    schools = np.concatenate([np.asarray(p[2], dtype=np.int64) for p in parts])
    confirmed = np.concatenate([np.asarray(p[4], dtype=bool) for p in parts])
    which = np.repeat(np.arange(len(parts)), [len(p[1]) for p in parts])  # each row's batch, by position
    batches = [p[0] for p in parts]
    frame = pd.DataFrame({
        "student_id": take(student_ids, students),
        "school_id": take(list(np.asarray(school_ids, dtype=object)), schools),
        "batch": np.asarray([b.id for b in batches], dtype=np.int64)[which],
        "choice_rank": np.concatenate([np.asarray(p[3], dtype=np.int64) for p in parts]),
        "admit_date": take([b.admit_by.isoformat() for b in batches], which),
        "confirmed": confirmed,
        "region_id": take(sc.students["region_id"], students),
        "confirm_date": take([b.confirm_by.isoformat() for b in batches] + [""],
                             np.where(confirmed, which, len(batches))),
    })
    if _the_schools(sc, school_ids):  # the figures' look-up of the offers' schools, made here
        derived(frame).put("codes", (frame["school_id"], sc.schools["school_id"]), schools)
    return frame


def _the_schools(sc: Scenario, school_ids: Collection[object]) -> bool:
    """``school_ids`` are the scenario's schools in its order, each once and none empty: a school's
    position is then the code a look-up of its id would find."""
    ids = [str(i) for i in school_ids]
    return ids == sc.schools["school_id"].tolist() and len(set(ids)) == len(ids) and "" not in ids


# Writing ------------------------------------------------------------------------------------------

def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Fast CSV (pyarrow) with a UTF-8 BOM for Excel; booleans as true/false, missing as empty."""
    # one chunk per column: pyarrow's CSV writer emits NUL bytes for a string column whose first chunk
    # is empty (as pd.concat([empty, rows]) leaves it)
    table = pa.Table.from_pandas(_for_csv(frame), preserve_index=False).combine_chunks()
    special = any(holds_any(col, ',"\r\n')  # a byte scan: no value is copied
                  for col in table.columns if pa.types.is_string(col.type) or pa.types.is_large_string(col.type))
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([str(c) for c in frame.columns])
    with open(path, "wb") as fh:
        fh.write(b"\xef\xbb\xbf" + header.getvalue().encode("utf-8"))
        pacsv.write_csv(table, fh, write_options=pacsv.WriteOptions(
            include_header=False, quoting_style="needed" if special else "none"))


def _for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """Arrow writes booleans as true/false and missing values (NaN, <NA>) as empty cells; only
    columns of Python objects need turning into text first."""
    out: dict[str, pd.Series] = {}
    for col in frame.columns:
        s = frame[col]
        out[col] = s.where(s.notna(), "").astype(str) if s.dtype == object else s
    return pd.DataFrame(out, columns=list(frame.columns))


def read_result_csv(path: Path) -> pd.DataFrame:
    """Read back a result CSV (every column as text)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@contextmanager
def summary_last(out_dir: Path | str, timings: dict[str, float] | None = None) -> Iterator[Path]:
    """The folder of an analysis's files, for its writer's block: created, its old summary.json removed
    first (a folder with a summary.json is complete, docs/formats.md) and the block's seconds put in
    ``timings["write"]``; the writer writes summary.json after the block, last."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").unlink(missing_ok=True)
    t = time.perf_counter()
    yield out
    if timings is not None:
        timings["write"] = round(time.perf_counter() - t, 4)


def write_json(data: dict[str, object], path: Path) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n", encoding="utf-8")


def _json_default(value: object) -> object:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    isoformat = getattr(value, "isoformat", None)  # dates, times, timestamps
    if callable(isoformat):
        return isoformat()
    raise TypeError(f"not JSON: {type(value)}")


PROGRESS_HEADERS = ["单位", "初中应届毕业生总数", "高中阶段教育招生总数", "普通高中招生数", "中等职业教育招生数",
                    "普职比例", "高中阶段教育毛入学率"]
PROGRESS_TABLE = "高中阶段教育学校招生进展情况汇总表"  # JZ 附件2


def display_name(sc: Scenario) -> str:
    """The scenario as a planner names it: its ``title`` (scenario.yaml, e.g. 焦作市2022年) or its name."""
    return str(sc.settings.extra.get("title") or sc.name).strip()


def progress_title(sc: Scenario) -> str:
    """The title of progress.xlsx: the scenario's display name and the JZ 附件2 table's name, with the year
    where the name has none (``焦作市2022年中等职业学校招生　高中阶段教育学校招生进展情况汇总表``); a
    ``title`` that is itself a table's name (…表) as it is."""
    name, year = display_name(sc), sc.settings.year
    if name.endswith("表"):
        return name
    return f"{name}\u3000{f'{year}年' if year and str(year) not in name else ''}{PROGRESS_TABLE}"


def write_progress_workbook(table: pd.DataFrame, path: Path, title: str) -> None:
    """The JZ A2 progress table (附件2 高中阶段教育学校招生进展情况汇总表) as a formatted workbook, set up to
    print (issue #10.7): landscape, fit to the page width, the header row on every page, counts with
    thousands separators."""
    import openpyxl
    from openpyxl.styles import Alignment, Border, Font, Side

    from models.workbooks import COUNT, PERCENT, print_setup

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "招生进展"
    ws.append([title])
    ws.append(["单位: 人"])
    ws.append(PROGRESS_HEADERS)
    for row in table[PROGRESS_HEADERS].itertuples(index=False):
        ws.append([_plain(v) for v in row])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(PROGRESS_HEADERS))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.row_dimensions[1].height = 36
    thin = Side(style="thin")
    for row in ws.iter_rows(min_row=3, max_row=ws.max_row):
        for cell in row:
            cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
            if cell.row == 3 or cell.row == ws.max_row:
                cell.font = Font(bold=True)
    for cell in ws[3]:
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
    ws.row_dimensions[3].height = 32
    for row in ws.iter_rows(min_row=4, max_row=ws.max_row, min_col=2, max_col=7):
        for cell in row:
            cell.number_format = PERCENT if cell.column == 7 else COUNT
            if cell.column == 6:
                cell.alignment = Alignment(horizontal="right")
    for col, width in zip("ABCDEFG", (22, 14, 14, 12, 14, 12, 14)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "B4"
    print_setup(ws, "3:3", title)
    wb.save(path)


# The 录取名册 (issue #10.7) ----------------------------------------------------------------------------------

def admissions_roster(sc: Scenario, admissions: pd.DataFrame) -> pd.DataFrame:
    """admissions.csv as a planner forwards it: one row per student with Chinese headers, the students'
    name-like columns (`Scenario.carried_columns`, under `models.headers.CARRIED_LABELS` or as given),
    the region's and the school's names, the outcome in words (R12), the batch's name (R5) and the
    dates (R11)."""
    from models.workbooks import OUTCOME_LABELS, labels

    adm = admissions.reset_index(drop=True)
    n = len(adm)
    ids = text(adm["student_id"])
    students = sc.students
    rows = np.arange(n) if n == len(students) and ids.equals(text(students["student_id"]).reset_index(drop=True)) \
        else codes_of(ids, students["student_id"])
    columns: dict[str, pd.Series] = {"考生号": ids}
    carried = sc.carried_columns()
    for col in [c for c in CARRIED_LABELS if c in carried] + [c for c in carried if c not in CARRIED_LABELS]:
        columns.setdefault(CARRIED_LABELS.get(col, col), _at(students[col], rows))
    columns["学籍所在地"] = _names_of(adm["region_id"], sc.regions, "region_id")
    columns["录取结果"] = text(labels(adm["outcome"], OUTCOME_LABELS))
    columns["录取学校"] = _names_of(adm["school_id"], sc.schools, "school_id")
    columns["学校代码"] = text(adm["school_id"])
    batches = sc.settings.batches
    batch = adm["batch"].to_numpy(dtype=np.float64, na_value=np.nan)
    position = np.full(n, len(batches))
    for i, b in enumerate(batches):
        position[batch == b.id] = i
    columns["录取批次"] = take([b.name for b in batches] + [""], position)
    columns["志愿序号"] = adm["choice_rank"].astype("Int64")
    columns["录取日期"] = text(adm["admit_date"])
    columns["确认日期"] = text(adm["confirm_date"])
    return pd.DataFrame(columns)


def _at(values: pd.Series, rows: NDArray[np.integer]) -> pd.Series:
    """values[rows] as text, "" where a row is -1."""
    if (rows >= 0).all():
        return take(text(values), rows)
    return take(list(text(values)) + [""], np.where(rows >= 0, rows, len(values)))


def _names_of(ids: pd.Series, table: pd.DataFrame, key: str) -> pd.Series:
    """The ``name`` of each id in ``table`` ("" for an empty or unknown id)."""
    names = list(text(table["name"]).to_numpy(dtype=object)) + [""]
    codes = codes_of(text(ids), table[key])
    return take(names, np.where(codes >= 0, codes, len(names) - 1))


def write_admissions_workbook(sc: Scenario, admissions: pd.DataFrame, path: Path) -> None:
    """admissions.xlsx: the 录取名册 (`admissions_roster`), ids and names frozen, set up to print."""
    from models.workbooks import Book

    roster = admissions_roster(sc, admissions)
    book = Book(f"{display_name(sc)} 录取名册")
    book.table("录取名册", roster, names={c: c for c in roster.columns}, freeze_columns=2 if "姓名" in roster else 1)
    book.save(path)


def _plain(value: object) -> object:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    return value


def write_failed(target: Path, problems: Sequence[Problem], stale: tuple[str, ...], info: dict[str, object]) -> Path:
    """A failed run or audit: ``errors.csv`` with every problem and a summary with status "failed";
    the ``stale`` files of an earlier success are removed so that nobody reads them as this one's."""
    from models.problems import problems_frame

    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (target / name).unlink(missing_ok=True)
    write_csv(problems_frame(problems), target / "errors.csv")
    errors = sum(p.severity == "error" for p in problems)
    write_json({"status": "failed", **info, "errors": errors, "warnings": len(problems) - errors},
               target / "summary.json")
    return target


def publish_files(staging: Path, target: Path, last: str = "summary.json") -> None:
    """Move the fully written files of ``staging`` into ``target``, each by an atomic rename, with
    ``last`` (the summary that marks a complete result) moved last and removed first.  Other files in
    ``target`` are left alone, so ``--out .`` is safe."""
    target.mkdir(parents=True, exist_ok=True)
    (target / last).unlink(missing_ok=True)
    (target / "errors.csv").unlink(missing_ok=True)
    names = sorted(p.name for p in staging.iterdir())
    for name in [n for n in names if n != last] + [n for n in names if n == last]:
        os.replace(staging / name, target / name)
    staging.rmdir()
