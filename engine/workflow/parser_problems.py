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
    code, params = _tripped(err)
    return ModelProblem(path, node.sourceline if node is not None else None,
                        owner_id(node) if node is not None else process_id, code, params)


def problem_from_spiff(err: ValidationException, trees: dict[str, etree._Element]) -> ModelProblem:
    """A located problem for SpiffWorkflow's parser's refusal, its kind decided by the exception's attributes and
    cause or by the exact text the raising site uses (`_kind`); its words kept as `detail`, never the sentence."""
    line = int(err.line_number) if str(err.line_number or "").isdigit() else None
    element_id = err.id or None
    tree = trees.get(err.file_name)
    if element_id is None and line and tree is not None:
        element_id = _element_id_at_line(tree, line)
    if line is None and element_id and tree is not None:
        node = tree.find(f".//*[@id='{element_id}']")
        line = node.sourceline if node is not None else None
    code, params = _kind(err, trees)
    if code == ModelCode.SPIFF_SCHEMA:
        params["line"] = line or "?"
    # SpiffWorkflow appends the place on further lines: its words on one line
    detail = " ".join(str(err.args[0] if err.args else err).split())
    return ModelProblem(err.file_name or next(iter(trees), "(bundle)"), line, element_id, code,
                        {**params, "detail": detail})


#: SpiffWorkflow 3.2.0's refusals whose text is a constant (`raise ValidationException("…")` in
#: bpmn/parser/ProcessParser.py, task_parsers.py, event_parsers.py, spiff/parser/task_spec.py,
#: dmn/parser/DMNParser.py), compared whole: a new SpiffWorkflow that words one differently falls back to
#: SPIFF_REFUSED (still located, still translated); tests/modelling/test_parser_problems.py raises most of them.
_CONSTANT_TEXTS: dict[str, tuple[ModelCode, dict[str, str]]] = {
    "Multiple outgoing flows are not supported for tasks of type": (ModelCode.SPIFF_MULTIPLE_OUTGOING, {}),
    "No start event found": (ModelCode.SPIFF_NO_START_EVENT, {}),
    "There is no support implemented for this task type.": (ModelCode.SPIFF_TASK_TYPE, {}),
    "Non-default exclusive outgoing sequence flow without condition": (ModelCode.SPIFF_FLOW_NO_CONDITION, {}),
    "Conditional event definition with missing condition": (ModelCode.SPIFF_CONDITION_MISSING, {}),
    "Unknown Time Specification": (ModelCode.SPIFF_TIMER_INVALID, {}),
    'No "calledElement" attribute for Call Activity.': (ModelCode.CALL_NAMES_NO_PROCESS, {}),
    "A Service Task must have an operator": (ModelCode.SERVICE_TASK, {"kind": "serviceTask"}),
    "No decisions found": (ModelCode.DMN_NO_DECISION, {}),
    "Multiple decision tables are not current supported.": (ModelCode.DMN_EXTRA_DECISION, {}),
}


def _kind(err: ValidationException, trees: dict[str, etree._Element]) -> tuple[ModelCode, dict]:
    """The code and params of a parser refusal (SpiffWorkflow 3.2.0's raise sites, bpmn/parser/*)."""
    message = str(err.args[0]) if err.args else ""
    cause = err.__cause__ or err.__context__
    tag = getattr(err, "tag", "") or ""
    if isinstance(cause, etree.LxmlError):  # BpmnParser.validate: the XML Schema's refusal, at its line
        return ModelCode.SPIFF_SCHEMA, {}
    if cause is not None and message == repr(cause):  # TaskParser.parse_node wraps what it tripped on
        return _tripped(cause)
    if cause is not None and message == f"Time Specification Error. {cause}":  # event_parsers: a bad timer
        return ModelCode.SPIFF_TIMER_INVALID, {}
    if cause is not None and message == f"Invalid Script Task.  No Script Provided. {cause}":  # task_parsers
        return ModelCode.EXPRESSION_EMPTY, {"what": "script"}
    if err.id and message == f"Duplicate process ID: {err.id}":  # BpmnParser.create_parser
        return ModelCode.SPIFF_DUPLICATE_PROCESS, {"process": err.id}
    if err.id and message == f"Process {err.id} is not executable.":  # ProcessParser.get_spec
        return ModelCode.PROCESS_NOT_EXECUTABLE, {"process": err.id}
    code, fixed = _CONSTANT_TEXTS.get(message, (ModelCode.SPIFF_REFUSED, {}))
    params: dict = {"tag": tag, **fixed}
    if code == ModelCode.SPIFF_NO_START_EVENT:
        params["process"] = err.id or "?"
    elif code == ModelCode.CALL_NAMES_NO_PROCESS:
        params["processes"] = ", ".join(sorted(p.get("id") for t in trees.values()
                                               for p in t.iterfind("bpmn:process", NS) if p.get("id"))) or "-"
    return code, params


def _tripped(cause: BaseException) -> tuple[ModelCode, dict]:
    """What the parser tripped on, by the exception's type: a missing key or item is an absent reference."""
    if isinstance(cause, KeyError):
        return ModelCode.MISSING_REFERENCE, {"name": str(cause.args[0]) if cause.args else "?"}
    if isinstance(cause, IndexError):
        return ModelCode.MISSING_ELEMENT, {}
    return ModelCode.UNREADABLE_ELEMENT, {}


def _element_id_at_line(tree: etree._Element, line: int) -> str | None:
    best = None
    for node in tree.iter():
        if not isinstance(node.tag, str) or node.sourceline is None or node.sourceline > line:
            continue
        if node.get("id"):
            best = node.get("id")
    return best
