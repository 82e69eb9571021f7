"""Memory of a long job: the process's peak (reported in every summary.json), an optional cap on its address
space (``--memory-limit``), and the message a job that ran out of memory ends with (issue #14.5)."""

from __future__ import annotations

import resource
import sys

GIB = 1024 ** 3


def peak_memory_mib(children: bool = True) -> float:
    """The peak resident memory of this process so far, or of the largest of its finished child processes
    (a sweep's workers) if that is higher (``children=False``: of this process only), in MiB."""
    peak = max(resource.getrusage(who).ru_maxrss  # KiB on Linux, bytes on macOS
               for who in ((resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) if children else (resource.RUSAGE_SELF,)))
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def limit_memory(gib: float) -> None:
    """Cap this process's address space at ``gib`` GiB: past it an allocation fails (`MemoryError`) and the
    job ends with `out_of_memory` instead of taking the machine's memory from everyone else."""
    limit_address_space(int(gib * GIB))


def limit_address_space(limit: int) -> None:
    """The same cap in bytes (never above a hard limit already in force)."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def ran_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is memory running out: a `MemoryError` (OR-Tools' ``std::bad_alloc`` arrives as one),
    or a thread that could not be started for want of address space."""
    return isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and "can't start new thread" in str(exc))


def memory_limit_gib() -> float | None:
    """The address-space cap in force (GiB), None when there is none."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else round(soft / GIB, 2)


def out_of_memory(phase: str, exc: BaseException) -> str:
    """What ran out, where, and what to try: the reason a failed summary and the terminal give."""
    limit = memory_limit_gib()
    cap = f" under a limit of {limit:g} GiB" if limit is not None else ""
    detail = str(exc).strip()
    return (f"out of memory while {phase or 'starting'} (peak {peak_memory_mib():,.0f} MiB{cap}"
            + (f"; {detail}" if detail else "") + "). Try: verifying batch by batch (--method batches, the "
            "default: the whole model needs about three times the memory); the sequential engine alone (run "
            "--engine sequential), which needs a fraction of it; more memory (a larger machine, or a higher "
            "--memory-limit); or fewer students per scenario (one city at a time).")
