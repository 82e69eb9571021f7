"""What-if (issue #6.1): change a few figures of a plan, run the rules again, and show both side by side.

A change is ``KEY=VALUE``:

==============================  ============================================================  =====
key                             what it changes                                               rule
==============================  ============================================================  =====
``quota.SCHOOL``                the school's quota (招生计划)                                  R7
``subquota.SCHOOL.REGION``      the region's sub-quota at the school (``none`` removes it)     R8
``general_seats.REGION``        the region's general high school seats (the region then uses   R4
                                seats, its cutoff is dropped)
``general_cutoff.REGION``       the region's general high school cutoff (its seats dropped)    R4
``registered.SCHOOL``           the school is in the catalogue or not (``true`` / ``false``)   R2
``decline_rate``                share of students who decline an offer in some batch (seeded)  R9
==============================  ============================================================  =====

A value is absolute (``520``, ``0.03``, ``3%`` for a rate) or relative to the current one: ``+10%``,
``-15%`` (a percentage of it) or ``+20`` / ``-20`` (added).  Counts are rounded half up.  Schools and
regions are named by id or by their (unique) name, as in the scenario's cells.

The changed scenario is written back to text tables and goes through the same validation as any input
(`models.validate.build_scenario`), so a change that makes it invalid (sub-quotas above the quota, R8)
is reported like bad input, with the key that caused it (`ChangeError`, a `ScenarioError`).

The package is split along the jobs: `changes` parses them, `apply` applies them, `validation` rebuilds
the changed scenario through the validation of input, `compare` runs and compares both sides, `files`
writes them; `sets` runs several variants against one baseline as Dask tasks (issue #16.3).

``whatif(sc, changes)`` runs the baseline and the variant with the sequential engine and compares them:
per region (general, vocational, unplaced, 普职比, enrollment rate), per school (quota, confirmed,
vacancies, fill) and per school and batch (confirmed, vacancies after the batch, the lowest admitted
score), and the students whose outcome changed.  ``write_whatif(report, out_dir)`` writes
``baseline/`` and ``variant/`` (every result file of docs/formats.md), ``changes.csv``, the comparison
tables, ``whatif.xlsx`` and ``summary.json``.
"""

from solver.analysis.whatif.apply import AppliedChange, apply_changes, decline_rate
from solver.analysis.whatif.changes import KINDS, SOURCE, BadChange, Change, ChangeError, Changes, parse_changes
from solver.analysis.whatif.compare import (
    COMPARED,
    WhatIfReport,
    changed_students,
    compare_regions,
    compare_schools,
    compare_schools_by_batch,
    whatif,
)
from solver.analysis.whatif.files import (
    KIND_LABELS,
    PERCENT_COLUMNS,
    WHATIF_FILES,
    XLSX_ROWS,
    write_whatif,
    write_workbook,
)
from solver.analysis.whatif.sets import (
    VARIANTS_FILE,
    VariantError,
    WhatIfSet,
    parse_variant,
    read_variants,
    whatif_set,
    write_whatif_set,
)
from solver.analysis.whatif.validation import DEFINITION_TABLES, rebuild, students_text

__all__ = [
    "COMPARED", "DEFINITION_TABLES", "KINDS", "KIND_LABELS", "PERCENT_COLUMNS", "SOURCE", "VARIANTS_FILE",
    "WHATIF_FILES", "XLSX_ROWS", "AppliedChange", "BadChange", "Change", "ChangeError", "Changes", "VariantError",
    "WhatIfReport", "WhatIfSet", "apply_changes", "changed_students", "compare_regions", "compare_schools",
    "compare_schools_by_batch", "decline_rate", "parse_changes", "parse_variant", "read_variants", "rebuild",
    "students_text", "whatif", "whatif_set", "write_whatif", "write_whatif_set", "write_workbook",
]
