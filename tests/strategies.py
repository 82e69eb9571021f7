"""Hypothesis strategies shared by the tests: random valid scenarios (`scenarios`) and tiny cities
with few seats and many ties (`cities`)."""

from __future__ import annotations

from hypothesis import strategies as st

from builders import CALENDAR, region, scenario_dict, school, student

TIE_BREAKS = [
    None,  # default: score, evaluation, student_id
    ["score", "evaluation", "student_id"],
    ["score", "lottery"],
    ["score", "evaluation", "lottery", "student_id"],
    ["lottery"],
    ["evaluation", "score"],
    ["score:asc", "evaluation:asc"],  # explicit directions (student_id:desc: see test_r06)
    ["evaluation", "lottery:desc"],
]


@st.composite
def scenarios(draw, later_batches: bool = False) -> dict:
    """A random valid scenario; ``later_batches`` makes three batches, many declines and later lists."""
    n_regions = draw(st.integers(1, 3))
    region_ids = [f"R{i + 1}" for i in range(n_regions)]
    stage = draw(st.sampled_from(["seats", "cutoff", "none"]))
    regions = []
    for rid in region_ids:
        kind = draw(st.sampled_from(["seats", "cutoff", "both"]))
        seats = draw(st.integers(0, 3)) if kind in ("seats", "both") else None
        cutoff = draw(st.sampled_from([55, 65, 75, 85])) if kind in ("cutoff", "both") else None
        regions.append(region(rid, seats=seats, cutoff=cutoff))

    n_schools = draw(st.integers(1, 4))
    school_ids = [f"X{j + 1}" for j in range(n_schools)]
    schools = []
    for sid in school_ids:
        schools.append(school(sid, draw(st.integers(0, 5)), region=draw(st.sampled_from(region_ids)),
                              registered=draw(st.sampled_from([True, True, True, False])),
                              requires_interview=draw(st.sampled_from([False, False, True]))))
    subquotas = []
    for s in schools:
        left = s["quota"]
        for rid in region_ids:
            if draw(st.integers(0, 2)) == 0:
                q = draw(st.integers(0, left))
                left -= q
                subquotas.append((s["school_id"], rid, q))

    max_choices = draw(st.integers(1, 3))
    n_batches = 3 if later_batches else draw(st.integers(1, 3))
    batches = [dict(b) for b in CALENDAR[:n_batches]]
    for b in batches[1:]:
        b["fallback"] = draw(st.booleans())
        if draw(st.integers(0, 4)) == 0:
            b["choices"] = "choices"  # a later batch may read the original list again

    tie_break = draw(st.sampled_from(TIE_BREAKS))
    numeric_evaluation = draw(st.booleans())
    digit_ids = draw(st.booleans())
    n_students = draw(st.integers(1, 12))  # an empty JSON list has no columns: see test_bad_input
    if digit_ids:  # ids of digits of different widths: 9 < 10 as numbers, "10" < "9" as text
        ids = draw(st.lists(st.integers(1, 120), min_size=n_students, max_size=n_students, unique=True))
        ids = [str(i) for i in ids]
    else:
        ids = [f"S{i:03d}" for i in draw(st.permutations(range(n_students)))]

    def a_list(min_size=0):
        return draw(st.lists(st.sampled_from(school_ids), min_size=min_size, max_size=max_choices, unique=True))

    students = []
    for sid in ids:
        evaluation = (draw(st.sampled_from([60, 75, 90])) if numeric_evaluation
                      else draw(st.sampled_from(["A", "B", "C", "D", "b", "优秀", "良好", "合格"])))
        extra = {"cohort": draw(st.sampled_from(["fresh", "fresh", "former", "other"])),
                 "certificate": draw(st.sampled_from([True, True, True, False])),
                 "applies_general": draw(st.booleans()),
                 "lottery": draw(st.integers(0, 5))}
        students.append(student(sid, draw(st.sampled_from([50, 60, 70, 80])), a_list(draw(st.sampled_from([0, 1, 1]))),
                                region=draw(st.sampled_from(region_ids)), evaluation=evaluation,
                                batch2=a_list() if later_batches or draw(st.booleans()) else [],
                                batch3=a_list() if later_batches or draw(st.booleans()) else [], **extra))

    declines = sorted({(draw(st.sampled_from(ids)), draw(st.integers(1, n_batches)))
                       for _ in range(draw(st.integers(0, 10 if later_batches else 6)))}) if ids else []
    interviews = sorted({(draw(st.sampled_from(ids)), draw(st.sampled_from(school_ids)))
                         for _ in range(draw(st.integers(0, 4)))}) if ids else []
    return scenario_dict(students, schools, regions, batches=batches, max_choices=max_choices, general_stage=stage,
                         tie_break=tie_break, subquotas=subquotas, declines=declines, interviews=interviews)


@st.composite
def cities(draw):
    """Tiny scenarios with few seats and many ties: quotas 0-3, sub-quotas (adding up to at most the
    quota, as the loader demands), unregistered and interview schools, lists per batch with fallback
    variations, declines in any batch (also where no offer comes), general seats or cutoffs, an optional
    lottery chain."""
    n_regions = draw(st.integers(1, 3))
    regions_ = [f"R{r + 1}" for r in range(n_regions)]
    n_schools = draw(st.integers(1, 5))
    names = [chr(ord("A") + i) for i in range(n_schools)]
    schools, subquotas = [], []
    for s in names:
        quota = draw(st.integers(0, 3))
        schools.append(school(s, quota, registered=draw(st.integers(0, 3)) > 0,
                              requires_interview=draw(st.integers(0, 4)) == 0))
        for r in regions_:
            if draw(st.integers(0, 2)) == 0:
                share = draw(st.integers(0, quota))
                subquotas.append((s, r, share))
                quota -= share
    max_choices = draw(st.integers(1, 3))
    n_batches = draw(st.integers(1, 3))
    batches = [dict(b) for b in CALENDAR[:n_batches]]
    if n_batches == 3:
        batches[2]["fallback"] = draw(st.booleans())
    if n_batches >= 2 and draw(st.integers(0, 4)) == 0:
        batches[1]["choices"] = "choices"
    stage = draw(st.sampled_from(["none", "seats", "cutoff"]))
    region_rows = [region(r, seats=draw(st.integers(0, 2)) if stage == "seats" else None,
                          cutoff=draw(st.sampled_from([60, 80, 95])) if stage == "cutoff" else None)
                   for r in regions_]
    lottery = draw(st.booleans())
    n_students = draw(st.integers(1, 14))
    students, declines, interviews = [], [], []
    pick_list = st.lists(st.sampled_from(names), max_size=max_choices, unique=True)
    for i in range(n_students):
        sid = f"s{i:02d}"
        extra = {"lottery": draw(st.integers(0, 2))} if lottery else {}
        students.append(student(
            sid, draw(st.sampled_from([60, 70, 80, 90])), draw(pick_list), region=draw(st.sampled_from(regions_)),
            evaluation=draw(st.sampled_from("AB")), batch2=draw(pick_list), batch3=draw(pick_list),
            cohort=draw(st.sampled_from(["fresh", "fresh", "former"])), certificate=draw(st.integers(0, 6)) > 0,
            applies_general=draw(st.booleans()), **extra))
        declines += [(sid, b) for b in range(1, n_batches + 1) if draw(st.integers(0, 3)) == 0]
        interviews += [(sid, s) for s in names if draw(st.integers(0, 2)) == 0]
    return dict(schools=schools, regions=region_rows, subquotas=subquotas, students=students, declines=declines,
                interviews=interviews, batches=batches, max_choices=max_choices, general_stage=stage,
                tie_break=["score", "lottery"] if lottery else None)
