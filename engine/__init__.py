"""The engine: runs complaint lifecycles on SpiffWorkflow and persists them. Knows nothing about HTTP.

The kernel every group uses sits at this level: `config` (the only reader of the environment), `clock` (the one
clock), `db` (engine, sessions, unit of work), `errors`, `models` (tables; `migrations/` changes them), `audit` (the
append-only trail) and `bootstrap` (bringing a system up). The groups: `workflow/` runs BPMN, `modelling/` is what
process owners do, `complaints/` is the desk, `people/` is who may act.
"""
