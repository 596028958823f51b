"""The checks of each BPMN and DMN file that SpiffWorkflow does not make (docs/ARCHITECTURE.md, SpiffWorkflow fact 3):
conditions, timers and scripts the sandbox accepts, references that resolve, user tasks in role lanes, forms
that exist, a time limit on every user task, classification rules that match the forms."""
from __future__ import annotations

from engine.errors import Code, ModelCode
from engine.people.roles import LANE_ROLES
from engine.workflow.classification_rules import RULE_LISTS, RULES_FILE, rules_problems
from engine.workflow.model_forms import check_form_refs
from engine.workflow.model_xml import NS, ModelProblem, owner_id
from engine.workflow.sandbox import SandboxError, check_expression, check_script
from engine.workflow.support import unknown_functions


def check_rules(text: str, forms: dict[str, dict]) -> list[ModelProblem]:
    """The classification rules deployed with the model (engine.workflow.classification_rules), against the
    values the forms offer for the fields they name."""
    allowed: dict[str, list] = {}
    for document in forms.values():
        properties = document.get("properties")
        for _, name in RULE_LISTS:
            prop = properties.get(name) if isinstance(properties, dict) else None
            if isinstance(prop, dict) and isinstance(prop.get("enum"), list):
                allowed.setdefault(name, list(prop["enum"]))
    return [ModelProblem(RULES_FILE, problem.params.get("line"), None, ModelCode(problem.code), problem.params)
            for problem in rules_problems(text, allowed)]


def check_model_expression(path: str, node, source: str | None, what: str) -> list[ModelProblem]:
    """Problems of one expression; `what` says which kind (a key `web/messages.py` words: condition, timeDuration …)."""
    element_id = owner_id(node)
    if source is None or not source.strip():
        return [ModelProblem(path, node.sourceline, element_id, ModelCode.EXPRESSION_EMPTY, {"what": what})]
    if source.strip().startswith("="):
        return [ModelProblem(path, node.sourceline, element_id, ModelCode.EXPRESSION_FEEL,
                             {"what": what, "source": source.strip()})]
    try:
        check_expression(source.strip())
    except SandboxError as err:
        return [_refused(path, node.sourceline, element_id, what, err)]
    return unknown_functions(path, node, source, "eval", what)


def check_model_script(path: str, node, source: str | None, what: str) -> list[ModelProblem]:
    try:
        check_script(source or "")
    except SandboxError as err:
        return [_refused(path, node.sourceline, owner_id(node), what, err)]
    return unknown_functions(path, node, source, "exec", what)


def _refused(path: str, line: int | None, element_id: str | None, what: str, err: SandboxError) -> ModelProblem:
    """The sandbox's refusal of model code: a syntax error by its place (the parser's words kept as `detail`),
    any other refusal with the sandbox's words."""
    if err.reason == Code.RUN_SYNTAX:
        return ModelProblem(path, line, element_id, ModelCode.EXPRESSION_SYNTAX,
                            {"what": what, "line": err.params.get("line"), "column": err.params.get("column"),
                             "detail": str(err)})
    return ModelProblem(path, line, element_id, ModelCode.EXPRESSION_REFUSED,
                        {**err.params, "what": what, "detail": str(err)})


def check_bpmn(path: str, tree, decisions: dict[str, str], forms: dict[str, dict]) -> list[ModelProblem]:
    problems: list[ModelProblem] = []
    lane_of = {}
    for lane in tree.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            lane_of[(ref.text or "").strip()] = lane
    for process in tree.iterfind("bpmn:process", NS):
        ids = {node.get("id"): node for node in process.iter() if isinstance(node.tag, str) and node.get("id")}
        for flow in process.iter(f"{{{NS['bpmn']}}}sequenceFlow"):
            for end in ("sourceRef", "targetRef"):
                if flow.get(end) not in ids:
                    problems.append(ModelProblem(path, flow.sourceline, flow.get("id"), ModelCode.FLOW_END_MISSING,
                                                 {"end": end, "target": flow.get(end)}))
            condition = flow.find("bpmn:conditionExpression", NS)
            if condition is not None:
                language = (condition.get("language") or "").lower()
                if "feel" in language:
                    problems.append(ModelProblem(path, condition.sourceline, flow.get("id"), ModelCode.FEEL_CONDITION))
                else:
                    problems += check_model_expression(path, condition, condition.text, "condition")
        for event in process.iter(f"{{{NS['bpmn']}}}boundaryEvent"):
            if event.get("attachedToRef") not in ids:
                missing = event.get("attachedToRef")
                problems.append(ModelProblem(path, event.sourceline, event.get("id"),
                                             ModelCode.BOUNDARY_ACTIVITY_MISSING, {"activity": missing}))
        for tag in ("timeDuration", "timeDate", "timeCycle"):
            for timer in process.iter(f"{{{NS['bpmn']}}}{tag}"):
                problems += check_model_expression(path, timer, timer.text, tag)
        # loop expressions run in the sandbox like conditions: checked the same way (safety, functions)
        for tag in ("loopCardinality", "completionCondition", "loopCondition"):
            for node in process.iter(f"{{{NS['bpmn']}}}{tag}"):
                problems += check_model_expression(path, node, node.text, tag)
        for script in process.iter(f"{{{NS['bpmn']}}}script"):
            problems += check_model_script(path, script, script.text, "script")
        for tag in ("preScript", "postScript"):
            for script in process.iter(f"{{{NS['spiffworkflow']}}}{tag}"):
                problems += check_model_script(path, script, script.text, tag)
        for task in process.iter(f"{{{NS['bpmn']}}}businessRuleTask"):
            ref = task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS)
            if ref is None or not (ref.text or "").strip():
                problems.append(ModelProblem(path, task.sourceline, task.get("id"), ModelCode.NO_DECISION_NAMED))
            elif ref.text.strip() not in decisions:
                problems.append(ModelProblem(path, ref.sourceline, task.get("id"), ModelCode.DECISION_NOT_IN_BUNDLE,
                                             {"decision": ref.text.strip(),
                                              "decisions": ", ".join(sorted(decisions)) or "-"}))
        for task in process.iter(f"{{{NS['bpmn']}}}userTask", f"{{{NS['bpmn']}}}manualTask"):
            lane = lane_of.get(task.get("id"))
            lane_name = lane.get("name") if lane is not None else None
            if lane_name not in LANE_ROLES:
                roles = ", ".join(LANE_ROLES)
                problems.append(
                    ModelProblem(path, task.sourceline, task.get("id"), ModelCode.LANE_NOT_A_ROLE,
                                 {"lane": lane_name, "roles": roles}) if lane is not None
                    else ModelProblem(path, task.sourceline, task.get("id"), ModelCode.NOT_IN_A_LANE,
                                      {"roles": roles}))
        for node in process.iter(f"{{{NS['bpmn']}}}userTask", f"{{{NS['bpmn']}}}startEvent",
                                 f"{{{NS['bpmn']}}}manualTask"):
            problems += check_form_refs(path, node, forms)
        problems += check_time_limits(path, process)
    return problems


def check_time_limits(path: str, process) -> list[ModelProblem]:
    """Every user task has a time limit — a timer boundary event marked `sla` = `deadline` — unless the model
    marks it untimed with a reason (property `untimed`): the regulation wants every step timed
    (docs/data-dictionary.md, "Time limits")."""
    timed = set()
    for event in process.iter(f"{{{NS['bpmn']}}}boundaryEvent"):
        has_timer = event.find("bpmn:timerEventDefinition", NS) is not None
        if has_timer and _property(event, "sla") == "deadline":
            timed.add(event.get("attachedToRef"))
    problems = []
    for task in process.iter(f"{{{NS['bpmn']}}}userTask", f"{{{NS['bpmn']}}}manualTask"):
        if task.get("id") in timed:
            continue
        untimed = _property(task, "untimed")
        if untimed is not None and not untimed.strip():
            problems.append(ModelProblem(path, task.sourceline, task.get("id"), ModelCode.UNTIMED_NEEDS_REASON))
        elif untimed is None:
            problems.append(ModelProblem(path, task.sourceline, task.get("id"), ModelCode.NO_TIME_LIMIT))
    return problems


def _property(node, name: str) -> str | None:
    """The value of a spiffworkflow property of an element, or None."""
    for prop in node.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if prop.get("name") == name:
            return prop.get("value") or ""
    return None


def check_dmn(path: str, tree, decisions: dict[str, str]) -> list[ModelProblem]:
    problems = []
    for decision in tree.iterfind("dmn:decision", NS):
        decisions[decision.get("id")] = path
        for input_expr in decision.iterfind(".//dmn:input/dmn:inputExpression/dmn:text", NS):
            problems += check_model_expression(path, input_expr, input_expr.text, "dmn_input_expression")
        for entry in decision.iterfind(".//dmn:rule/dmn:inputEntry/dmn:text", NS):
            text = (entry.text or "").strip()
            if text in ("", "-"):
                continue
            candidate = f"(v) == ({text})"
            try:
                check_expression(candidate)
            except SandboxError:
                problems += check_model_expression(path, entry, f"v {text}", "dmn_input_entry")
        for entry in decision.iterfind(".//dmn:rule/dmn:outputEntry/dmn:text", NS):
            if (entry.text or "").strip():
                problems += check_model_expression(path, entry, entry.text, "dmn_output_entry")
    return problems
