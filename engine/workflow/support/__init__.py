"""What this engine cannot run in models made with other modellers (Camunda Modeler, bpmn.io …).

These checks run beside `deploy.validate_bundle` on every draft check and deploy, so that a model
which would fail in a running complaint is refused up front, each problem with its element, line
and a hint. `validate_bundle` already refuses FEEL conditions, unsafe expressions, DTDs and entities.

`elements` (BPMN elements, other engines' extensions), `waits` (messages, signals, calls), `decisions` (DMN),
`function_names` (functions the scripts call); here, all of them over a bundle.
"""
from __future__ import annotations

from engine.workflow.model_xml import ModelProblem
from engine.workflow.support.decisions import check_dmn
from engine.workflow.support.elements import check_bpmn, check_foreign
from engine.workflow.support.function_names import called_names, unknown_functions
from engine.workflow.support.waits import SENT_BY_THE_SYSTEM, check_calls, check_messages, check_signals

__all__ = ["SENT_BY_THE_SYSTEM", "called_names", "check_trees", "unknown_functions"]


def check_trees(trees: dict) -> list[ModelProblem]:
    """Problems with what this engine cannot run, for every parsed BPMN and DMN file of a bundle (by path)."""
    problems: list[ModelProblem] = []
    for path, tree in sorted(trees.items()):
        problems += check_bpmn(path, tree) if path.endswith(".bpmn") else check_dmn(path, tree)
        problems += check_foreign(path, tree)
    bpmn = {p: t for p, t in sorted(trees.items()) if p.endswith(".bpmn")}
    problems += check_messages(bpmn)
    problems += check_signals(bpmn)
    problems += check_calls(bpmn)
    return problems
