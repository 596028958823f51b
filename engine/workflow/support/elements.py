"""BPMN elements and other engines' extensions this engine cannot run: unsupported flow nodes, Camunda and
Zeebe hooks, scripts not in Python, pre- and post-scripts the engine would not run, JUEL, unquoted timers,
repeating timers, dead ends, files with nothing executable."""
from __future__ import annotations

import re

from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.errors import ModelCode
from engine.workflow.model_xml import NS, ModelProblem, elements, owner_id

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"

#: Every BPMN flow node; those the parser has no class for cannot be run.
FLOW_NODES = (
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
    "callActivity", "subProcess", "adHocSubProcess", "transaction", "startEvent", "endEvent",
    "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway",
    "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
)
_PARSED = {etree.QName(tag).localname for tag in (*SpiffBpmnParser.PARSER_CLASSES,
                                                  *SpiffBpmnParser.OVERRIDE_PARSER_CLASSES)}
#: Parsed, but this system configures nothing for them to call, so a complaint would stop there. SpiffWorkflow
#: treats an untyped task as manual work, but no role and no form belong to it, so a complaint would stop
#: there with nobody able to complete it (docs/MODELLING.md, "Plain tasks").
_NOT_CONFIGURED = {"serviceTask": ModelCode.SERVICE_TASK, "task": ModelCode.UNTYPED_TASK}
#: Flow nodes the parser cannot run that have a hint of their own.
_NOT_RUN = {"complexGateway": ModelCode.COMPLEX_GATEWAY, "adHocSubProcess": ModelCode.AD_HOC_SUBPROCESS}
#: Camunda and Zeebe extensions that name code, forms or expressions this engine would silently ignore
#: (worded by their local name where shown).
_FOREIGN_HOOKS = {"class", "delegateExpression", "expression", "formKey", "formRef", "topic", "resultVariable",
                  "decisionRef"}
_FOREIGN_ELEMENTS = {"formData", "executionListener", "taskListener", "connector", "taskDefinition",
                     "formDefinition", "calledDecision"}
#: Other engines' extension namespaces: everything in them would be ignored here.
_FOREIGN_NAMESPACES = {
    CAMUNDA_NS: "camunda", ZEEBE_NS: "zeebe", "http://activiti.org/bpmn": "activiti",
    "http://flowable.org/bpmn": "flowable",
}
#: Foreign attributes that only tune the other engine (history, jobs, tasklist), or say who works a task,
#: which a role lane decides here: ignoring them changes nothing a complaint does.
_HARMLESS_FOREIGN_ATTRIBUTES = {
    "versionTag", "historyTimeToLive", "isStartableInTasklist", "asyncBefore", "asyncAfter", "exclusive",
    "jobPriority", "taskPriority", "candidateStarterGroups", "candidateStarterUsers", "modelerTemplate",
    "modelerTemplateVersion", "modelerTemplateIcon", "assignee", "candidateGroups", "candidateUsers",
}
#: The flow nodes SpiffWorkflow runs a spiffworkflow:preScript / postScript on (its task parsers); on a script
#: task, an event or a gateway it parses the extension and silently never runs it.
_RUNS_PRE_POST_SCRIPTS = {"task", "userTask", "manualTask", "businessRuleTask", "callActivity", "subProcess",
                          "transaction", "sendTask", "receiveTask", "serviceTask"}
_ISO_TIME = re.compile(r"^(R\d*/)?(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
                       r"|\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)$")
_JUEL = re.compile(r"^[$#]\{.*\}$", re.S)


def check_foreign(path: str, tree) -> list[ModelProblem]:
    """Other engines' extensions (camunda:inputOutput, camunda:collection …): this engine would ignore them."""
    problems = []
    for node, tag in elements(tree):
        prefix = _FOREIGN_NAMESPACES.get(tag.namespace)
        # camunda/zeebe elements and hooks `check_bpmn` names more precisely are left to it
        described = tag.namespace in (CAMUNDA_NS, ZEEBE_NS) and tag.localname in _FOREIGN_ELEMENTS
        if prefix and not described and not _inside_foreign(node):
            problems.append(ModelProblem(path, node.sourceline, owner_id(node), ModelCode.FOREIGN_EXTENSION,
                                         {"prefix": prefix, "name": tag.localname}))
        for name in node.attrib:
            qname = etree.QName(name)
            prefix = _FOREIGN_NAMESPACES.get(qname.namespace)
            described = qname.namespace in (CAMUNDA_NS, ZEEBE_NS) and qname.localname in _FOREIGN_HOOKS
            if prefix and not described and qname.localname not in _HARMLESS_FOREIGN_ATTRIBUTES:
                problems.append(ModelProblem(path, node.sourceline, owner_id(node), ModelCode.FOREIGN_ATTRIBUTE,
                                             {"prefix": prefix, "name": qname.localname}))
    return problems


def _inside_foreign(node) -> bool:
    parent = node.getparent()
    return parent is not None and etree.QName(parent).namespace in _FOREIGN_NAMESPACES


def check_bpmn(path: str, tree) -> list[ModelProblem]:
    problems = []
    for node, tag in elements(tree):
        if tag.namespace == NS["bpmn"] and tag.localname in FLOW_NODES:
            if tag.localname not in _PARSED or tag.localname in _NOT_CONFIGURED:
                code = _NOT_CONFIGURED.get(tag.localname) or _NOT_RUN.get(tag.localname, ModelCode.ELEMENT_NOT_RUN)
                problems.append(ModelProblem(path, node.sourceline, node.get("id"), code, {"kind": tag.localname}))
        if tag.namespace in (CAMUNDA_NS, ZEEBE_NS) and tag.localname in _FOREIGN_ELEMENTS:
            problems.append(_foreign(path, node, tag.localname))
        for name in node.attrib:
            qname = etree.QName(name)
            if qname.namespace in (CAMUNDA_NS, ZEEBE_NS) and qname.localname in _FOREIGN_HOOKS:
                problems.append(_foreign(path, node, qname.localname))
        if tag.namespace == NS["bpmn"] and tag.localname == "scriptTask":
            script_format = (node.get("scriptFormat") or "python").lower()
            if script_format not in ("python", "text/x-python", "py"):
                problems.append(ModelProblem(path, node.sourceline, node.get("id"), ModelCode.SCRIPT_FORMAT,
                                             {"format": script_format}))
    for tag in ("conditionExpression", "timeDuration", "timeDate", "timeCycle"):
        for node in tree.iter(f"{{{NS['bpmn']}}}{tag}"):
            problems += _check_expression_text(path, node, tag)
    for node in tree.iter(f"{{{NS['bpmn']}}}timeCycle"):
        problems.append(ModelProblem(path, node.sourceline, owner_id(node), ModelCode.TIME_CYCLE))
    problems += _check_ignored_scripts(path, tree)
    problems += _check_dead_ends(path, tree)
    problems += _check_processes(path, tree)
    return problems


def _check_ignored_scripts(path: str, tree) -> list[ModelProblem]:
    """preScript / postScript on an element SpiffWorkflow never runs them on (script tasks, events, gateways)."""
    problems = []
    for tag in ("preScript", "postScript"):
        for script in tree.iter(f"{{{NS['spiffworkflow']}}}{tag}"):
            extensions = script.getparent()
            node = extensions.getparent() if extensions is not None else None
            if node is None or etree.QName(node).namespace != NS["bpmn"]:
                continue
            kind = etree.QName(node).localname
            if kind in FLOW_NODES and kind not in _RUNS_PRE_POST_SCRIPTS:
                problems.append(ModelProblem(path, script.sourceline, node.get("id"), ModelCode.SCRIPT_IGNORED,
                                             {"script": tag, "kind": kind}))
    return problems


#: Flow nodes the engine leaves through a sequence flow: without one, the complaint stops there for ever.
_NEEDS_OUTGOING = {
    "userTask", "manualTask", "scriptTask", "businessRuleTask", "callActivity", "subProcess", "sendTask",
    "receiveTask", "startEvent", "intermediateCatchEvent", "intermediateThrowEvent", "exclusiveGateway",
    "inclusiveGateway", "parallelGateway", "eventBasedGateway", "task",
}


def _check_dead_ends(path: str, tree) -> list[ModelProblem]:
    problems = []
    for container in (*tree.iterfind("bpmn:process", NS), *tree.iter(f"{{{NS['bpmn']}}}subProcess")):
        sources = {f.get("sourceRef") for f in container.iterfind("bpmn:sequenceFlow", NS)}
        for node in container:
            if not isinstance(node.tag, str):
                continue
            kind = etree.QName(node).localname
            if kind not in _NEEDS_OUTGOING or node.get("id") in sources:
                continue
            if kind == "startEvent" and node.get("isInterrupting") is not None:
                continue  # an event subprocess's start event is left through its subprocess
            problems.append(ModelProblem(path, node.sourceline, node.get("id"), ModelCode.DEAD_END,
                                         {"kind": kind, "name": node.get("name") or node.get("id")}))
    return problems


def _check_processes(path: str, tree) -> list[ModelProblem]:
    """Processes marked not executable cannot run; name each one when the file has nothing else to run."""
    processes = list(tree.iterfind("bpmn:process", NS))
    if any(p.get("isExecutable", "true") == "true" for p in processes):
        return []
    return [ModelProblem(path, p.sourceline, p.get("id"), ModelCode.PROCESS_NOT_EXECUTABLE,
                         {"process": p.get("name") or p.get("id")})
            for p in processes]


def _foreign(path: str, node, feature: str) -> ModelProblem:
    return ModelProblem(path, node.sourceline, owner_id(node), ModelCode.FOREIGN_FEATURE, {"feature": feature})


def _check_expression_text(path: str, node, tag: str) -> list[ModelProblem]:
    source = " ".join((node.text or "").split())
    if _JUEL.match(source):
        return [ModelProblem(path, node.sourceline, owner_id(node), ModelCode.JUEL_EXPRESSION, {"source": source})]
    if tag != "conditionExpression" and _ISO_TIME.match(source):
        return [ModelProblem(path, node.sourceline, owner_id(node), ModelCode.TIMER_NOT_QUOTED, {"source": source})]
    return []
