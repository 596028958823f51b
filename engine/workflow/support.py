"""What this engine cannot run in models made with other modellers (Camunda Modeler, bpmn.io …).

These checks run beside `deploy.validate_bundle` on every draft check and deploy, so that a model
which would fail in a running complaint is refused up front, each problem with its element, line
and a hint. `validate_bundle` already refuses FEEL conditions, unsafe expressions, DTDs and entities.
"""
from __future__ import annotations

import ast
import re

from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.workflow.functions import MODEL_FUNCTIONS
from engine.workflow.model_xml import NS, ModelProblem, owner_id
from engine.workflow.sandbox import callable_names

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
_NOT_CONFIGURED = {
    "serviceTask": "service tasks call external services, which this system does not configure",
    # SpiffWorkflow treats an untyped task as manual work, but no role and no form belong to it, so a
    # complaint would stop there with nobody able to complete it (docs/MODELLING.md, "Plain tasks").
    "task": "a task without a type is nobody's work here: the complaint would stop at it",
}
_HINTS = {
    "task": "make it a user task in a role lane (people do it) or a script task (the engine does it)",
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
#: Messages something outside the model sends into a running complaint (the customer's survey answer,
#: `engine.complaints.customer_link.SURVEY_MESSAGE`). Any other message must be thrown inside the bundle.
SENT_BY_THE_SYSTEM = frozenset({"customer_survey"})
_SCRIPT_CALLABLE = callable_names("script") | set(MODEL_FUNCTIONS)
_EXPRESSION_CALLABLE = callable_names("expression") | set(MODEL_FUNCTIONS)
_ISO_TIME = re.compile(r"^(R\d*/)?(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
                       r"|\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)$")
_JUEL = re.compile(r"^[$#]\{.*\}$", re.S)


def check_trees(trees: dict) -> list[ModelProblem]:
    """Problems with what this engine cannot run, for every parsed BPMN and DMN file of a bundle (by path)."""
    problems: list[ModelProblem] = []
    for path, tree in sorted(trees.items()):
        problems += _check_bpmn(path, tree) if path.endswith(".bpmn") else _check_dmn(path, tree)
        problems += _check_foreign(path, tree)
    bpmn = {p: t for p, t in sorted(trees.items()) if p.endswith(".bpmn")}
    problems += _check_messages(bpmn)
    problems += _check_signals(bpmn)
    problems += _check_calls(bpmn)
    return problems


def _check_foreign(path: str, tree) -> list[ModelProblem]:
    """Other engines' extensions (camunda:inputOutput, camunda:collection …): this engine would ignore them."""
    problems = []
    for node in tree.iter():
        if not isinstance(node.tag, str):
            continue
        tag = etree.QName(node)
        prefix = _FOREIGN_NAMESPACES.get(tag.namespace)
        # camunda/zeebe elements and hooks `_check_bpmn` names more precisely are left to it
        described = tag.namespace in (CAMUNDA_NS, ZEEBE_NS) and tag.localname in _FOREIGN_ELEMENTS
        if prefix and not described and not _inside_foreign(node):
            problems.append(ModelProblem(
                path, node.sourceline, owner_id(node),
                f"{prefix}:{tag.localname} is another engine's extension, which this engine would ignore",
                "remove it: data goes in task data (scripts or forms), multi-instance reads spiffworkflow's "
                "loopDataInputRef/inputDataItem, forms are JSON Schema files"))
        for name in node.attrib:
            qname = etree.QName(name)
            prefix = _FOREIGN_NAMESPACES.get(qname.namespace)
            described = qname.namespace in (CAMUNDA_NS, ZEEBE_NS) and qname.localname in _FOREIGN_HOOKS
            if prefix and not described and qname.localname not in _HARMLESS_FOREIGN_ATTRIBUTES:
                problems.append(ModelProblem(
                    path, node.sourceline, owner_id(node),
                    f"{prefix}:{qname.localname} is another engine's setting, which this engine would ignore",
                    "remove the attribute; this engine reads BPMN and spiffworkflow extensions only: code is a "
                    "Python script task, a multi-instance collection is a bpmn:loopDataInputRef, results go to "
                    "task data"))
    return problems


def _inside_foreign(node) -> bool:
    parent = node.getparent()
    return parent is not None and etree.QName(parent).namespace in _FOREIGN_NAMESPACES


def _message_names(tree) -> dict[str, str]:
    return {m.get("id"): m.get("name") or m.get("id") for m in tree.iterfind("bpmn:message", NS)}


def _check_messages(trees: dict) -> list[ModelProblem]:
    """Message catch events wait for ever unless the bundle throws the message or the system sends it."""
    thrown: set[str] = set(SENT_BY_THE_SYSTEM)
    catches = []
    for path, tree in trees.items():
        names = _message_names(tree)
        for definition in tree.iter(f"{{{NS['bpmn']}}}messageEventDefinition"):
            event = definition.getparent()
            kind = etree.QName(event).localname
            name = names.get(definition.get("messageRef"), definition.get("messageRef"))
            if kind in ("intermediateThrowEvent", "endEvent"):
                thrown.add(name)
            else:
                catches.append((path, event, name))
        for task in tree.iter(f"{{{NS['bpmn']}}}sendTask", f"{{{NS['bpmn']}}}receiveTask"):
            name = names.get(task.get("messageRef"), task.get("messageRef"))
            if etree.QName(task).localname == "sendTask":
                thrown.add(name)
            else:
                catches.append((path, task, name))
    problems = []
    for path, event, name in catches:
        if name not in thrown:
            known = ", ".join(sorted(n for n in thrown if n)) or "none"
            problems.append(ModelProblem(
                path, event.sourceline, event.get("id"),
                f"waits for the message {name!r}, which nothing in this system sends: the complaint would wait "
                f"for ever" if name else "waits for a message that names no bpmn:message",
                f"messages sent here: {known}; use a user task or a timer instead"))
    return problems


def _check_signals(trees: dict) -> list[ModelProblem]:
    """Signal catch events wait for ever unless the bundle throws the signal: nothing else here sends one."""
    thrown: set[str] = set()
    catches = []
    for path, tree in trees.items():
        names = {s.get("id"): s.get("name") or s.get("id") for s in tree.iterfind("bpmn:signal", NS)}
        for definition in tree.iter(f"{{{NS['bpmn']}}}signalEventDefinition"):
            event = definition.getparent()
            name = names.get(definition.get("signalRef"), definition.get("signalRef"))
            if etree.QName(event).localname in ("intermediateThrowEvent", "endEvent"):
                thrown.add(name)
            else:
                catches.append((path, event, name))
    return [ModelProblem(path, event.sourceline, event.get("id"),
                         f"waits for the signal {name!r}, which nothing in this system sends: the complaint would "
                         "wait for ever", "throw the signal in the model, or use a user task or a timer instead")
            for path, event, name in catches if name not in thrown]


def _check_calls(trees: dict) -> list[ModelProblem]:
    """Call activities must call a process of the bundle, and no process may (indirectly) call itself."""
    processes: dict[str, tuple[str, object]] = {}
    for path, tree in trees.items():
        for process in tree.iterfind("bpmn:process", NS):
            processes.setdefault(process.get("id"), (path, process))
    calls: dict[str, list[tuple[str, object, str]]] = {}
    problems = []
    for path, tree in trees.items():
        for process in tree.iterfind("bpmn:process", NS):
            for call in process.iter(f"{{{NS['bpmn']}}}callActivity"):
                called = call.get("calledElement") or ""
                if called not in processes:
                    problems.append(ModelProblem(
                        path, call.sourceline, call.get("id"),
                        f"calls the process {called!r}, which is not in the bundle" if called
                        else "call activity names no process (calledElement)",
                        f"processes in the bundle: {', '.join(sorted(processes)) or 'none'}"))
                    continue
                called_path, called_process = processes[called]
                if called_process.get("isExecutable", "true") != "true":
                    problems.append(ModelProblem(
                        path, call.sourceline, call.get("id"),
                        f"calls the process {called!r} ({called_path}:{called_process.sourceline}), which is not "
                        f"executable", 'set isExecutable="true" on that process'))
                calls.setdefault(process.get("id"), []).append((path, call, called))
    for path, call, chain in _cycles(calls):
        problems.append(ModelProblem(
            path, call.sourceline, call.get("id"),
            f"the call activity starts a cycle of processes ({' → '.join(chain)}): the complaint would call "
            f"processes without end", "a process may not call itself, directly or through others; use a loop "
            "(a gateway back to an earlier task) instead"))
    return problems


def _cycles(calls: dict) -> list[tuple[str, object, list[str]]]:
    found = []
    for start, edges in calls.items():
        for path, call, called in edges:
            trail = _path_back(calls, called, start, {called})
            if trail is not None:
                found.append((path, call, [start, *trail]))
    return found


def _path_back(calls: dict, node: str, target: str, seen: set[str]) -> list[str] | None:
    if node == target:
        return [node]
    for _path, _call, nxt in calls.get(node, []):
        if nxt not in seen:
            seen.add(nxt)
            rest = _path_back(calls, nxt, target, seen)
            if rest is not None:
                return [node, *rest]
    return None


def called_names(source: str, mode: str) -> list[tuple[str, int]]:
    """The plain names a script (`mode="exec"`) or expression (`"eval"`) calls, with their lines, that the
    script environment does not provide (methods and names the script assigns itself are not counted)."""
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except SyntaxError:
        return []  # the sandbox's own check reports the syntax error
    assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    assigned |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    provided = _SCRIPT_CALLABLE if mode == "exec" else _EXPRESSION_CALLABLE
    return [(n.func.id, n.lineno) for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
            and n.func.id not in provided and n.func.id not in assigned]


def unknown_functions(path: str, node, source: str | None, mode: str, what: str) -> list[ModelProblem]:
    """A problem for each function `source` calls that the script environment does not have."""
    problems = []
    for name, line in called_names(source or "", mode):
        # a script's text starts on its element's line: its line N is N - 1 lines further in the file
        file_line = node.sourceline + line - 1 if mode == "exec" and node.sourceline else node.sourceline
        problems.append(ModelProblem(
            path, file_line, owner_id(node), f"{what} calls {name}(), which this engine does not provide",
            f"functions available: {', '.join(sorted(MODEL_FUNCTIONS))} and Python's len, min, max, round, "
            "str, int, float, sum, sorted, any, all"))
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
    for node in tree.iter(f"{{{NS['bpmn']}}}timeCycle"):
        problems.append(ModelProblem(path, node.sourceline, owner_id(node),
                                     "repeating timers (timeCycle) are never fired by this system's timer worker",
                                     "use a timeDuration (once, after a while) or a timeDate"))
    problems += _check_dead_ends(path, tree)
    problems += _check_processes(path, tree)
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
            problems.append(ModelProblem(
                path, node.sourceline, node.get("id"),
                f"{kind} {node.get('name') or node.get('id')!r} has no outgoing sequence flow: the complaint "
                "would stop there", "connect it to the next element (an end event when the process ends there)"))
    return problems


def _check_processes(path: str, tree) -> list[ModelProblem]:
    """Processes marked not executable cannot run; name each one when the file has nothing else to run."""
    processes = list(tree.iterfind("bpmn:process", NS))
    if any(p.get("isExecutable", "true") == "true" for p in processes):
        return []
    return [ModelProblem(path, p.sourceline, p.get("id"),
                         f"process {p.get('name') or p.get('id')!r} is not executable (isExecutable=\"false\")",
                         'set isExecutable="true" on the process this system should run')
            for p in processes]


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
    decisions = list(tree.iterfind("dmn:decision", NS))
    if not decisions:
        problems.append(ModelProblem(path, tree.sourceline, tree.get("id"), "the DMN file holds no decision",
                                     "add a decision with a decision table, or remove the file"))
    for extra in decisions[1:]:
        problems.append(ModelProblem(path, extra.sourceline, extra.get("id"),
                                     "only the first decision of a DMN file is read here; this one would be lost",
                                     "put each decision in a file of its own"))
    for decision in decisions:
        table = decision.find("dmn:decisionTable", NS)
        if table is None:
            kind = "a literal expression" if decision.find("dmn:literalExpression", NS) is not None else "no table"
            problems.append(ModelProblem(path, decision.sourceline, decision.get("id"),
                                         f"the decision is {kind}; this engine evaluates decision tables only",
                                         "write it as a decision table (inputs, outputs, rules)"))
            continue
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        if table.get("aggregation"):
            problems.append(ModelProblem(
                path, table.sourceline, decision.get("id"),
                f"hit policy {policy} with aggregation {table.get('aggregation')} is not evaluated here: the "
                "engine would return the list of matches, not their aggregate",
                "drop the aggregation and compute it in a script task after the decision"))
        for item in table.iterfind("dmn:input", NS):
            expression = item.find("dmn:inputExpression", NS)
            text = expression.findtext("dmn:text", None, NS) if expression is not None else None
            if not (text or "").strip():
                problems.append(ModelProblem(path, item.sourceline, item.get("id") or decision.get("id"),
                                             f"input {item.get('label') or item.get('id')!r} has no input "
                                             "expression text", "name the variable it reads, e.g. "
                                             "<inputExpression><text>level</text></inputExpression>"))
    for entry in tree.iterfind(".//dmn:rule/dmn:inputEntry", NS):
        text = " ".join((entry.findtext("dmn:text", "", NS)).split())
        hint = _feel_entry_hint(text)
        if hint:
            problems.append(ModelProblem(path, entry.sourceline, entry.get("id") or owner_id(entry),
                                         f"input entry {text} is FEEL, which this engine does not evaluate", hint))
    for entry in tree.iterfind(".//dmn:rule/*", NS):
        text = entry.findtext("dmn:text", "", NS) or ""
        literal = _feel_literal(text)
        if literal:
            problems.append(ModelProblem(
                path, entry.sourceline, entry.get("id") or owner_id(entry),
                f"{literal} is FEEL: as Python it names a variable that does not exist",
                f"write {literal.capitalize() if literal != 'null' else 'None'}"))
    return problems


_FEEL_LITERALS = {"true", "false", "null"}


def _feel_literal(text: str) -> str | None:
    """The FEEL literal (true, false, null) an entry uses where Python has True, False, None."""
    source = text.strip()
    if not source or source == "-":
        return None
    try:
        tree = ast.parse(source.replace("?", "_value_"), mode="eval")
    except SyntaxError:
        try:
            tree = ast.parse(f"_value_ {source}", mode="eval")
        except SyntaxError:
            return None
    return next((n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in _FEEL_LITERALS), None)


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
