"""What a quota plan found: its status and figures, the quotas before and after, the prediction and the
sequential re-run (`PlanReport`); its quota table and its summary (summary.json, the workbook's 概要)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.results import Result
from models.scenario import Scenario
from solver.analysis.plan.bounds import Bounds, IntArray
from solver.analysis.plan.objectives import OBJECTIVE_TEXT, objective_sense
from solver.run import RunOutput

Summary = dict[str, object]
"""summary.json's figures, by name (`PlanReport.summary`)."""


@dataclass
class PlanReport:
    scenario: Scenario  # the original scenario
    objective: str
    total: int
    status: str  # OPTIMAL / FEASIBLE / INFEASIBLE / UNKNOWN / MODEL_INVALID
    objective_value: float | None
    bound: float | None
    bounds: Bounds
    quota_before: IntArray
    quota_after: IntArray | None
    predicted: Result | None = None  # the outcome of quota_after in the CP-SAT solution
    rerun: RunOutput | None = None  # the sequential engine with quota_after
    rerun_equal: bool | None = None
    rerun_differences: int | None = None
    rerun_objective: float | None = None
    baseline_objective: float | None = None  # the objective of the current quotas (sequential engine)
    target_share: float | None = None
    times: dict[str, float] = field(default_factory=dict)
    model_size: dict[str, int] = field(default_factory=dict)
    method: dict[str, object] = field(default_factory=dict)  # how the plan and its bound were found

    @property
    def gap(self) -> float | None:
        if self.objective_value is None or self.bound is None:
            return None
        return abs(self.bound - self.objective_value)

    @property
    def relative_gap(self) -> float | None:
        g = self.gap
        if g is None or self.objective_value is None:
            return None
        return g / max(1.0, abs(self.objective_value))

    @property
    def sense(self) -> str:
        return objective_sense(self.objective)

    def quota_table(self) -> pd.DataFrame:
        sch = self.scenario.schools
        after = self.quota_after if self.quota_after is not None else np.full(len(sch), -1)
        table = pd.DataFrame({
            "school_id": sch["school_id"].astype(str).to_numpy(), "name": sch["name"].to_numpy(),
            "quota_before": self.quota_before, "quota_after": after,
            "min": self.bounds.lower, "max": self.bounds.upper,
            "change": after - self.quota_before,
        })
        if self.quota_after is None:
            table[["quota_after", "change"]] = None
        return table

    def summary(self) -> Summary:
        return {
            "status": self.status,
            "scenario": self.scenario.name,
            "objective": self.objective,
            "sense": self.sense,
            "objective_definition": OBJECTIVE_TEXT[self.objective] + (
                f" (target share {self.target_share})" if self.objective == "ratio" and self.target_share is not None
                else ""),
            "total": self.total,
            "objective_value": self.objective_value,
            "bound": self.bound,
            "gap": self.gap,
            "relative_gap": self.relative_gap,
            "optimal": self.status == "OPTIMAL",
            "baseline_objective_current_quotas": self.baseline_objective,
            "rerun_objective": self.rerun_objective,
            "sequential re-run equals prediction": self.rerun_equal,
            "rerun_differences": self.rerun_differences,
            "quota_total_before": int(self.quota_before.sum()),
            "quota_total_after": None if self.quota_after is None else int(self.quota_after.sum()),
            "bounds_notes": self.bounds.notes,
            "model_size": self.model_size,
            "method": self.method,
            "times": self.times,
        }
