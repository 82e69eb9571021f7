"""Shared steps of the CP-SAT rule tests (tests/test_cpsat_r*.py): solve a tiny scenario with the model
of `solver.cpsat`, hold it against the sequential engine, prove it unique, and break a result in one
place to see that `AdmissionModel.feasible_with` rejects it.

`model_without` builds the model with some rule modules left out, so a test can show that it is *that*
rule's module which excludes a broken result (docs/rules.md: one module per rule id).
"""

from __future__ import annotations

import pandas as pd

import solver.cpsat.model as model_module
from models.results import Result
from solver.cpsat import AdmissionModel, build_instance
from solver.engine.sequential import run_sequential

from builders import placements, plain

FOUND = ("OPTIMAL", "FEASIBLE")
UNPLACED = ("unplaced", None, None, None)


def rows(frame: pd.DataFrame) -> list[tuple]:
    """Every row of a result frame as plain values, in a fixed order (all columns compared)."""
    return sorted((tuple(plain(v) for v in r) for r in frame.itertuples(index=False)), key=repr)


def assert_same_result(got: Result, want: Result) -> None:
    """Admissions and offers equal, column by column and row by row."""
    assert list(got.admissions.columns) == list(want.admissions.columns)
    assert rows(got.admissions) == rows(want.admissions)
    assert list(got.offers.columns) == list(want.offers.columns)
    assert rows(got.offers) == rows(want.offers)


def decided(sc, expected: dict) -> tuple[AdmissionModel, Result]:
    """(a) the model's solve equals the sequential engine's result (and the hand-worked ``expected``
    placements), (b) no other solution exists, (c) the correct result is feasible under `feasible_with`.
    Returns the model and the sequential result, to be broken by the caller."""
    seq = run_sequential(sc)
    assert placements(seq) == expected  # the rule under test decides these, worked out by hand
    model = AdmissionModel(build_instance(sc))
    report = model.solve()
    assert report.status in FOUND, report.status
    cpsat = model.result(report.solution)
    assert cpsat.engine == "cpsat"
    assert_same_result(cpsat, seq)
    proof = model.prove_unique(report.solution)
    assert proof.status == "INFEASIBLE", proof.status
    assert model.feasible_with(seq).status in FOUND
    assert model.feasible_with(cpsat).status in FOUND
    return model, seq


def model_without(sc, *rule_classes) -> AdmissionModel:
    """The model with the modules of ``rule_classes`` left out (the others unchanged)."""
    every = model_module.RULE_MODULES
    kept = tuple(m for m in every if not isinstance(m, rule_classes))
    assert len(kept) == len(every) - len(rule_classes), "a rule module is missing"
    return AdmissionModel(build_instance(sc), rules=kept)


def breaks(model: AdmissionModel, broken: Result) -> dict:
    """(d) the broken result is rejected; returns the report's stats."""
    report = model.feasible_with(broken)
    assert report.status == "INFEASIBLE", report.status
    return report.stats


def holds(model: AdmissionModel, result: Result) -> None:
    assert model.feasible_with(result).status in FOUND


# Breaking a result in one place -------------------------------------------------------------------

def _with_offers(result: Result, offers: pd.DataFrame) -> Result:
    return Result(admissions=result.admissions.copy(), offers=offers.reset_index(drop=True), engine="broken")


def _offer_row(sc, result: Result, student_id, school_id, batch, rank, confirmed=None) -> dict:
    b = sc.settings.batch(batch)
    if confirmed is None:  # R9: confirmed unless a decline names the student and batch
        d = sc.declines
        confirmed = not ((d["student_id"].astype(str) == student_id) & (d["batch"].astype(int) == batch)).any()
    region = sc.students.set_index(sc.students["student_id"].astype(str)).loc[student_id, "region_id"]
    row = {"student_id": student_id, "school_id": school_id, "batch": batch, "choice_rank": rank,
           "admit_date": b.admit_by.isoformat(), "confirmed": bool(confirmed), "region_id": region,
           "confirm_date": b.confirm_by.isoformat() if confirmed else ""}
    return {c: row[c] for c in result.offers.columns}


def add_offer(sc, result: Result, student_id, school_id, batch, rank, confirmed=None) -> Result:
    """The result with one more offer, dated by its batch's calendar (R11)."""
    row = pd.DataFrame([_offer_row(sc, result, student_id, school_id, batch, rank, confirmed)])
    row = row.astype({c: result.offers[c].dtype for c in row.columns})
    return _with_offers(result, pd.concat([result.offers, row], ignore_index=True))


def drop_offer(result: Result, student_id, batch) -> Result:
    """The result without the offer made to ``student_id`` in ``batch`` (which must exist)."""
    offers = result.offers
    hit = (offers["student_id"].astype(str) == student_id) & (offers["batch"].astype(int) == batch)
    assert hit.sum() == 1, f"no single offer to {student_id} in batch {batch}"
    return _with_offers(result, offers[~hit])


def change_offer(result: Result, student_id, batch, **values) -> Result:
    """The result with the offer to ``student_id`` in ``batch`` changed in the given columns."""
    offers = result.offers.copy()
    hit = (offers["student_id"].astype(str) == student_id) & (offers["batch"].astype(int) == batch)
    assert hit.sum() == 1, f"no single offer to {student_id} in batch {batch}"
    for column, value in values.items():
        offers.loc[hit, column] = value
    return _with_offers(result, offers)


def offered(result: Result) -> list[tuple]:
    """(student, school, batch, rank, confirmed) of every offer, sorted: to state what a broken result is."""
    return sorted((str(r.student_id), str(r.school_id), int(r.batch), int(r.choice_rank), bool(r.confirmed))
                  for r in result.offers.itertuples(index=False))
