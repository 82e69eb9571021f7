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
from numpy.typing import NDArray

from models.columns import member, numbers, text, translate
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
from models.ids import FIX, Lookup, mangled, truncated
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
    return Scenario(settings, regions, schools, subquotas, students, declines, interviews,
                    warnings=log.ordered(), source=raw.source, inputs=raw.inputs)


# Tables --------------------------------------------------------------------------------------------

class _Validator:
    def __init__(self, raw: RawScenario, settings: Settings | None, log: ProblemLog):
        self.raw = raw
        self.settings = settings
        self.log = log
        self.region_lookup = Lookup(ok=False)
        self.school_lookup = Lookup(ok=False)
        self.student_ids: pd.Series | None = None
        self.view = _SettingsView.of(raw.settings, settings)

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
        return t.row_numbers()[np.flatnonzero(np.asarray(mask))]

    def _report(self, t: RawTable, mask: Mask, column: str, clause: str, message: str | NDArray[np.object_],
                severity: Severity = "error", root: bool = False) -> None:
        """A problem on each row of ``mask``: one ``message``, or a message per row of the table."""
        rows = np.asarray(mask, dtype=bool)
        if not rows.any():
            return
        values = t.frame[column].to_numpy()[rows] if column in t.frame.columns else [None] * int(rows.sum())
        messages = message if isinstance(message, str) else [str(m) for m in np.asarray(message, dtype=object)[rows]]
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
        dup = (ids.duplicated(keep="first") & (ids != "")).to_numpy()
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
        cells = t.frame[column] if column in t.frame.columns else text([""] * len(t.frame), index=t.frame.index)
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
        cells = t.frame[column].str.lower()
        out = pd.Series(np.full(len(t.frame), default), index=t.frame.index)
        out[cells.isin(TRUE_WORDS)] = True
        out[cells.isin(FALSE_WORDS)] = False
        self._report(t, (cells != "") & ~cells.isin(TRUE_WORDS | FALSE_WORDS), column, clause,
                     f"{column} must be true or false (是/否)")
        return out.astype(bool)

    def _word(self, t: RawTable, column: str, words: dict[str, str], default: str, clause: str) -> pd.Series:
        if column not in t.frame.columns:
            return text([default] * len(t.frame), index=t.frame.index)
        cells = t.frame[column]
        mapped, found = translate(cells.str.lower(), words)
        empty = (cells == "").to_numpy()
        self._report(t, ~found & ~empty, column, clause,
                     f"{column} must be one of {', '.join(sorted(set(words.values())))}")
        return mapped.where(~empty, default)

    def _reference(self, t: RawTable, column: str, lookup: Lookup, what: str, clause: str,
                   allow_empty: bool = False) -> pd.Series:
        """Map ids (or unique names) to ids.  A cell Excel mangled, an ambiguous name or an unknown value
        is an error; references to a table that could not be read are not checked (its own error is
        the root cause)."""
        cells = t.frame[column]
        mapped, found = translate(cells, lookup.ids)
        empty = (cells == "").to_numpy()
        if not allow_empty:
            self._report(t, empty, column, clause, f"missing {what}")
        if not lookup.ok:
            return mapped
        bad, messages = mangled(cells)
        self._report(t, bad, column, clause, messages, root=True)
        unknown = ~empty & ~found & ~bad
        if unknown.any():
            values = cells.to_numpy()[unknown]
            why = {v: lookup.unknown_message(v, what) for v in pd.unique(values)}
            messages = np.full(len(cells), "", dtype=object)
            messages[unknown] = [why[v] for v in values]
            self._report(t, unknown, column, clause, messages)
        return mapped

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
            "graduates": graduates.astype("Int64"),
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
        region = (self._reference(t, "region_id", self.region_lookup, "region", "FORMATS schools.csv", allow_empty=True)
                  if "region_id" in t.frame.columns else text([""] * len(ids), index=ids.index))
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
        region = (self._reference(t, "region_id", self.region_lookup, "region (学籍所在地)", "FORMATS students.csv")
                  if self._require(t, "region_id", "FORMATS students.csv") else text([""] * len(ids), index=ids.index))
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
        cells = t.frame["evaluation"] if "evaluation" in t.frame.columns else pd.Series("", index=t.frame.index)
        upper = cells.str.upper()
        graded = upper.isin(EVALUATION_GRADES.keys()) | cells.isin(EVALUATION_GRADES.keys())
        numeric = numbers(cells.where(~graded, ""))
        empty = cells == ""
        if required:
            self._report(t, empty, "evaluation", "R6", "missing evaluation (综合素质评价)")
        self._report(t, ~empty & ~graded & numeric.isna(), "evaluation", "R6",
                     "evaluation must be A, B, C, D (优秀/良好/合格/待合格) or a number")
        if graded.any() and numeric.notna().any():
            self._report(t, numeric.notna(), "evaluation", "R6",
                         "evaluation mixes grades (A-D) and numbers; use one kind in the whole column")
        return upper.where(upper.isin(EVALUATION_GRADES.keys()), cells)

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
                out[c] = text([""] * len(t.frame), index=t.frame.index)
                continue
            mapped[k] = self._reference(t, c, self.school_lookup, "school", "R3", allow_empty=True)
            out[c] = mapped[k]
        ks = sorted(mapped)
        for a_i, a in enumerate(ks):  # a school listed twice in one list
            for b in ks[a_i + 1:]:
                same = (mapped[a] == mapped[b]) & (mapped[a] != "")
                self._report(t, same, cols[b], "R3", f"the same school is also choice {a} of this list")
        later_filled = np.zeros(len(t.frame), dtype=bool)
        for k in reversed(sorted(cols)):  # a gap: choice k empty, a later one filled
            cell = (t.frame[cols[k]] != "").to_numpy()
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
        known = member(cells, self.student_ids) if self.student_ids is not None else np.ones(len(cells), dtype=bool)
        bad, messages = mangled(cells)
        self._report(t, cells == "", "student_id", clause, "missing student id")
        self._report(t, bad, "student_id", clause, messages, root=True)
        self._report(t, (cells != "") & ~known & ~bad, "student_id", clause, "unknown student")
        return cells

    def graduates_warnings(self, regions: pd.DataFrame, students: pd.DataFrame) -> None:
        """A region with more fresh (应届) students than fresh graduates is a mismatch of the two tables
        (former students may add to the students, never to the graduates); its rate could pass 100%."""
        t = self.raw.tables["regions"]
        counts = students.loc[students["cohort"] == "fresh", "region_id"].value_counts()
        graduates = regions["graduates"].to_numpy(dtype=float, na_value=np.nan)
        have = regions["region_id"].map(counts).fillna(0).to_numpy()
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
        passed = interviews["student_id"] + "\x00" + interviews["school_id"]  # (student, school) keys
        for list_name in settings.choice_lists:
            for k in range(1, settings.max_choices + 1):
                c = choice_column(list_name, k)
                if c not in students.columns:
                    continue
                col = students[c]
                self._report(t, col.isin(unregistered), c, "R2",
                             "void choice: the school is not registered in the catalogue (HY §八.四.2)", "warning")
                needs = col.isin(interview).to_numpy()
                if needs.any():
                    no_pass = needs.copy()
                    no_pass[needs] = ~member(students["student_id"][needs] + "\x00" + col[needs], passed)
                    self._report(t, no_pass, c, "R3",
                                 "void choice: the school requires an interview the student has not passed (HY §九.3)",
                                 "warning")


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
