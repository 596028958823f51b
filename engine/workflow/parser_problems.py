"""Problems located in the model (file, element, line) from what SpiffWorkflow's parser raises: its own
refusals, and the exceptions it trips on without saying where."""
from __future__ import annotations

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.errors import ModelCode
from engine.workflow.model_xml import NS, ModelProblem, owner_id


def parse_dmn(parser: SpiffBpmnParser, path: str, tree: etree._Element) -> list[ModelProblem]:
    """Add a DMN file to the parser and parse its decision now, so that what the parser trips on is blamed
    on the DMN file and its element, not on the business rule task that would load it later."""
    try:
        parser.add_dmn_xml(tree, filename=path)
        decision = tree.find("dmn:decision", NS)
        if decision is not None:
            parser.dmn_parsers[decision.get("id")].parse()
    except ValidationException as err:
        err.file_name = err.file_name or path
        return [problem_from_spiff(err, {path: tree})]
    except Exception as err:  # noqa: BLE001 - a malformed table: located, never a raw exception text
        return [problem_from_error(err, {path: tree}, [path], None)]
    return []


def problem_from_error(err: Exception, trees: dict, files: list[str], process_id: str | None) -> ModelProblem:
    """A located problem for an exception the parser raised without a place (IndexError, KeyError …)."""
    path = files[0] if files else "(bundle)"
    node = None
    frame = err.__traceback__
    while frame is not None:  # the innermost lxml element the parser was looking at, if any
        for value in frame.tb_frame.f_locals.values():
            if isinstance(value, etree._Element) and value.getroottree().getroot() in trees.values():
                node = value
        frame = frame.tb_next
    if node is not None:
        path = next(p for p, t in trees.items() if t is node.getroottree().getroot())
    if node is None and process_id and path in trees:
        node = next((p for p in trees[path].iterfind("bpmn:process", NS) if p.get("id") == process_id), None)
    code, params = ModelCode.UNREADABLE_ELEMENT, {}
    if isinstance(err, KeyError):
        code, params = ModelCode.MISSING_REFERENCE, {"name": str(err.args[0]) if err.args else "?"}
    elif isinstance(err, IndexError):
        code = ModelCode.MISSING_ELEMENT
    return ModelProblem(path, node.sourceline if node is not None else None,
                        owner_id(node) if node is not None else process_id, code, params)


def problem_from_spiff(err: ValidationException, trees: dict[str, etree._Element]) -> ModelProblem:
    line = int(err.line_number) if str(err.line_number or "").isdigit() else None
    element_id = err.id or None
    tree = trees.get(err.file_name)
    if element_id is None and line and tree is not None:
        element_id = _element_id_at_line(tree, line)
    if line is None and element_id and tree is not None:
        node = tree.find(f".//*[@id='{element_id}']")
        line = node.sourceline if node is not None else None
    # SpiffWorkflow appends the place on further lines: keep the whole message, on one line
    message = " ".join(str(err.args[0] if err.args else err).split())
    if message.endswith(" of type") and getattr(err, "tag", None):  # SpiffWorkflow leaves the type out
        message = f"{message} {err.tag}"
    code = next((c for start, c in _SPIFF_CODES.items() if message.startswith(start)), ModelCode.SPIFF_REFUSED)
    return ModelProblem(err.file_name or next(iter(trees), "(bundle)"), line, element_id, code,
                        {"detail": message})


#: SpiffWorkflow's own refusals that have a hint, by the start of its message (kept as `detail`).
_SPIFF_CODES = {
    "Multiple outgoing flows are not supported": ModelCode.SPIFF_MULTIPLE_OUTGOING,
    "Element '{": ModelCode.SPIFF_SCHEMA,
}


def _element_id_at_line(tree: etree._Element, line: int) -> str | None:
    best = None
    for node in tree.iter():
        if not isinstance(node.tag, str) or node.sourceline is None or node.sourceline > line:
            continue
        if node.get("id"):
            best = node.get("id")
    return best
