"""What this engine cannot run in models made with other modellers (Camunda Modeler, bpmn.io …).

These checks run beside `deploy.validate_bundle` on every draft check and deploy, so that a model
which would fail in a running complaint is refused up front, each problem with its element, line
and a hint. `validate_bundle` already refuses FEEL conditions, unsafe expressions, DTDs and entities.
"""
from __future__ import annotations

import re

from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.workflow.model_xml import NS, ModelProblem, owner_id

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
DMN13_NS = NS["dmn"]

#: Every BPMN flow node; those the parser has no class for cannot be run.
FLOW_NODES = (
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
    "callActivity", "subProcess", "adHocSubProcess", "transaction", "startEvent", "endEvent",
    "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway",
    "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
)
_PARSED = {etree.QName(tag).localname for tag in (*SpiffBpmnParser.PARSER_CLASSES,
                                                  *SpiffBpmnParser.OVERRIDE_PARSER_CLASSES)}
#: Parsed, but this system configures nothing for them to call, so a complaint would stop there.
_NOT_CONFIGURED = {"serviceTask": "service tasks call external services, which this system does not configure"}
_HINTS = {
    "complexGateway": "use an exclusive or inclusive gateway with a condition on each outgoing flow",
    "serviceTask": "use a script task (Python) or a user task",
    "adHocSubProcess": "model the tasks with a parallel or inclusive gateway",
}
#: Camunda and Zeebe extensions that name code, forms or expressions this engine would silently ignore.
_FOREIGN_HOOKS = {
    "class": "a Java class", "delegateExpression": "a Java delegate", "expression": "a JUEL expression",
    "formKey": "a Camunda form", "formRef": "a Camunda form", "topic": "an external task topic",
    "resultVariable": "a Camunda result variable", "decisionRef": "a Camunda decision reference",
}
_FOREIGN_ELEMENTS = {
    "formData": "a Camunda form", "executionListener": "a Camunda execution listener",
    "taskListener": "a Camunda task listener", "connector": "a Camunda connector",
    "taskDefinition": "a Zeebe job worker", "formDefinition": "a Zeebe form", "calledDecision": "a Zeebe decision",
}
_ISO_TIME = re.compile(r"^(R\d*/)?(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
                       r"|\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)$")
_JUEL = re.compile(r"^[$#]\{.*\}$", re.S)


def check_trees(trees: dict) -> list[ModelProblem]:
    """Problems with what this engine cannot run, for every parsed BPMN and DMN file of a bundle (by path)."""
    problems: list[ModelProblem] = []
    for path, tree in sorted(trees.items()):
        problems += _check_bpmn(path, tree) if path.endswith(".bpmn") else _check_dmn(path, tree)
    return problems


def _check_bpmn(path: str, tree) -> list[ModelProblem]:
    problems = []
    for node in tree.iter():
        if not isinstance(node.tag, str):
            continue
        tag = etree.QName(node)
        if tag.namespace == NS["bpmn"] and tag.localname in FLOW_NODES:
            if tag.localname not in _PARSED or tag.localname in _NOT_CONFIGURED:
                reason = _NOT_CONFIGURED.get(tag.localname, "this engine cannot run it")
                problems.append(ModelProblem(path, node.sourceline, node.get("id"),
                                             f"{tag.localname} is not supported: {reason}",
                                             _HINTS.get(tag.localname, "remove it or model it with supported "
                                                                       "elements")))
        if tag.namespace in (CAMUNDA_NS, ZEEBE_NS) and tag.localname in _FOREIGN_ELEMENTS:
            problems.append(_foreign(path, node, _FOREIGN_ELEMENTS[tag.localname]))
        for name in node.attrib:
            qname = etree.QName(name)
            if qname.namespace in (CAMUNDA_NS, ZEEBE_NS) and qname.localname in _FOREIGN_HOOKS:
                problems.append(_foreign(path, node, _FOREIGN_HOOKS[qname.localname]))
        if tag.namespace == NS["bpmn"] and tag.localname == "scriptTask":
            script_format = (node.get("scriptFormat") or "python").lower()
            if script_format not in ("python", "text/x-python", "py"):
                problems.append(ModelProblem(path, node.sourceline, node.get("id"),
                                             f"scripts in {script_format!r} cannot run here",
                                             "write the script in Python (scriptFormat=\"python\")"))
    for tag in ("conditionExpression", "timeDuration", "timeDate", "timeCycle"):
        for node in tree.iter(f"{{{NS['bpmn']}}}{tag}"):
            problems += _check_expression_text(path, node, tag)
    return problems


def _foreign(path: str, node, what: str) -> ModelProblem:
    return ModelProblem(path, node.sourceline, owner_id(node), f"uses {what}, which this engine does not run",
                        "remove it; forms are JSON Schema files (formJsonSchemaFilename), code is a Python "
                        "script task, decisions are business rule tasks with calledDecisionId")


def _check_expression_text(path: str, node, tag: str) -> list[ModelProblem]:
    source = " ".join((node.text or "").split())
    if _JUEL.match(source):
        return [ModelProblem(path, node.sourceline, owner_id(node), f"{source} is a JUEL expression",
                             "write a Python expression, e.g. `approved == True`")]
    if tag != "conditionExpression" and _ISO_TIME.match(source):
        return [ModelProblem(path, node.sourceline, owner_id(node),
                             f"timer {source} is not quoted: it would be read as a variable name",
                             f'write it as a Python string: "{source}" (or name a variable holding it)')]
    return []


# --- DMN ------------------------------------------------------------------------------------------

_TOP_LEVEL_COMMA = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)(?![^\[(]*[\])])')
_RANGE = re.compile(r"^[\[\]()]\s*(.+?)\s*\.\.\s*(.+?)\s*[\[\])]$")


def _check_dmn(path: str, tree) -> list[ModelProblem]:
    namespace = etree.QName(tree).namespace
    if namespace != DMN13_NS:
        return [ModelProblem(path, tree.sourceline, tree.get("id"), f"DMN namespace {namespace!r} is not DMN 1.3",
                             "save the file as DMN 1.3 (Camunda Modeler 5 and dmn-js do)")]
    problems = []
    for entry in tree.iterfind(".//dmn:rule/dmn:inputEntry", NS):
        text = " ".join((entry.findtext("dmn:text", "", NS)).split())
        hint = _feel_entry_hint(text)
        if hint:
            problems.append(ModelProblem(path, entry.sourceline, entry.get("id") or owner_id(entry),
                                         f"input entry {text} is FEEL, which this engine does not evaluate", hint))
    return problems


def _feel_entry_hint(text: str) -> str | None:
    """A hint for FEEL unary tests that would silently never match as Python (lists, ranges, not())."""
    if not text or text == "-":
        return None
    if text.startswith("not(") and text.endswith(")"):
        return f"write `? != {text[4:-1]}` or `? not in ({text[4:-1]},)`"
    found = _RANGE.match(text)
    if found:
        return f"write `{found.group(1)} <= ? <= {found.group(2)}` (? is the input value)"
    if _TOP_LEVEL_COMMA.search(text):
        return f"write `? in ({text})` (? is the input value)"
    return None
