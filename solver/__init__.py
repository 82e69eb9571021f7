"""Sequential engine, CP-SAT model (one module per rule), checker, audit, what-if, planning, figures."""
