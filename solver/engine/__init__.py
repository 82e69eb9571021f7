"""The sequential engine: the rules R1–R12 as written (docs/rules.md), vectorized — batches (R5), rounds
of choices (R3, R6), each school taking its applicants in the order of the tie-break chain under its
quota and sub-quotas (R7, R8), declines (R9) — and the figures of its result (schools, regions)."""
