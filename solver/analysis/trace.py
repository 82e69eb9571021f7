"""为什么 Why this outcome (issue #13.4): one student's path through the rules, step by step.

Parents and schools ask every summer: why was this student not admitted to the school he put first?
`explain` answers from a scenario and the sequential engine's result (`solver.engine.sequential`), and the
CLI (``zhaosheng trace``) and the API (``GET /runs/{id}/trace?student=ID``) both call it:

- R4 the general stage: admitted to general high school, or the region's cutoff / seats not reached;
- R1 eligibility (a fresh graduate without a certificate);
- per batch (R5) and round (choice rank, R6): the school tried, void choices with their rule (R2
  unregistered, R3 interview without a pass, R5 a school declined in an earlier batch), admitted or not,
  and when not, why: the school was full at the student's turn (R7) or his region's share of it was
  (R8), with the lowest score the school admitted in that round and the student who took the last seat;
- R9 an offer confirmed, or declined (its seat returned after the batch);
- R12 the final outcome.

`prepare` does the work that does not depend on the student (the result as arrays) once; `explain`
then replays only the rounds the student took part in, at the schools he tried, with the engine's own
`batch_choices` and `admit_round`: numpy over all students per batch, no Python loop over them, so one
trace of a million-student scenario takes a fraction of a second.  The replay is compared with the
result (`Trace.consistent`): a disagreement means the result does not follow from the rules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import SupportsFloat, TypedDict

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from models.columns import codes_of
from models.results import Result
from models.scenario import Batch, Scenario
from solver.engine.arrays import ScenarioArrays, in_sorted
from solver.engine.choices import batch_choices
from solver.engine.sequential import admit_round, run_sequential

OUTCOME_ZH = {"general": "普通高中", "vocational": "中职/技工学校", "unplaced": "未录取",
              "ineligible": "不具备中职录取资格", "none": "无有效志愿"}
OUTCOME_EN = {"general": "general high school", "vocational": "vocational school", "unplaced": "unplaced",
              "ineligible": "ineligible", "none": "no usable choice"}
IntArray = NDArray[np.int64]
LastSeat = tuple[int, str, str]  # who took the last seat (student row), where in Chinese, where in English


class SchoolFields(TypedDict):
    school_id: str
    school_name: str


class BatchFields(TypedDict):
    batch: int
    batch_name: str


class ChoiceFields(BatchFields, SchoolFields):
    """The fields of a step at one choice of a batch."""

    round: int


class DecidedFields(ChoiceFields):
    admitted: bool


class RoundFields(ChoiceFields):
    cutoff: float | None
    facts: dict[str, object]


class StudentNotFound(KeyError):
    """The student id is not in the scenario."""


@dataclass
class Step:
    """One line of a student's path: what happened, under which rule, in Chinese and in English."""

    rule: str  # R1 ... R12
    kind: str  # machine key: general, ineligible, void, admitted, school_full, region_full, declined, ...
    zh: str
    en: str
    batch: int | None = None
    batch_name: str | None = None
    round: int | None = None  # choice rank (志愿), 1-based
    school_id: str | None = None
    school_name: str | None = None
    admitted: bool | None = None
    cutoff: float | None = None  # lowest score the school admitted in this batch and round
    last_student_id: str | None = None  # who took the last seat (R7) or the region's last share seat (R8)
    last_student_score: float | None = None
    facts: dict[str, object] = field(default_factory=dict)  # seats at the turn, position in the chain, ...


@dataclass
class Trace:
    """A student's path (`steps`) and outcome (R12), as the web page, the CLI and the API show it."""

    scenario: str
    student_id: str
    region_id: str
    region_name: str
    score: float
    evaluation: str
    cohort: str
    outcome: str
    outcome_zh: str
    school_id: str | None
    school_name: str | None
    batch: int | None
    choice_rank: int | None
    steps: list[Step]
    consistent: bool = True  # the replay of the rules agrees with the result at every step

    def as_dict(self) -> dict[str, object]:
        """JSON-ready (numpy numbers become Python numbers)."""
        return {k: _plain(v) for k, v in asdict(self).items()}


@dataclass
class TraceBasis:
    """What every trace of one (scenario, result) shares: the arrays and the result, by student row."""

    sc: Scenario
    arr: ScenarioArrays
    outcome: NDArray[np.object_]  # object[n]
    school: IntArray  # int64[n] confirmed school code, -1
    batch_pos: IntArray  # int64[n] position of the confirming batch, len(batches) when none
    rank_of: IntArray  # int64[n] choice rank of the confirmed admission, 0
    off_student: IntArray  # every offer: student row, school code, batch position, rank, confirmed
    off_school: IntArray
    off_batch: IntArray
    off_rank: IntArray
    off_conf: NDArray[np.bool_]
    school_names: NDArray[np.object_]
    region_names: dict[str, str]

    def batch_state(self, pos: int) -> _BatchState:
        return _BatchState.of(self, pos)


# preparing ------------------------------------------------------------------------------------------

def prepare(sc: Scenario, result: Result | None = None, arrays: ScenarioArrays | None = None) -> TraceBasis:
    """The result (the sequential engine's when none is given) as arrays by student row, once per scenario."""
    arr = arrays or ScenarioArrays.from_scenario(sc)
    result = result or run_sequential(sc, arrays=arr)
    adm = result.admissions
    rows = _rows_of(adm["student_id"], arr)
    n, nb = arr.n, len(sc.settings.batches)
    position = {b.id: i for i, b in enumerate(sc.settings.batches)}

    outcome = np.full(n, "none", dtype=object)
    outcome[rows] = adm["outcome"].to_numpy(dtype=object)
    school = np.full(n, -1, dtype=np.int64)
    school[rows] = codes_of(adm["school_id"], arr.school_ids)
    batch_ids = adm["batch"].fillna(-1).to_numpy(dtype=np.int64)
    batch_pos = np.full(n, nb, dtype=np.int64)
    batch_pos[rows] = _positions(batch_ids, position, nb)
    batch_pos[school < 0] = nb
    rank_of = np.zeros(n, dtype=np.int64)
    rank_of[rows] = adm["choice_rank"].fillna(0).to_numpy(dtype=np.int64)

    off = result.offers
    off_student = (result.offer_rows if result.offer_rows is not None and len(result.offer_rows) == len(off)
                   else codes_of(off["student_id"], arr.student_ids))
    return TraceBasis(
        sc=sc, arr=arr, outcome=outcome, school=school, batch_pos=batch_pos, rank_of=rank_of,
        off_student=np.asarray(off_student, dtype=np.int64), off_school=codes_of(off["school_id"], arr.school_ids),
        off_batch=_positions(off["batch"].to_numpy(dtype=np.int64), position, nb),
        off_rank=off["choice_rank"].to_numpy(dtype=np.int64), off_conf=off["confirmed"].to_numpy(dtype=bool),
        school_names=sc.schools["name"].astype(str).to_numpy(dtype=object),
        region_names=dict(zip(sc.regions["region_id"].astype(str), sc.regions["name"].astype(str))),
    )


def _rows_of(ids: pd.Series, arr: ScenarioArrays) -> IntArray:
    """Scenario rows of result rows: the identity when the result is in the scenario's order (the engines')."""
    if len(ids) == arr.n and (ids.astype(str).to_numpy() == arr.student_ids.astype(str).to_numpy()).all():
        return np.arange(arr.n)
    rows = codes_of(ids, arr.student_ids)
    if (rows < 0).any():
        raise ValueError(f"{int((rows < 0).sum())} student(s) of the result are not in the scenario")
    return rows


def _positions(batch_ids: IntArray, position: dict[int, int], missing: int) -> IntArray:
    """Batch ids as positions in the scenario's batch order (R5); ``missing`` where there is none."""
    out = np.full(len(batch_ids), missing, dtype=np.int64)
    for bid, pos in position.items():
        out[batch_ids == bid] = pos
    return out


@dataclass
class _BatchState:
    """One batch as the engine saw it when it began (R5, R7, R8, R9), and its offers."""

    batch: Batch
    pos: int
    codes: NDArray[np.integer]  # usable choices of the batch's pool (batch_choices), -1 elsewhere
    free: IntArray  # seats per school at the batch's start (R7)
    free_sub: IntArray  # seats per sub-quota at the batch's start (R8)
    offered: IntArray  # int64[n] school of this batch's offer, -1
    offered_rank: IntArray  # int64[n] its choice rank, 0
    declined_keys: IntArray  # (student, school) pairs declined in earlier batches (R5)

    @classmethod
    def of(cls, basis: TraceBasis, pos: int) -> _BatchState:
        arr, b = basis.arr, basis.sc.settings.batches[pos]
        before = (basis.school >= 0) & (basis.batch_pos < pos)  # confirmed in an earlier batch
        pool = arr.eligible & (basis.outcome != "general") & ~before  # R1, R4, R5
        earlier = (basis.off_batch < pos) & ~basis.off_conf
        declined = arr.pair_keys(basis.off_student[earlier], basis.off_school[earlier])
        codes = batch_choices(arr, b, declined)  # R2, R3, R5
        codes[~pool] = -1
        free = arr.quota - np.bincount(basis.school[before], minlength=arr.n_schools)
        free_sub = arr.sub_quota.copy()
        if arr.sub_index.size and before.any():
            pair = arr.sub_index[basis.school[before], arr.region[before]]
            free_sub -= np.bincount(pair[pair >= 0], minlength=len(free_sub))
        here = basis.off_batch == pos
        offered = np.full(arr.n, -1, dtype=np.int64)
        offered_rank = np.zeros(arr.n, dtype=np.int64)
        offered[basis.off_student[here]] = basis.off_school[here]
        offered_rank[basis.off_student[here]] = basis.off_rank[here]
        return cls(b, pos, codes, free, free_sub, offered, offered_rank, np.sort(declined))


# explaining -----------------------------------------------------------------------------------------

def trace_student(sc: Scenario, student_id: str, result: Result | None = None,
                  arrays: ScenarioArrays | None = None) -> Trace:
    """`prepare` then `explain`: one student's path (for one look; prepare once for many)."""
    return explain(prepare(sc, result, arrays), student_id)


def explain(basis: TraceBasis, student_id: str) -> Trace:
    """The path of ``student_id`` through R4, R1, the batches (R5, R6 with R2, R3, R7, R8, R9) and R12."""
    i = _row(basis, student_id)
    arr, sc = basis.arr, basis.sc
    steps: list[Step] = []
    consistent = True

    general, step = _general_step(basis, i)  # R4
    if step is not None:
        steps.append(step)
    consistent &= general == (basis.outcome[i] == "general")
    derived = "general" if general else None
    if not general and not arr.eligible[i]:  # R1
        steps.append(Step("R1", "ineligible",
                          "应届初中毕业生未取得初中毕业证，不能被中职学校录取（HY §四）",
                          "a fresh graduate without a graduation certificate is never admitted to a vocational "
                          "school (R1, HY §四)"))
        derived = "ineligible"
    if derived is None:
        derived, batch_steps, ok = _batches(basis, i)
        steps += batch_steps
        consistent &= ok
    outcome = str(basis.outcome[i])
    consistent &= derived == outcome
    steps.append(_outcome_step(basis, i, outcome))  # R12

    s = basis.school[i]
    region_id = str(sc.students["region_id"].iat[i])
    return Trace(
        scenario=sc.name, student_id=str(arr.student_ids.iat[i]), region_id=region_id,
        region_name=basis.region_names.get(region_id, region_id), score=float(arr.score[i]),
        evaluation=str(sc.students["evaluation"].iat[i]), cohort=str(sc.students["cohort"].iat[i]),
        outcome=outcome, outcome_zh=OUTCOME_ZH.get(outcome, outcome),
        school_id=str(arr.school_ids[s]) if s >= 0 else None, school_name=basis.school_names[s] if s >= 0 else None,
        batch=sc.settings.batches[basis.batch_pos[i]].id if s >= 0 else None,
        choice_rank=int(basis.rank_of[i]) if s >= 0 else None, steps=steps, consistent=bool(consistent))


def _row(basis: TraceBasis, student_id: str) -> int:
    """The scenario row of a student id (a hash look-up, not a scan in Python)."""
    row = codes_of(pd.Series([str(student_id).strip()], dtype=object), basis.arr.student_ids)[0]
    if row < 0:
        raise StudentNotFound(f"no student {student_id!r} in scenario {basis.sc.name}")
    return int(row)


def _general_step(basis: TraceBasis, i: int) -> tuple[bool, Step | None]:
    """R4: admitted to general high school, or why not (the region's cutoff or seats not reached)."""
    sc, arr = basis.sc, basis.arr
    stage = sc.settings.general_stage
    if stage == "none":
        return False, Step("R4", "no_general_stage", "本情景不模拟普高录取（general_stage: none），直接参加中职批次",
                           "this scenario has no general stage (general_stage: none): straight to the vocational "
                           "batches (R4)")
    if not arr.applies_general[i]:
        return False, Step("R4", "general_not_applied", "未报考普通高中，参加中职批次录取",
                           "did not apply to general high school: takes part in the vocational batches (R4)")
    r = arr.region[i]
    reg = sc.regions.iloc[r]
    seats, cutoff = _number(reg.get("general_seats")), _number(reg.get("general_cutoff"))
    use_cutoff = cutoff is not None and (seats is None or stage == "cutoff")
    if use_cutoff:
        admitted = arr.score[i] >= cutoff
        zh = (f"普高录取：成绩 {_fmt(arr.score[i])} {'达到' if admitted else '未达到'}"
              f"本地区普高最低控制线 {_fmt(cutoff)}" + ("，被普通高中录取" if admitted else "，参加中职批次"))
        en = (f"general stage: score {_fmt(arr.score[i])} {'reaches' if admitted else 'is below'} the region's "
              f"general cutoff {_fmt(cutoff)}" + (": admitted to general high school" if admitted
                                                   else ": goes on to the vocational batches") + " (R4)")
        return bool(admitted), Step("R4", "general" if admitted else "general_not_reached", zh, en,
                                    admitted=bool(admitted), cutoff=cutoff, facts={"general_cutoff": cutoff})
    if seats is None:
        return False, Step("R4", "general_no_plan", "本地区没有普高计划（无计划数、无控制线），参加中职批次",
                           "the region gives neither general seats nor a cutoff: goes on to the vocational "
                           "batches (R4)")
    return _general_by_seats(basis, i, int(seats))


def _general_by_seats(basis: TraceBasis, i: int, seats: int) -> tuple[bool, Step]:
    """R4 by seats: the student's place among the region's general applicants in the chain (R6)."""
    arr = basis.arr
    rivals = np.flatnonzero(arr.applies_general & (arr.region == arr.region[i]))
    ranks = np.sort(arr.rank[rivals])
    place = int(np.searchsorted(ranks, arr.rank[i]))  # applicants ahead of him
    admitted = place < seats
    facts: dict[str, object] = {"general_seats": seats, "place": place + 1, "applicants": len(rivals)}
    if admitted:
        return True, Step("R4", "general",
                          f"普高录取：本地区普高计划 {seats} 人，"
                          f"该生在报考普高的 {len(rivals)} 人中排第 {place + 1} 位，被普通高中录取",
                          f"general stage: the region has {seats} general seats; the student is number {place + 1} "
                          f"of {len(rivals)} applicants in the chain: admitted to general high school (R4, R6)",
                          admitted=True, facts=facts)
    last = _student_at_rank(arr, rivals, ranks[seats - 1]) if seats > 0 else None
    step = Step("R4", "general_not_reached",
                f"普高录取：本地区普高计划 {seats} 人，该生排第 {place + 1} 位，未被录取"
                + (f"；最后一个名额由 {_id(arr, last)}（成绩 {_fmt(arr.score[last])}）获得" if last is not None else "")
                + "，参加中职批次",
                f"general stage: the region's {seats} general seats went to students ahead in the chain; the "
                f"student is number {place + 1}"
                + (f"; the last seat went to {_id(arr, last)} (score {_fmt(arr.score[last])})"
                   if last is not None else "")
                + ": goes on to the vocational batches (R4, R6)", admitted=False, facts=facts)
    if last is not None:
        step.last_student_id, step.last_student_score = _id(arr, last), float(arr.score[last])
        step.cutoff = float(arr.score[last])
    return False, step


def _batches(basis: TraceBasis, i: int) -> tuple[str, list[Step], bool]:
    """R5: the batches in order until a confirmed admission; the outcome they lead to and their steps."""
    steps: list[Step] = []
    took_part, consistent = False, True
    for pos, b in enumerate(basis.sc.settings.batches):
        if (_raw_list(basis.arr, b, i)[0] < 0).all():  # nothing to replay (R5)
            steps.append(Step("R5", "no_choices", f"{b.name}：未填报本批次志愿",
                              f"{b.name} (batch {b.id}): no choice filed for this batch (R5)",
                              batch=b.id, batch_name=b.name))
            continue
        state = basis.batch_state(pos)
        batch_steps, part, confirmed, ok = _one_batch(basis, state, i)
        steps += batch_steps
        took_part |= part
        consistent &= ok
        if confirmed:
            return "vocational", steps, consistent
    return ("unplaced" if took_part else "none"), steps, consistent


def _one_batch(basis: TraceBasis, st: _BatchState, i: int) -> tuple[list[Step], bool, bool, bool]:
    """Steps of one batch: void choices, each round tried (R6, R7, R8), then confirmation (R9)."""
    arr, b = basis.arr, st.batch
    raw, fell_back = _raw_list(arr, b, i)
    where: BatchFields = {"batch": b.id, "batch_name": b.name}
    steps = []
    if fell_back:
        steps.append(Step("R5", "fallback", f"{b.name}：未填报本批次志愿，沿用第一批次志愿（fallback）",
                          f"{b.name}: no choice filed for this batch; the original list is used (R5, fallback)",
                          **where))
    usable = st.codes[i]
    took_part = bool((usable >= 0).any())
    consistent = True
    for k, code in enumerate(raw):
        if code < 0:
            continue
        if usable[k] < 0:
            steps.append(_void_step(basis, st, i, k, code))
            continue
        got = st.offered[i]
        if got >= 0 and st.offered_rank[i] <= k:  # R3: admitted at an earlier choice
            steps.append(Step("R3", "not_considered", f"{b.name} 第{k + 1}志愿 {_school(basis, code)}："
                              "前一志愿已录取，后续志愿不再投档",
                              f"{b.name}, choice {k + 1} {_school_en(basis, code)}: not considered, the student was "
                              "admitted at an earlier choice (R3, HY §八.三)", round=k + 1,
                              **_school_fields(basis, code), **where))
            continue
        step, ok = _round_step(basis, st, i, k, code)
        steps.append(step)
        consistent &= ok
    confirmed = False
    if st.offered[i] >= 0:
        step, confirmed = _confirmation_step(basis, st, i)
        steps.append(step)
    return steps, took_part, confirmed, consistent


def _raw_list(arr: ScenarioArrays, b: Batch, i: int) -> tuple[NDArray[np.integer], bool]:
    """The student's filed list for batch b, with the fallback to the original list (R5)."""
    raw = arr.lists[b.choices][i]
    if b.fallback and b.choices != "choices" and (raw < 0).all():
        return arr.lists["choices"][i], True
    return raw, False


def _void_step(basis: TraceBasis, st: _BatchState, i: int, k: int, code: int) -> Step:
    """A filled choice the batch does not use, with its rule: R2, R3 (interview) or R5 (declined earlier)."""
    arr, b = basis.arr, st.batch
    name_zh, name_en = _school(basis, code), _school_en(basis, code)
    fields: DecidedFields = {"batch": b.id, "batch_name": b.name, "round": k + 1, "admitted": False,
                          **_school_fields(basis, code)}
    head_zh, head_en = f"{b.name} 第{k + 1}志愿 {name_zh}：", f"{b.name}, choice {k + 1} {name_en}: void, "
    if not arr.registered[code]:
        return Step("R2", "void_unregistered", head_zh + "该校未在招生目录中备案，志愿无效（HY §八.四.2）",
                    head_en + "the school is not registered in the catalogue (R2, HY §八.四.2)", **fields)
    if arr.requires_interview[code] and not in_sorted(arr.pair_keys(np.array([i]), np.array([code])),
                                                      arr.interview_keys)[0]:
        return Step("R3", "void_interview", head_zh + "该校须经面试，该生未通过面试，志愿无效（HY §九.3）",
                    head_en + "the school requires an interview the student has not passed (R3, HY §九.3)", **fields)
    if in_sorted(arr.pair_keys(np.array([i]), np.array([code])), st.declined_keys)[0]:
        return Step("R5", "void_declined", head_zh + "该生在此前批次放弃了该校的录取，本批次该志愿无效",
                    head_en + "the student declined this school's offer in an earlier batch (R5, R9)", **fields)
    return Step("R5", "void_not_in_pool", head_zh + "该生不在本批次的录取范围内",
                head_en + "the student is not in this batch's pool (R5)", **fields)


def _round_step(basis: TraceBasis, st: _BatchState, i: int, k: int, code: int) -> tuple[Step, bool]:
    """Round k+1 of R6 at one school, replayed with the engine's `admit_round`: admitted, or why not."""
    arr, b = basis.arr, st.batch
    apps = np.flatnonzero((st.codes[:, k] == code) & ((st.offered < 0) | (st.offered_rank > k)))
    apps = apps[np.argsort(arr.rank[apps], kind="stable")]
    seats, sub_seats = _round_seats(basis, st, k)
    seats0 = int(seats[code])
    pair = int(arr.sub_index[code, arr.region[i]]) if arr.sub_index.size else -1
    sub0 = int(sub_seats[pair]) if pair >= 0 else None
    admitted = admit_round(arr, apps, np.full(len(apps), code, dtype=np.int32), seats, sub_seats)
    result_admitted = (st.offered[apps] == code) & (st.offered_rank[apps] == k + 1)
    consistent = bool((admitted == result_admitted).all())
    me = int(np.flatnonzero(apps == i)[0])
    ahead = int(admitted[:me].sum())
    same = (arr.sub_index[code, arr.region[apps]] == pair) if pair >= 0 else np.zeros(len(apps), dtype=bool)
    ahead_region = int((admitted[:me] & same[:me]).sum())
    winners = apps[result_admitted]
    cutoff = float(arr.score[winners].min()) if len(winners) else None
    facts: dict[str, object] = {"applicants": len(apps), "place": me + 1, "seats_at_round_start": seats0,
                                "seats_at_turn": seats0 - ahead, "admitted_in_round": int(result_admitted.sum())}
    if sub0 is not None:  # the student's region has a sub-quota at the school (R8)
        facts.update({"region_share_at_round_start": sub0, "region_share_at_turn": sub0 - ahead_region})
    fields: RoundFields = {"batch": b.id, "batch_name": b.name, "round": k + 1, "cutoff": cutoff, "facts": facts,
                          **_school_fields(basis, code)}
    head_zh = f"{b.name} 第{k + 1}志愿 {_school(basis, code)}："
    head_en = f"{b.name}, choice {k + 1} {_school_en(basis, code)}: "
    line_zh = f"；本轮最低录取分 {_fmt(cutoff)}" if cutoff is not None else "；本轮未录取任何人"
    line_en = f"; lowest score admitted in this round {_fmt(cutoff)}" if cutoff is not None else \
        "; nobody was admitted in this round"
    if result_admitted[me]:
        return Step("R6", "admitted",
                    head_zh + f"录取（本轮第 {me + 1} 位申请者，轮到时学校剩余 {seats0 - ahead} 个名额）" + line_zh,
                    head_en + f"admitted (applicant {me + 1} of {len(apps)} in the chain, {seats0 - ahead} seat(s) "
                              f"free at the turn)" + line_en + " (R6, R7)", admitted=True, **fields), consistent
    if seats0 - ahead <= 0:
        last = _last_seat(basis, st, k, code, apps[:me][admitted[:me]], None)
        step = Step("R7", "school_full",
                    head_zh + f"未录取：轮到该生时学校已满（本轮开始时剩余 {seats0} 个名额，"
                              f"本轮排在该生前面的 {me} 名申请者中录取 {ahead} 人）" + line_zh + _last_zh(arr, last),
                    head_en + f"not admitted: the school was full at the student's turn ({seats0} seat(s) free when "
                              f"the round began, {ahead} taken by the {me} applicant(s) ahead in the chain)" + line_en
                    + _last_en(arr, last) + " (R6, R7)", admitted=False, **fields)
    elif sub0 is not None and sub0 - ahead_region <= 0:
        last = _last_seat(basis, st, k, code, apps[:me][(admitted & same)[:me]], pair)
        region = basis.region_names.get(str(arr.region_ids[arr.region[i]]), str(arr.region_ids[arr.region[i]]))
        step = Step("R8", "region_full",
                    head_zh + f"未录取：学校仍有 {seats0 - ahead} 个名额，但分配给{region}的名额（分区计划）已满"
                              f"（本轮开始时剩余 {sub0} 个）" + line_zh + _last_zh(arr, last),
                    head_en + f"not admitted: the school still had {seats0 - ahead} seat(s), but the share of it "
                              f"issued to the student's region {region} (sub-quota) was full ({sub0} free when the "
                              f"round began)" + line_en + _last_en(arr, last) + " (R6, R8)", admitted=False, **fields)
    else:
        consistent, last = False, None
        step = Step("R6", "rejected_unexplained",
                    head_zh + "未录取，但按规则轮到该生时学校和地区均有名额：该结果不符合规则",
                    head_en + "not admitted, although the school and the region's share had a free seat at the "
                              "student's turn: the result does not follow the rules (R6, R7, R8)", admitted=False,
                    **fields)
    if last is not None:
        step.last_student_id, step.last_student_score = _id(arr, last[0]), float(arr.score[last[0]])
        step.facts["last_seat_taken"] = last[2]
    return step, consistent


def _round_seats(basis: TraceBasis, st: _BatchState, k: int) -> tuple[IntArray, IntArray]:
    """Free seats per school and per sub-quota when round k+1 begins: the batch's start minus offers of
    its earlier rounds (offers hold their seats during the batch, R9)."""
    arr = basis.arr
    earlier = np.flatnonzero((st.offered >= 0) & (st.offered_rank <= k))
    seats = st.free - np.bincount(st.offered[earlier], minlength=arr.n_schools)
    sub = st.free_sub.copy()
    if arr.sub_index.size and len(earlier):
        pair = arr.sub_index[st.offered[earlier], arr.region[earlier]]
        sub -= np.bincount(pair[pair >= 0], minlength=len(sub))
    return seats.astype(np.int64), sub.astype(np.int64)


def _last_seat(basis: TraceBasis, st: _BatchState, k: int, code: int, before: IntArray,
               pair: int | None) -> LastSeat | None:
    """The student who took the last seat (of the school, or of the region's share when ``pair``) and where:
    the last admitted ahead of him in this round; else in an earlier round of the batch; else the last
    confirmed in an earlier batch.  None when the school (or share) never had a seat."""
    arr, b = basis.arr, st.batch
    if len(before):
        return int(before[-1]), "本轮", "in this round"

    def of_pair(rows: IntArray) -> IntArray:
        return rows if pair is None else rows[arr.sub_index[code, arr.region[rows]] == pair]

    earlier = of_pair(np.flatnonzero((st.offered == code) & (st.offered_rank <= k) & (st.offered_rank > 0)))
    if len(earlier):
        row = int(earlier[np.lexsort((arr.rank[earlier], st.offered_rank[earlier]))[-1]])
        rank = int(st.offered_rank[row])
        return row, f"{b.name}第{rank}志愿轮", f"in {b.name}, round {rank}"
    done = of_pair(np.flatnonzero((basis.school == code) & (basis.batch_pos < st.pos)))
    if len(done):
        row = int(done[np.lexsort((arr.rank[done], basis.rank_of[done], basis.batch_pos[done]))[-1]])
        earlier_batch, rank = basis.sc.settings.batches[basis.batch_pos[row]], int(basis.rank_of[row])
        return row, f"{earlier_batch.name}第{rank}志愿轮", f"in {earlier_batch.name}, round {rank}"
    return None


def _confirmation_step(basis: TraceBasis, st: _BatchState, i: int) -> tuple[Step, bool]:
    """R9: the batch's offer confirmed, or declined (the seat returns after the batch)."""
    arr, b = basis.arr, st.batch
    code = int(st.offered[i])
    declined = bool(arr.declines[b.id][i])
    fields: DecidedFields = {"batch": b.id, "batch_name": b.name, "round": int(st.offered_rank[i]),
                          "admitted": not declined, **_school_fields(basis, code)}
    if declined:
        return Step("R9", "declined",
                    f"{b.name}：获得 {_school(basis, code)} 录取后未确认（放弃），名额在本批次结束后退回；"
                    "该生进入下一批次，后续批次不再录取到该校",
                    f"{b.name}: offer from {_school_en(basis, code)} declined (not confirmed); the seat returns after "
                    "the batch, the student goes on to the next batch, and this school is void for him later "
                    "(R9, R5)", **fields), False
    return Step("R9", "confirmed", f"{b.name}：{_school(basis, code)} 录取已确认（确认截止 {b.confirm_by}）",
                f"{b.name}: the offer from {_school_en(basis, code)} is confirmed (by {b.confirm_by}) (R9)",
                **fields), True


def _outcome_step(basis: TraceBasis, i: int, outcome: str) -> Step:
    """R12: the one outcome of the student."""
    s = basis.school[i]
    if outcome == "vocational" and s >= 0:
        b = basis.sc.settings.batches[basis.batch_pos[i]]
        rank = int(basis.rank_of[i])
        return Step("R12", "outcome", f"最终结果：{b.name} 第{rank}志愿 录取到 {_school(basis, s)}",
                    f"outcome: vocational, {_school_en(basis, s)}, {b.name} (batch {b.id}), choice {rank} (R12)",
                    batch=b.id, batch_name=b.name, round=rank, admitted=True, **_school_fields(basis, s))
    zh = {"general": "最终结果：普通高中录取", "unplaced": "最终结果：参加了中职录取，但未被任何学校录取",
          "ineligible": "最终结果：不具备中职录取资格（R1）", "none": "最终结果：未填报有效志愿，未录取"}
    en = {"general": "outcome: general high school (R12)",
          "unplaced": "outcome: unplaced: took part in the vocational batches, no seat (R12)",
          "ineligible": "outcome: ineligible (R1, R12)",
          "none": "outcome: none: no usable choice and not admitted to general high school (R12)"}
    return Step("R12", "outcome", zh.get(outcome, f"最终结果：{outcome}"), en.get(outcome, f"outcome: {outcome}"),
                admitted=outcome == "general")


# small helpers --------------------------------------------------------------------------------------

def _school(basis: TraceBasis, code: int) -> str:
    return f"{basis.school_names[code]}（{basis.arr.school_ids[code]}）"


def _school_en(basis: TraceBasis, code: int) -> str:
    return f"{basis.arr.school_ids[code]} {basis.school_names[code]}"


def _school_fields(basis: TraceBasis, code: int) -> SchoolFields:
    return {"school_id": str(basis.arr.school_ids[code]), "school_name": str(basis.school_names[code])}


def _id(arr: ScenarioArrays, row: int) -> str:
    return str(arr.student_ids.iat[row])


def _last_zh(arr: ScenarioArrays, last: LastSeat | None) -> str:
    if last is None:
        return "；该校（或该地区名额）没有可用名额"
    row, where, _ = last
    return f"；最后一个名额由 {_id(arr, row)}（成绩 {_fmt(arr.score[row])}）于{where}获得"


def _last_en(arr: ScenarioArrays, last: LastSeat | None) -> str:
    if last is None:
        return "; there was no seat to take"
    row, _, where = last
    return f"; the last seat went to {_id(arr, row)} (score {_fmt(arr.score[row])}) {where}"


def _student_at_rank(arr: ScenarioArrays, rows: IntArray, rank: int) -> int:
    return int(rows[np.flatnonzero(arr.rank[rows] == rank)[0]])


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{float(value):g}"


def _number(value: object) -> float | None:
    """A region's figure, None where missing."""
    if not isinstance(value, SupportsFloat | str):  # None, <NA>
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def _plain(value: object) -> object:
    """numpy scalars and nested containers as plain Python, for JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
