"""What would leave a complaint waiting for ever across elements: messages and signals nothing sends, calls
to processes that are missing, not executable or call themselves back."""
from __future__ import annotations

from lxml import etree

from engine.errors import ModelCode
from engine.workflow.model_xml import NS, ModelProblem

#: Messages something outside the model sends into a running complaint (the customer's survey answer,
#: `engine.complaints.customer_link.SURVEY_MESSAGE`; the agent's record of a withdrawal,
#: `engine.complaints.withdrawal.WITHDRAWN_MESSAGE`). Any other message must be thrown inside the bundle.
SENT_BY_THE_SYSTEM = frozenset({"customer_survey", "complaint_withdrawn"})


def _message_names(tree) -> dict[str, str]:
    return {m.get("id"): m.get("name") or m.get("id") for m in tree.iterfind("bpmn:message", NS)}


def check_messages(trees: dict) -> list[ModelProblem]:
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
            known = ", ".join(sorted(n for n in thrown if n)) or "-"
            problems.append(
                ModelProblem(path, event.sourceline, event.get("id"), ModelCode.MESSAGE_NEVER_SENT,
                             {"message": name, "known": known}) if name
                else ModelProblem(path, event.sourceline, event.get("id"), ModelCode.MESSAGE_UNNAMED,
                                  {"known": known}))
    return problems


def check_signals(trees: dict) -> list[ModelProblem]:
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
    return [ModelProblem(path, event.sourceline, event.get("id"), ModelCode.SIGNAL_NEVER_SENT, {"signal": name})
            for path, event, name in catches if name not in thrown]


def check_calls(trees: dict) -> list[ModelProblem]:
    """Call activities must call a process of the bundle, and no process may (indirectly) call itself."""
    processes: dict[str, tuple[str, etree._Element]] = {}
    for path, tree in trees.items():
        for process in tree.iterfind("bpmn:process", NS):
            processes.setdefault(process.get("id"), (path, process))
    calls: dict[str, list[tuple[str, etree._Element, str]]] = {}
    problems = []
    for path, tree in trees.items():
        for process in tree.iterfind("bpmn:process", NS):
            for call in process.iter(f"{{{NS['bpmn']}}}callActivity"):
                called = call.get("calledElement") or ""
                if called not in processes:
                    known = ", ".join(sorted(processes)) or "-"
                    problems.append(
                        ModelProblem(path, call.sourceline, call.get("id"), ModelCode.CALLED_PROCESS_MISSING,
                                     {"process": called, "processes": known}) if called
                        else ModelProblem(path, call.sourceline, call.get("id"), ModelCode.CALL_NAMES_NO_PROCESS,
                                          {"processes": known}))
                    continue
                called_path, called_process = processes[called]
                if called_process.get("isExecutable", "true") != "true":
                    problems.append(ModelProblem(path, call.sourceline, call.get("id"), ModelCode.CALLED_NOT_EXECUTABLE,
                                                 {"process": called, "file": called_path,
                                                  "line": called_process.sourceline}))
                calls.setdefault(process.get("id"), []).append((path, call, called))
    for path, call, chain in _cycles(calls):
        problems.append(ModelProblem(path, call.sourceline, call.get("id"), ModelCode.CALL_CYCLE,
                                     {"chain": " → ".join(chain)}))
    return problems


def _cycles(calls: dict) -> list[tuple[str, etree._Element, list[str]]]:
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
