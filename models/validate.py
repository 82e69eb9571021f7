"""Turn raw text tables into a valid `Scenario`, reporting every problem at once (the settings are read
by `models.settings_check`; this module checks the tables against them).

Each check is vectorized over rows and names the clause it enforces: R-ids of docs/rules.md where a rule
stands behind the requirement (quota R7, sub-quota R8, choices R3, dates R11 ...), docs/formats.md
otherwise.  Missing quotas, scores or graduates are errors, never defaulted.  Void choices (a school
that is not registered, R2, or that needs an interview the student has not passed, R3) are warnings.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from models.columns import Coded, codes_of, constant, derived, member, numbers, same_data, text
from models.headers import (
    CARRIED,
    COHORTS,
    EVALUATION_GRADES,
    FALSE_WORDS,
    REGION_KINDS,
    SCHOOL_KINDS,
    TRUE_WORDS,
    choice_column,
    normalize,
    parse_choice_column,
    suggestion,
)
from models.ids import FIX, IdIndex, Lookup, mangled, truncated
from models.problems import ProblemLog, Severity
from models.raw import BLANK, RawTable
from models.readers import REQUIRED_TABLES, RawScenario
from models.scenario import DEFAULT_TIE_BREAK, Scenario, Settings
from models.settings_check import read_settings

F_YAML = "FORMATS scenario.yaml"
Mask = NDArray[np.bool_] | pd.Series  # rows of a table: a bool array or a bool Series aligned with it


def build_scenario(raw: RawScenario, log: ProblemLog) -> Scenario:
    """Validate everything, then raise `ScenarioError` with all problems if any is an error."""
    settings = read_settings(raw, log)
    for name in REQUIRED_TABLES:
        if name not in raw.tables and not raw.unreadable:
            log.error(f"{name}.csv", None, None, None, f"FORMATS {name}.csv", f"the scenario has no {name} table",
                      root=True)
    v = _Validator(raw, settings, log)
    regions = v.regions()
    schools = v.schools()
    subquotas = v.subquotas()
    students = v.students()
    declines = v.declines()
    interviews = v.interviews()
    if settings is not None and students is not None and schools is not None:
        v.void_choice_warnings(settings, students, schools, interviews)
    if regions is not None and students is not None and not log.has_errors:
        v.graduates_warnings(regions, students)
    log.raise_if_errors()
    if settings is None or regions is None or schools is None or students is None:  # each reported an error
        raise RuntimeError("the scenario is incomplete, yet no error was reported")
    scenario = Scenario(settings, regions, schools, subquotas, students, declines, interviews,
                        warnings=log.ordered(), source=raw.source, inputs=raw.inputs)
    v.hand_over(scenario)
    return scenario


# Tables --------------------------------------------------------------------------------------------

class _Validator:
    def __init__(self, raw: RawScenario, settings: Settings | None, log: ProblemLog):
        self.raw = raw
        self.settings = settings
        self.log = log
        self.region_lookup = Lookup(ok=False)
        self.school_lookup = Lookup(ok=False)
        self.student_ids: pd.Series | None = None
        self.student_index: IdIndex | None = None  # the students' ids as numbers, when all distinct
        self.view = _SettingsView.of(raw.settings, settings)
        self._coded_columns: dict[tuple[str, str], Coded] = {}
        self.id_index: dict[str, IdIndex | None] = {}  # file -> its ids as numbers, where they are
        self.school_rows: dict[str, int] = {}  # school id -> its (first) row in the schools table
        self.region_rows: dict[str, int] = {}  # region id -> its (first) row in the regions table
        # (file, column) -> the column's codes, the id of each code and the column of ids made of them
        self.mapped: dict[tuple[str, str], tuple[Coded, list[str], pd.Series]] = {}
        self.distinct_ids: dict[str, bool] = {}  # file -> no id is given twice (empty ones included)
        self._rows_made: dict[tuple[str, str, int], tuple[Coded, NDArray[np.int32]]] = {}  # `rows_of`, made once

    def _coded(self, t: RawTable, column: str) -> Coded:
        """The column as codes into its distinct values, made once per table and column."""
        key, cells = (t.file, column), t.frame[column]
        coded = self._coded_columns.get(key)
        if coded is None or not same_data(coded.cells, cells):
            coded = self._coded_columns[key] = Coded(cells)
        return coded

    # helpers ----------------------------------------------------------------------------------
    def _table(self, name: str) -> RawTable | None:
        """The raw table, once its columns are accounted for; None when absent or unreadable."""
        t = self.raw.tables.get(name)
        if t is None or t.unreadable:
            return None
        self._columns(t, name)
        return t

    def _columns(self, t: RawTable, table: str) -> None:
        """Every column is known, declared in ``extra_columns``, or an error naming the nearest known
        names; a column with values but no header is an error too."""
        declared = self._declared(table)
        chain = {k.partition(":")[0] for k in (self.settings.tie_break if self.settings else ())}
        header_row = t.header_row or None
        for c in t.unknown:
            if normalize(c) not in declared and c not in chain:
                self.log.error(t.file, header_row, c, None, f"FORMATS {_table_file(t)}",
                               f"unknown column {c!r}:{suggestion(table, c) or ' no known column is near it.'} "
                               "Rename it, or declare it in scenario.yaml under extra_columns to keep it as it is",
                               root=True)
        for c in t.frame.columns:
            if c.startswith(BLANK):
                filled = (t.frame[c] != "").to_numpy()
                if filled.any():
                    position = int(c[len(BLANK):]) + 1
                    self._report(t, filled & (np.cumsum(filled) == 1), c, f"FORMATS {_table_file(t)}",
                                 f"column {position} holds values but has no header", root=True)

    def _declared(self, table: str) -> frozenset[str]:
        extra = self.settings.extra_columns if self.settings else {}
        return extra.get("*", frozenset()) | extra.get(table, frozenset())

    def _rows(self, t: RawTable, mask: Mask) -> NDArray[np.int64]:
        return t.row_numbers_at(np.flatnonzero(np.asarray(mask)))

    def _report(self, t: RawTable, mask: Mask, column: str, clause: str, message: str | NDArray[np.object_],
                severity: Severity = "error", root: bool = False) -> None:
        """A problem on each row of ``mask``: one ``message``, or a message per row of the table."""
        rows = np.asarray(mask, dtype=bool)
        if not rows.any():
            return
        at = np.flatnonzero(rows)
        values = t.frame[column].iloc[at].to_numpy() if column in t.frame.columns else [None] * len(at)
        messages = message if isinstance(message, str) else [str(m) for m in np.asarray(message, dtype=object)[at]]
        header = t.headers.get(column, column)
        if root:
            for row, value, text in zip(self._rows(t, rows), values, np.broadcast_to(messages, (int(rows.sum()),))):
                self.log.error(t.file, int(row), header, value, clause, str(text), root=True)
            return
        self.log.rows(severity, t.file, self._rows(t, rows), header, values, clause, messages)

    def _require(self, t: RawTable, column: str, clause: str) -> bool:
        if column in t.frame.columns:
            return True
        self.log.error(t.file, t.header_row or None, column, None, clause, f"required column {column!r} is missing",
                       root=True)
        return False

    def _ids(self, t: RawTable, column: str, what: str) -> pd.Series | None:
        if not self._require(t, column, f"FORMATS {_table_file(t)}"):
            return None
        ids = t.frame[column]
        clause = f"FORMATS {_table_file(t)}"
        self._report(t, ids == "", column, clause, f"missing {what} id")
        bad, messages = mangled(ids)
        self._report(t, bad, column, clause, messages, root=True)
        self._report(t, truncated(ids), column, clause,
                     f"an id of 16 or more digits ending in zeros: Excel keeps 15 digits of a number and fills the "
                     f"rest with zeros; {FIX}", root=True)
        index = self.id_index[t.file] = IdIndex.of(ids)
        if index is not None and index.distinct:  # whole-number ids, none twice: nothing to hash
            self.distinct_ids[t.file] = True
            return ids
        repeated = ids.duplicated(keep="first")
        self.distinct_ids[t.file] = not repeated.any()
        dup = (repeated & (ids != "")).to_numpy()
        if dup.any():
            first_row: dict[str, int] = {}
            numbers = t.row_numbers()
            for pos, v in zip(np.flatnonzero(ids.duplicated(keep=False).to_numpy()), ids[ids.duplicated(keep=False)]):
                first_row.setdefault(v, int(numbers[pos]))
            msgs = np.full(len(ids), "", dtype=object)
            msgs[dup] = [f"duplicate {what} id (first on row {first_row[v]})" for v in ids[dup]]
            self._report(t, dup, column, f"FORMATS {_table_file(t)}", msgs)
        return ids

    def _number(self, t: RawTable, column: str, clause: str, what: str, *, required: bool, integer: bool,
                minimum: float | None = 0) -> pd.Series:
        """Parse a numeric column; empty cells are errors when ``required`` (never defaulted)."""
        cells = t.frame[column] if column in t.frame.columns else constant("", len(t.frame), index=t.frame.index)
        empty = cells == ""
        values = numbers(cells)
        if required:
            self._report(t, empty, column, clause, f"missing {what}")
        self._report(t, ~empty & values.isna(), column, clause, f"{what} is not a number")
        if integer:
            frac = values.notna() & (values != np.floor(values.fillna(0)))
            self._report(t, frac, column, clause, f"{what} must be a whole number")
        if minimum is not None:
            self._report(t, values.notna() & (values < minimum), column, clause, f"{what} must not be negative")
        return values

    def _flag(self, t: RawTable, column: str, default: bool, clause: str) -> pd.Series:
        if column not in t.frame.columns:
            return pd.Series(np.full(len(t.frame), default), index=t.frame.index)
        coded = self._coded(t, column)  # words checked once per distinct cell
        lowered = _lower(coded.values)
        self._report(t, coded.mask(w != "" and w not in TRUE_WORDS | FALSE_WORDS for w in lowered), column, clause,
                     f"{column} must be true or false (是/否)")
        flags = (False if w in FALSE_WORDS else True if w in TRUE_WORDS else default for w in lowered)
        return pd.Series(coded.mask(flags), index=t.frame.index)

    def _word(self, t: RawTable, column: str, words: dict[str, str], default: str, clause: str) -> pd.Series:
        if column not in t.frame.columns:
            return constant(default, len(t.frame), index=t.frame.index)
        coded = self._coded(t, column)
        lowered = _lower(coded.values)
        empty = [v == "" for v in coded.values]
        self._report(t, coded.mask(w not in words and not e for w, e in zip(lowered, empty)), column, clause,
                     f"{column} must be one of {', '.join(sorted(set(words.values())))}")
        return coded.text(default if e else words.get(w, "") for w, e in zip(lowered, empty))

    def _reference(self, t: RawTable, column: str, lookup: Lookup, what: str, clause: str,
                   allow_empty: bool = False) -> pd.Series:
        """Map ids (or unique names) to ids.  A cell Excel mangled, an ambiguous name or an unknown value
        is an error; references to a table that could not be read are not checked (its own error is
        the root cause).  Each distinct cell is looked up once (`mapped` keeps the ids by distinct cell)."""
        coded = self._coded(t, column)
        values = coded.values
        ids = [lookup.ids.get(v, "") for v in values]
        mapped = coded.text(ids)
        self.mapped[(t.file, column)] = (coded, ids, mapped)
        empty = [v == "" for v in values]
        if not allow_empty:
            self._report(t, coded.mask(empty), column, clause, f"missing {what}")
        if not lookup.ok:
            return mapped
        bad, messages = mangled(coded.distinct())
        if bad.any():
            self._report(t, coded.mask(bad), column, clause, coded.objects(messages), root=True)
        unknown = [not (e or v in lookup.ids or b) for v, e, b in zip(values, empty, bad)]
        if any(unknown):
            self._report(t, coded.mask(unknown), column, clause,
                         coded.objects(lookup.unknown_message(v, what) if u else "" for v, u in zip(values, unknown)))
        return mapped

    def rows_of(self, t: RawTable, column: str, rows: dict[str, int]) -> NDArray[np.int32]:
        """The row in the referenced table of each cell's id as `_reference` mapped it (-1: none)."""
        coded, ids, _ = self.mapped[(t.file, column)]
        key = (t.file, column, id(rows))
        found = self._rows_made.get(key)
        if found is None or found[0] is not coded:
            found = self._rows_made[key] = (coded, coded.ints(rows.get(i, -1) for i in ids))
        return found[1]

    def _extras(self, t: RawTable, table: str) -> dict[str, pd.Series]:
        """The columns carried as given: names and notes (`CARRIED`) and the declared extra columns."""
        declared = self._declared(table)
        return {c: t.frame[c] for c in t.frame.columns if c in CARRIED or normalize(c) in declared}

    # regions ------------------------------------------------------------------------------------
    def regions(self) -> pd.DataFrame | None:
        t = self._table("regions")
        if t is None:
            return None
        ids = self._ids(t, "region_id", "region")
        if ids is None:
            return None
        names = t.frame["name"] if "name" in t.frame.columns else ids
        names = names.where(names != "", ids)
        self.region_lookup = Lookup.of(ids, names)
        self.region_rows = _first_rows(ids)
        if self._require(t, "graduates", "FORMATS regions.csv"):
            graduates = self._number(t, "graduates", "FORMATS regions.csv", "graduates (应届初中毕业生数)",
                                     required=True, integer=True)
        else:
            graduates = pd.Series(np.nan, index=t.frame.index)
        seats = self._number(t, "general_seats", "R4", "general_seats", required=False, integer=True)
        cutoff = self._number(t, "general_cutoff", "R4", "general_cutoff", required=False, integer=False, minimum=None)
        stage = self.settings.general_stage if self.settings else "none"
        if stage != "none":
            neither = seats.isna() & cutoff.isna()
            bad_cells = neither & ~(t.frame.get("general_seats", pd.Series("", index=t.frame.index)) != "") \
                & ~(t.frame.get("general_cutoff", pd.Series("", index=t.frame.index)) != "")
            column = "general_seats" if stage == "seats" else "general_cutoff"
            self._report(t, bad_cells, column if column in t.frame.columns else "region_id", "R4",
                         f"general_stage is {stage}: the region needs general_seats or general_cutoff")
        frame = pd.DataFrame({
            "region_id": ids, "name": names,
            "kind": self._word(t, "kind", REGION_KINDS, "county", "FORMATS regions.csv"),
            "graduates": graduates.round().astype("Int64"),  # a fraction is reported above
            "general_seats": seats.round().astype("Int64"),
            "general_cutoff": cutoff.astype("Float64"),
            **self._extras(t, "regions"),
        })
        return frame.reset_index(drop=True)

    # schools ------------------------------------------------------------------------------------
    def schools(self) -> pd.DataFrame | None:
        t = self._table("schools")
        if t is None:
            return None
        ids = self._ids(t, "school_id", "school")
        if ids is None:
            return None
        names = t.frame["name"] if "name" in t.frame.columns else ids
        names = names.where(names != "", ids)
        self.school_lookup = Lookup.of(ids, names)
        self.school_rows = _first_rows(ids)
        region = (self._reference(t, "region_id", self.region_lookup, "region", "FORMATS schools.csv", allow_empty=True)
                  if "region_id" in t.frame.columns else constant("", len(ids), index=ids.index))
        if self._require(t, "quota", "R7"):
            quota = self._number(t, "quota", "R7", "quota (招生计划)", required=True, integer=True)
        else:
            quota = pd.Series(np.nan, index=t.frame.index)
        frame = pd.DataFrame({
            "school_id": ids, "name": names,
            "kind": self._word(t, "kind", SCHOOL_KINDS, "vocational", "FORMATS schools.csv"),
            "region_id": region,
            "quota": quota.fillna(0).round().astype(np.int64),
            "registered": self._flag(t, "registered", True, "R2"),
            "requires_interview": self._flag(t, "requires_interview", False, "R3"),
            **self._extras(t, "schools"),
        })
        return frame.reset_index(drop=True)

    # sub-quotas ---------------------------------------------------------------------------------
    def subquotas(self) -> pd.DataFrame:
        empty = pd.DataFrame({"school_id": text([]), "region_id": text([]), "quota": pd.Series(dtype=np.int64)})
        t = self._table("subquotas")
        if t is None or not len(t.frame):
            return empty
        if not all([self._require(t, c, "R8") for c in ("school_id", "region_id", "quota")]):
            return empty
        school = self._reference(t, "school_id", self.school_lookup, "school", "R8")
        region = self._reference(t, "region_id", self.region_lookup, "region", "R8")
        quota = self._number(t, "quota", "R8", "sub-quota", required=True, integer=True)
        pair = school + "\x00" + region
        dup = pair.duplicated(keep="first") & (school != "") & (region != "")
        self._report(t, dup, "region_id", "R8", "a second sub-quota for the same school and region")
        frame = pd.DataFrame({"school_id": school, "region_id": region,
                              "quota": quota.fillna(0).round().astype(np.int64)})
        schools = self.raw.tables.get("schools")
        if schools is not None and "quota" in schools.frame.columns and len(frame):
            school_quota = dict(zip(schools.frame.get("school_id", []),
                                    pd.to_numeric(schools.frame["quota"], errors="coerce")))
            total = frame[school != ""].groupby("school_id")["quota"].sum()
            for sid, tot in total.items():
                q = school_quota.get(sid)
                if q is not None and q == q and tot > q:
                    rows = t.row_numbers()[np.flatnonzero((school == sid).to_numpy())]
                    self.log.error(t.file, int(rows[0]), "quota", int(tot), "R8",
                                   f"sub-quotas of {sid} add up to {int(tot)}, more than its quota {int(q)} "
                                   f"(rows {', '.join(map(str, rows))})")
        return frame.reset_index(drop=True)

    # students -----------------------------------------------------------------------------------
    def students(self) -> pd.DataFrame | None:
        t = self._table("students")
        if t is None:
            return None
        ids = self._ids(t, "student_id", "student")
        if ids is None:
            return None
        self.student_ids = ids
        index = self.id_index.get(t.file)
        self.student_index = index if index is not None and index.distinct else None
        region = (self._reference(t, "region_id", self.region_lookup, "region (学籍所在地)", "FORMATS students.csv")
                  if self._require(t, "region_id", "FORMATS students.csv") else constant("", len(ids), index=ids.index))
        if self._require(t, "score", "R6"):
            score = self._number(t, "score", "R6", "score (中考成绩)", required=True, integer=False)
        else:
            score = pd.Series(np.nan, index=t.frame.index)
        columns = {"student_id": ids, "region_id": region, "score": score.astype(float)}
        chain = self.settings.tie_break if self.settings else DEFAULT_TIE_BREAK
        chain_keys = [k.partition(":")[0] for k in chain]
        if "evaluation" in t.frame.columns or "evaluation" in chain_keys:
            if "evaluation" in chain_keys and not self._require(t, "evaluation", "R6"):
                pass
            else:
                columns["evaluation"] = self._evaluation(t, required="evaluation" in chain_keys)
        columns["cohort"] = self._word(t, "cohort", COHORTS, "fresh", "R1")
        columns["certificate"] = self._flag(t, "certificate", True, "R1")
        columns["applies_general"] = self._flag(t, "applies_general", True, "R4")
        columns.update(self._tie_break_columns(t, chain_keys))
        columns.update(self._choices(t))
        for c, values in self._extras(t, "students").items():
            columns.setdefault(c, values)
        return pd.DataFrame(columns).reset_index(drop=True)

    def _tie_break_columns(self, t: RawTable, chain_keys: list[str]) -> dict[str, pd.Series]:
        """The other columns of the tie-break chain (R6), as numbers; ``lottery`` kept as given when the
        chain does not read it (with a warning: it decides nothing)."""
        columns: dict[str, pd.Series] = {}
        for key in chain_keys:
            if key in ("score", "evaluation", "student_id"):
                continue
            if self._require(t, key, "R6"):
                columns[key] = self._number(t, key, "R6", f"tie-break {key}", required=True, integer=False,
                                            minimum=None)
        if "lottery" in t.frame.columns and "lottery" not in chain_keys:
            columns["lottery"] = t.frame["lottery"]  # kept as given (round trips), though it decides nothing
            self.log.warning(t.file, t.header_row or None, t.headers.get("lottery"), None, "R6",
                             "the lottery column is not in tie_break, so it decides nothing; add it to tie_break "
                             "(e.g. [score, evaluation, lottery]) if it should")
        return columns

    def _evaluation(self, t: RawTable, required: bool) -> pd.Series:
        if "evaluation" in t.frame.columns:
            coded = self._coded(t, "evaluation")  # grades and numbers checked once per distinct cell
        else:
            coded = Coded(constant("", len(t.frame), index=t.frame.index))
        values = coded.values
        upper = _upper(values)
        graded = [u in EVALUATION_GRADES or v in EVALUATION_GRADES for u, v in zip(upper, values)]
        numeric = numbers(text([v if not g else "" for v, g in zip(values, graded)])).notna().to_numpy()
        empty = [v == "" for v in values]
        if required:
            self._report(t, coded.mask(empty), "evaluation", "R6", "missing evaluation (综合素质评价)")
        self._report(t, coded.mask(not (e or g or n) for e, g, n in zip(empty, graded, numeric)), "evaluation", "R6",
                     "evaluation must be A, B, C, D (优秀/良好/合格/待合格) or a number")
        if any(graded) and numeric.any():
            self._report(t, coded.mask(numeric), "evaluation", "R6",
                         "evaluation mixes grades (A-D) and numbers; use one kind in the whole column")
        return coded.text(u if u in EVALUATION_GRADES else v for u, v in zip(upper, values))

    def _choices(self, t: RawTable) -> dict[str, pd.Series]:
        """Choice lists (R3): known schools, no school twice, no gap, at most max_choices filled."""
        out: dict[str, pd.Series] = {}
        by_list: dict[str, dict[int, str]] = defaultdict(dict)
        for c in t.frame.columns:
            parsed = parse_choice_column(c)
            if parsed:
                by_list[parsed[0]][parsed[1]] = c
        # With broken settings, the columns are still checked (every problem at once), as far as known.
        m = self.view.max_choices or max((max(cols) for cols in by_list.values()), default=0)
        read = self.view.choice_lists if self.view.choice_lists is not None else list(by_list)
        self._missing_choice_lists(t, by_list)
        for list_name, cols in by_list.items():
            if list_name in read:
                out.update(self._choice_list(t, list_name, cols, m))
            else:
                self._unread_choice_list(t, list_name, cols)
                out.update({c: t.frame[c] for c in cols.values()})
        return out

    def _missing_choice_lists(self, t: RawTable, by_list: dict[str, dict[int, str]]) -> None:
        """A list a batch reads must have its columns (R5)."""
        for list_name in self.view.batch_lists or ():
            if list_name not in by_list and len(t.frame):  # with no students no choice can be lost
                self.log.error(t.file, t.header_row or None, choice_column(list_name, 1), None, "R5",
                               f"a batch reads the choice list {list_name!r}, but the students table has no "
                               f"column of it ({choice_column(list_name, 1)}, {choice_column(list_name, 2)} …; "
                               "for batch 2 also 第二批次第一志愿 …): add the columns, or let the batch read another "
                               "list", root=True)

    def _unread_choice_list(self, t: RawTable, list_name: str, cols: dict[int, str]) -> None:
        """A warning for a filled list that no batch reads (its columns are kept as given)."""
        filled = np.zeros(len(t.frame), dtype=bool)
        for c in cols.values():
            filled |= (t.frame[c] != "").to_numpy()
        if filled.any():
            self.log.warning(t.file, t.header_row or None, t.headers.get(next(iter(cols.values()))), None, "R5",
                             f"choice list {list_name!r} is read by no batch, so its {int(filled.sum())} filled "
                             f"row(s) are not used: add a batch with choices: {list_name} if they should be")

    def _choice_list(self, t: RawTable, list_name: str, cols: dict[int, str], m: int) -> dict[str, pd.Series]:
        """One list a batch reads (R3): no missing column before a later one, at most ``m`` filled, known
        schools, none twice, no gap."""
        out: dict[str, pd.Series] = {}
        for k in range(1, max(cols) + 1):
            if k not in cols:
                self.log.error(t.file, t.header_row or None, choice_column(list_name, k), None, "R3",
                               f"column {choice_column(list_name, k)} is missing while a later choice column "
                               "exists", root=True)
        mapped = {}
        for k in sorted(cols):
            c = cols[k]
            if k > m:
                self._report(t, t.frame[c] != "", c, "R3", f"more filled choices than max_choices = {m}")
                out[c] = constant("", len(t.frame), index=t.frame.index)
                continue
            mapped[k] = self._reference(t, c, self.school_lookup, "school", "R3", allow_empty=True)
            out[c] = mapped[k]
        ks = sorted(mapped)
        rows = {k: self.rows_of(t, cols[k], self.school_rows) for k in ks}  # equal rows: the same school
        for a_i, a in enumerate(ks):  # a school listed twice in one list
            coded, ids, _ = self.mapped[(t.file, cols[a])]
            named = coded.mask(i != "" for i in ids)
            for b in ks[a_i + 1:]:
                same = (rows[a] == rows[b]) & named
                self._report(t, same, cols[b], "R3", f"the same school is also choice {a} of this list")
        later_filled = np.zeros(len(t.frame), dtype=bool)
        for k in reversed(sorted(cols)):  # a gap: choice k empty, a later one filled
            cell = self._coded(t, cols[k]).mask(v != "" for v in self._coded(t, cols[k]).values)
            self._report(t, ~cell & later_filled, cols[k], "R3", "empty choice before a filled later choice")
            later_filled |= cell
        return out

    # declines and interviews --------------------------------------------------------------------
    def declines(self) -> pd.DataFrame:
        empty = pd.DataFrame({"student_id": text([]), "batch": pd.Series(dtype=np.int64)})
        t = self._table("declines")
        if t is None or not len(t.frame):
            return empty
        if not (self._require(t, "student_id", "R9") & self._require(t, "batch", "R9")):
            return empty
        student = self._student_reference(t, "R9")
        batch = self._number(t, "batch", "R9", "batch", required=True, integer=True)
        ids = self.view.batch_ids
        if ids is not None:  # unknown when the batches themselves are wrong (reported there)
            self._report(t, batch.notna() & ~batch.isin(ids), "batch", "R9", f"unknown batch (batches: {sorted(ids)})")
        frame = pd.DataFrame({"student_id": student, "batch": batch.fillna(-1).round().astype(np.int64)})
        return frame.drop_duplicates().reset_index(drop=True)

    def interviews(self) -> pd.DataFrame:
        empty = pd.DataFrame({"student_id": text([]), "school_id": text([])})
        t = self._table("interviews")
        if t is None or not len(t.frame):
            return empty
        if not (self._require(t, "student_id", "R3") & self._require(t, "school_id", "R3")):
            return empty
        student = self._student_reference(t, "R3")
        school = self._reference(t, "school_id", self.school_lookup, "school", "R3")
        return pd.DataFrame({"student_id": student, "school_id": school}).drop_duplicates().reset_index(drop=True)

    def _student_reference(self, t: RawTable, clause: str) -> pd.Series:
        cells = t.frame["student_id"]
        known = self.student_rows(cells) >= 0 if self.student_ids is not None else np.ones(len(cells), dtype=bool)
        bad, messages = mangled(cells)
        self._report(t, cells == "", "student_id", clause, "missing student id")
        self._report(t, bad, "student_id", clause, messages, root=True)
        self._report(t, (cells != "") & ~known & ~bad, "student_id", clause, "unknown student")
        return cells

    def student_rows(self, cells: pd.Series) -> NDArray[np.int64]:
        """The row of each cell's student (the first with that id), -1 where none."""
        if self.student_ids is None:
            return np.full(len(cells), -1, dtype=np.int64)
        if self.student_index is not None:
            return self.student_index.rows_of(cells)
        return codes_of(cells, self.student_ids)

    def hand_over(self, sc: Scenario) -> None:
        """Leave what the checks found for the engines (`models.columns.derived`): the school and region
        row of every choice and region cell, the order of the ids, the rows of declines and interviews."""
        t = self.raw.tables["students"]
        kept = derived(sc)
        st = sc.students
        for c, key, rows in [(c, sc.schools["school_id"], self.school_rows) for c in st.columns
                             if parse_choice_column(c)] + [("region_id", sc.regions["region_id"], self.region_rows)]:
            mapped = self.mapped.get((t.file, c))
            if mapped is not None and c in st.columns and same_data(st[c], mapped[2]):
                kept.put("codes", (st[c], key), self.rows_of(t, c, rows))
        if self.student_index is not None:
            kept.put("id-order", (st["student_id"],), self.student_index.order)
        for table in (sc.declines, sc.interviews):
            kept.put("codes", (table["student_id"], st["student_id"]), self.student_rows(table["student_id"]))

    def graduates_warnings(self, regions: pd.DataFrame, students: pd.DataFrame) -> None:
        """A region with more fresh (应届) students than fresh graduates is a mismatch of the two tables
        (former students may add to the students, never to the graduates); its rate could pass 100%."""
        t = self.raw.tables["regions"]
        graduates = regions["graduates"].to_numpy(dtype=float, na_value=np.nan)
        fresh = (students["cohort"] == "fresh").to_numpy()
        st = self.raw.tables["students"]
        mapped = self.mapped.get((st.file, "region_id"))
        if mapped is not None and same_data(students["region_id"], mapped[2]):  # counted by region rows
            rows = self.rows_of(st, "region_id", self.region_rows)
            per_row = np.bincount(rows[fresh & (rows >= 0)], minlength=len(regions))
            first = [self.region_rows.get(str(r), -1) for r in regions["region_id"]]
            have = np.asarray([per_row[f] if f >= 0 else 0 for f in first], dtype=float)
        else:
            counts = students.loc[fresh, "region_id"].value_counts()
            have = regions["region_id"].map(counts).fillna(0).to_numpy(dtype=float)
        over = have > graduates
        for i in np.flatnonzero(over):
            self.log.warning(t.file, int(t.row_numbers()[i]), t.headers.get("graduates", "graduates"),
                             int(graduates[i]), "FORMATS regions.csv",
                             f"{int(have[i]):,} fresh (应届) students have this region, more than its "
                             f"{int(graduates[i]):,} graduates: its enrollment rate could pass 100%")

    # void choices (warnings) --------------------------------------------------------------------
    def void_choice_warnings(self, settings: Settings, students: pd.DataFrame, schools: pd.DataFrame,
                             interviews: pd.DataFrame) -> None:
        t = self._table("students")
        if t is None:
            return
        unregistered = set(schools.loc[~schools["registered"], "school_id"])
        interview = set(schools.loc[schools["requires_interview"], "school_id"])
        passed = self._passed(interviews, len(schools))
        for list_name in settings.choice_lists:
            for k in range(1, settings.max_choices + 1):
                c = choice_column(list_name, k)
                if c not in students.columns:
                    continue
                coded, ids = self._mapped_column(t, c, students[c])
                self._report(t, coded.mask(i in unregistered for i in ids), c, "R2",
                             "void choice: the school is not registered in the catalogue (HY §八.四.2)", "warning")
                needs = coded.mask(i in interview for i in ids)
                if needs.any():
                    no_pass = needs.copy()
                    at = np.flatnonzero(needs)
                    if passed is None:  # students' ids given twice (an error): compare the texts
                        col = students[c]
                        no_pass[at] = ~member(students["student_id"].iloc[at] + "\x00" + col.iloc[at],
                                              interviews["student_id"] + "\x00" + interviews["school_id"])
                    else:
                        school = coded.ints(self.school_rows.get(i, -1) for i in ids)[at]
                        no_pass[at] = ~in_sorted(at * (len(schools) + 1) + school, passed)
                    self._report(t, no_pass, c, "R3",
                                 "void choice: the school requires an interview the student has not passed (HY §九.3)",
                                 "warning")

    def _mapped_column(self, t: RawTable, column: str, values: pd.Series) -> tuple[Coded, list[str]]:
        """A students' column of ids as codes and the id of each code: as `_reference` mapped it."""
        found = self.mapped.get((t.file, column))
        if found is not None and same_data(found[2], values):
            return found[0], found[1]
        coded = Coded(values)
        return coded, coded.values

    def _passed(self, interviews: pd.DataFrame, n_schools: int) -> NDArray[np.int64] | None:
        """The interviews passed as keys student row * (n_schools + 1) + school row; None when the
        students' ids are not all distinct."""
        if self.student_ids is None or not self.distinct_ids.get(self.raw.tables["students"].file, False):
            return None
        student = self.student_rows(interviews["student_id"])
        school = np.asarray([self.school_rows.get(i, -1) for i in interviews["school_id"]], dtype=np.int64)
        known = (student >= 0) & (school >= 0)
        return np.unique(np.asarray(student[known] * (n_schools + 1) + school[known], dtype=np.int64))  # sorted


class _SettingsView:
    """What the table checks need from the settings, as far as it can be known even when the settings
    themselves have errors (those are reported on their own)."""

    def __init__(self, max_choices: int | None, batch_ids: set[int] | None, choice_lists: list[str] | None,
                 batch_lists: list[str] | None = None):
        self.max_choices, self.batch_ids, self.choice_lists = max_choices, batch_ids, choice_lists
        self.batch_lists = batch_lists  # the lists the batches name (each needs columns, R5)

    @classmethod
    def of(cls, data: dict[str, object] | None, settings: Settings | None) -> _SettingsView:
        if settings is not None:
            return cls(settings.max_choices, {b.id for b in settings.batches}, settings.choice_lists,
                       list(dict.fromkeys(b.choices for b in settings.batches)))
        data = data or {}
        m: int | None
        try:
            m = int(str(data.get("max_choices")))
            m = m if m >= 1 else None
        except ValueError:
            m = None
        batches = data.get("batches")
        if isinstance(batches, list) and batches and all(isinstance(b, dict) for b in batches):
            named = _batch_names(batches)
            if named is None:
                return cls(m, None, None, None)
            ids, names = named
            return cls(m, ids, list(dict.fromkeys(["choices"] + names)), list(dict.fromkeys(names)) if names else None)
        return cls(m, None, None)


def _batch_names(batches: list[dict[object, object]]) -> tuple[set[int], list[str]] | None:
    """The ids of the batches and the choice list each reads, with the defaults of `_batches`; None when
    an id is not a whole number."""
    ids: set[int] = set()
    names: list[str] = []
    try:
        for i, b in enumerate(batches, start=1):
            bid = int(str(b.get("id", i)))
            ids.add(bid)
            names.append(str(b.get("choices") or ("choices" if i == 1 else f"batch{bid}")))
    except ValueError:
        return None
    return ids, names


def _table_file(t: RawTable) -> str:
    return f"{t.file.split(':')[-1]}.csv" if ":" in t.file else t.file


def _lower(values: list[str]) -> list[str]:
    """Lower case as pandas' ``str.lower`` writes it (Arrow's kernel)."""
    return [str(v) for v in pc.utf8_lower(pa.array(values, type=pa.large_string())).to_pylist()]


def _upper(values: list[str]) -> list[str]:
    """Upper case as pandas' ``str.upper`` writes it (Arrow's kernel)."""
    return [str(v) for v in pc.utf8_upper(pa.array(values, type=pa.large_string())).to_pylist()]


def in_sorted(queries: NDArray[np.int64], keys: NDArray[np.int64]) -> NDArray[np.bool_]:
    """queries.isin(keys) for sorted ``keys``, by binary search."""
    if not len(keys):
        return np.zeros(len(queries), dtype=bool)
    at = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return np.asarray(keys[at] == queries, dtype=bool)


def _first_rows(ids: pd.Series) -> dict[str, int]:
    """Each id's first row (as `models.columns.codes_of` finds it)."""
    rows: dict[str, int] = {}
    for i, v in enumerate(ids):
        rows.setdefault(str(v), i)
    return rows
