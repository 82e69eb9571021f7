"""The verification methods by name (no heavy imports: the CLI's options and the service's schema read it
without loading OR-Tools)."""

from __future__ import annotations

from typing import Literal, get_args

Method = Literal["batches", "whole"]
"""batches: one CP-SAT model per batch, each given the model's own solution of the earlier batches (the
default; `solver.cpsat.batches`); whole: the whole model at once."""
METHODS: tuple[Method, ...] = get_args(Method)
