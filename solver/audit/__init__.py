"""The audit of a published result (issue #4): the rules it breaks (R1-R12, by the independent checker)
and its differences from the result the rules give (the sequential engine), written as violations.csv,
differences.csv, audit.xlsx and summary.json (`solver.audit.report`).  Explanations of why a result is
not the rule's are in `solver.audit.explain` (CP-SAT; imported on demand, not here)."""

from solver.audit.report import (
                                 AuditReport,
                                 audit,
                                 compare_published,
                                 count_by_rule,
                                 count_by_school,
                                 differences_per_school,
                                 write_audit,
                                 write_audit_failure,
)

__all__ = ["AuditReport", "audit", "compare_published", "count_by_rule", "count_by_school",
           "differences_per_school", "write_audit", "write_audit_failure"]
