"""The callbacks long work reports through, one definition each (the CLI draws a bar from them, the
service stores them as a run's progress field)."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]
"""(what is being done, steps done, steps in all): a batch's rounds, a sweep's steps."""

Phase = Callable[[str], None]
"""The name of the phase that begins (loading, building the model, solving, proving ...)."""

Log = Callable[[str], None]
"""A line of a solver's own log (CP-SAT's search progress)."""
