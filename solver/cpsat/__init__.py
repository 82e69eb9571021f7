"""The CP-SAT model of the admission rules (one module per rule) and its solve and uniqueness proof."""

from solver.cpsat.instance import Instance, build_instance
from solver.cpsat.model import AdmissionModel, SolveReport

__all__ = ["AdmissionModel", "Instance", "SolveReport", "build_instance"]
