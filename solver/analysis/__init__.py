"""The planners' questions, each built on the engines: what-if (a changed scenario against the baseline),
the ratio sweep, the max-flow bound, quota planning, and why one student got his outcome (trace)."""
