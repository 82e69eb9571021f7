"""The ``zhaosheng`` command: every command is registered here, each written in the module of its job
(`running`, `auditing`, `analysis`, `planning`, `comparing`, `tracing`, `serving`), all sharing `api.cli.common`.

Thin: a command parses its arguments, shows progress, and calls `scenarios`, `models` and `solver`.
Exit codes: 0 done, 1 failed (or not verified), 2 bad input or usage (errors listed and written to
errors.csv)."""

from __future__ import annotations

import os
import sys

import click

from api.cli import analysis, auditing, comparing, planning, running, serving, tracing
from api.cli.common import Teardown


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zhaosheng")
def cli() -> None:
    """Plan and check secondary vocational (中职/技工) admissions under the rules R1–R12."""


for command in (running.run, running.verify, auditing.audit, running.validate, running.generate, running.export,
                running.list_scenarios, serving.serve, serving.worker, analysis.whatif_command, analysis.sweep_command,
                analysis.bound_command, planning.plan_quotas, comparing.compare_command, tracing.trace,
                analysis.montecarlo_command):
    cli.add_command(command)


def main() -> None:
    try:
        cli(prog_name="zhaosheng")
    except SystemExit as stop:
        if not (Teardown.skippable and (stop.code is None or isinstance(stop.code, int))):
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(stop.code or 0)
