"""The contract of a CP-SAT rule module (one per rule id, ``solver/cpsat/rNN_slug.py``; docs/rules.md).

A rule module states its rule as constraints over the variables of `AdmissionVars`: every variable and
every index structure it reads is made up front by `AdmissionVars.create`, and ``build`` only adds
constraints (to ``v.b``, the vectorized builder, or to ``model``).  It writes nothing onto ``v`` and reads
nothing another module wrote, so the modules can be read, tested, left out (tests/cpsat_helpers.py
``model_without``) and built in any order: `solver.cpsat.model.RULE_MODULES` in another order gives the
same constraints (tests/cpsat/test_rule_modules.py).
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from ortools.sat.python import cp_model

from solver.cpsat.instance import Instance
from solver.cpsat.variables import AdmissionVars


@runtime_checkable
class RuleModule(Protocol):
    """One rule of docs/rules.md as constraints of the model."""

    rule: ClassVar[str]
    """The rule's id in docs/rules.md ("R5"); the module's file is named after it (r05_batches.py)."""

    def build(self, inst: Instance, model: cp_model.CpModel, v: AdmissionVars) -> None:
        """Add the rule's constraints over ``v``'s variables to the model (or raise `ValueError` when the
        scenario cannot be stated under the rule)."""
        ...
