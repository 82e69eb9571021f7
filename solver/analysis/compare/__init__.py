"""Mechanism comparison (issue #15.3): the scenario run under each mechanism — ``boston`` (the sequential
rule, 顺序志愿), ``parallel`` (平行志愿), ``chen-kesten:E`` (docs/rules.md, "R6 variants") — on the same
students and lists, every batch under that mechanism, with the sequential engine.

Per mechanism: the figures of every run (vocational placed, unplaced, students with justified envy,
the share placed at their first choice, 普职比, enrollment rate), per region and per school.  Between each
pair: the students whose result differs, each a gain, a loss or a move by his own lists, with score band
and region (``moves.csv``), and their counts in total, per score band and per region (``pairs.csv``).

**The lists are the same under every mechanism.**  Under ``boston`` they were filed for that rule and
are strategic, so the comparison shows the mechanical difference between the rules, not the behavioural
one (`CAVEAT`, in summary.json, on the workbook's 说明 sheet, under the chart and in the CLI's output).

The package is split along the jobs: `spec` parses the mechanisms and applies one to a scenario,
`report` runs and compares them, `files` writes the tables and the workbook, `chart` the chart.
"""

from solver.analysis.compare.files import COMPARE_FILES, write_compare, write_workbook
from solver.analysis.compare.report import (
    CAVEAT,
    CAVEAT_ZH,
    CHANGE_LABELS,
    CHANGES,
    DEFAULT_BAND,
    CompareReport,
    changes,
    compare,
    score_bands,
    student_envy,
)
from solver.analysis.compare.spec import (
    MAX_MECHANISMS,
    MechanismError,
    MechanismSpec,
    parse_mechanisms,
    with_mechanism,
)

__all__ = [
    "CAVEAT", "CAVEAT_ZH", "CHANGES", "CHANGE_LABELS", "COMPARE_FILES", "DEFAULT_BAND", "MAX_MECHANISMS",
    "CompareReport", "MechanismError", "MechanismSpec", "changes", "compare", "parse_mechanisms", "score_bands",
    "student_envy", "with_mechanism", "write_compare", "write_workbook",
]
