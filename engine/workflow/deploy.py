"""Parsing, validating and deploying process models.

A bundle is the folder of a process: BPMN and DMN files plus the form files they reference, as
`{relative path: text}`. Deploying checks what SpiffWorkflow itself does not (SPIFFWORKFLOW-NOTES
trap 5) and refuses a bad model with problems that name the file, the element and the line.
A deployed bundle is a `ProcessVersion`, identified by the hash of its content.
"""
from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.models import ModelFile, ProcessVersion
from engine.people.roles import LANE_ROLES
from engine.workflow.model_xml import NS, ModelInvalid, ModelProblem, owner_id, parse_xml
from engine.workflow.sandbox import SandboxError, check_expression, check_script
from engine.workflow.store import dump_spec
from engine.workflow.support import check_trees
from forms.patterns import pattern_problems

MODEL_SUFFIXES = (".bpmn", ".dmn")
FORM_SUFFIX = ".json"
TESTS_FOLDER = "tests/"  # model test cases (engine.modelling.cases), kept with the version

FORM_PROPERTY = "formJsonSchemaFilename"
UI_PROPERTY = "formUiSchemaFilename"


@dataclass
class ValidatedBundle:
    """A bundle that passed every check, with its parsed specs."""

    files: dict[str, str]
    process_id: str
    spec: object
    subprocess_specs: dict
    content_hash: str
    forms: dict[str, dict] = field(default_factory=dict)


def read_bundle(directory: Path) -> dict[str, str]:
    """Read a process folder: every .bpmn/.dmn file and every JSON file (forms, `tests/` cases) under it."""
    files = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and (path.suffix in MODEL_SUFFIXES or path.suffix == FORM_SUFFIX):
            files[path.relative_to(directory).as_posix()] = path.read_text(encoding="utf-8")
    return files


def content_hash(files: dict[str, str]) -> str:
    """SHA-256 over the bundle's paths and contents, independent of order."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + files[path].encode() + b"\0")
    return digest.hexdigest()


def validate_bundle(files: dict[str, str], process_id: str | None = None) -> ValidatedBundle:
    """Run every check on a bundle; return the parsed specs or raise ModelInvalid with all problems."""
    problems: list[ModelProblem] = []
    trees: dict[str, etree._Element] = {}
    for path, text in files.items():
        if path.endswith(MODEL_SUFFIXES):
            try:
                trees[path] = parse_xml(text, path)
            except ModelInvalid as err:
                problems.extend(err.problems)
    forms = _load_forms(files, problems)
    if problems:
        raise ModelInvalid(problems)
    # What other modellers write that this engine cannot run (Camunda habits, FEEL, complex gateways…).
    unsupported = check_trees(trees)

    bpmn_files = [p for p in trees if p.endswith(".bpmn")]
    dmn_files = [p for p in trees if p.endswith(".dmn")]
    if not bpmn_files:
        raise ModelInvalid([ModelProblem("(bundle)", None, None, "the bundle has no .bpmn file")])

    for path in bpmn_files:
        try:
            VALIDATOR.validate(trees[path], path)
        except ValidationException as err:
            problems.append(_problem_from_spiff(err, trees))
    decisions = {}
    for path in dmn_files:
        problems.extend(_check_dmn(path, trees[path], decisions))
    executable = []
    for path in bpmn_files:
        problems.extend(_check_bpmn(path, trees[path], decisions, forms))
        executable += [(p.get("id"), path) for p in trees[path].iterfind("bpmn:process", NS)
                       if p.get("isExecutable", "true") == "true"]
    if process_id is None:
        if not executable:
            problems.append(ModelProblem(bpmn_files[0], None, None, "no executable process"))
        process_id = executable[0][0] if executable else ""
    elif process_id not in {pid for pid, _ in executable}:
        problems.append(ModelProblem(bpmn_files[0], None, process_id, "process not found in the bundle"))
    if unsupported:  # they explain what the generic checks would only call a syntax error
        named = {(p.file, p.element_id) for p in unsupported}
        problems = unsupported + [p for p in problems if (p.file, p.element_id) not in named]
    if problems:
        raise ModelInvalid(problems)

    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        for path in dmn_files:
            parser.add_dmn_xml(trees[path], filename=path)
        for path in bpmn_files:
            parser.add_bpmn_xml(trees[path], filename=path)
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as err:
        raise ModelInvalid([_problem_from_spiff(err, trees)]) from err
    except SpiffWorkflowException as err:
        raise ModelInvalid([ModelProblem(bpmn_files[0], None, None, str(err))]) from err
    return ValidatedBundle(
        files=dict(files), process_id=process_id, spec=spec, subprocess_specs=subprocess_specs,
        content_hash=content_hash(files), forms=forms,
    )


def _problem_from_spiff(err: ValidationException, trees: dict[str, etree._Element]) -> ModelProblem:
    line = int(err.line_number) if str(err.line_number or "").isdigit() else None
    element_id = err.id or None
    tree = trees.get(err.file_name)
    if element_id is None and line and tree is not None:
        element_id = _element_id_at_line(tree, line)
    if line is None and element_id and tree is not None:
        node = tree.find(f".//*[@id='{element_id}']")
        line = node.sourceline if node is not None else None
    message = str(err).split("\n")[0]
    return ModelProblem(err.file_name or "(bundle)", line, element_id, message)


def _element_id_at_line(tree: etree._Element, line: int) -> str | None:
    best = None
    for node in tree.iter():
        if not isinstance(node.tag, str) or node.sourceline is None or node.sourceline > line:
            continue
        if node.get("id"):
            best = node.get("id")
    return best


def _load_forms(files: dict[str, str], problems: list[ModelProblem]) -> dict[str, dict]:
    forms = {}
    for path, text in files.items():
        if not path.endswith(FORM_SUFFIX) or path.startswith(TESTS_FOLDER):
            continue
        try:
            document = json.loads(text)
        except json.JSONDecodeError as err:
            problems.append(ModelProblem(path, err.lineno, None, f"invalid JSON: {err.msg}"))
            continue
        if not isinstance(document, dict):
            problems.append(ModelProblem(path, 1, None, "a form file must hold a JSON object"))
            continue
        if path.endswith(".schema.json"):
            try:
                Draft202012Validator.check_schema(document)
            except SchemaError as err:
                problems.append(ModelProblem(path, None, "/".join(map(str, err.path)) or None,
                                             f"not a valid JSON Schema: {err.message}"))
                continue
            if document.get("type") != "object":
                problems.append(ModelProblem(path, None, None, 'a form schema must have "type": "object"'))
            problems += [ModelProblem(path, None, where, message) for where, message in pattern_problems(document)]
        forms[path] = document
    return forms


def _check_expression(path: str, node, source: str | None, what: str) -> list[ModelProblem]:
    element_id = owner_id(node)
    if source is None or not source.strip():
        return [ModelProblem(path, node.sourceline, element_id, f"{what} is empty")]
    if source.strip().startswith("="):
        return [ModelProblem(path, node.sourceline, element_id, f"{what} is a FEEL expression: {source.strip()}",
                             "this engine evaluates Python expressions, e.g. `valid == True`")]
    try:
        check_expression(source.strip())
    except SandboxError as err:
        return [ModelProblem(path, node.sourceline, element_id, f"{what}: {err}")]
    return []


def _check_script(path: str, node, source: str | None, what: str) -> list[ModelProblem]:
    try:
        check_script(source or "")
    except SandboxError as err:
        return [ModelProblem(path, node.sourceline, owner_id(node), f"{what}: {err}")]
    return []


def _check_bpmn(path: str, tree, decisions: dict[str, str], forms: dict[str, dict]) -> list[ModelProblem]:
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
                    problems.append(ModelProblem(path, flow.sourceline, flow.get("id"),
                                                 f"{end} points to missing element {flow.get(end)!r}"))
            condition = flow.find("bpmn:conditionExpression", NS)
            if condition is not None:
                language = (condition.get("language") or "").lower()
                if "feel" in language:
                    problems.append(ModelProblem(path, condition.sourceline, flow.get("id"),
                                                 "FEEL conditions are not supported",
                                                 "write the condition as a Python expression"))
                else:
                    problems += _check_expression(path, condition, condition.text, "condition")
        for event in process.iter(f"{{{NS['bpmn']}}}boundaryEvent"):
            if event.get("attachedToRef") not in ids:
                missing = event.get("attachedToRef")
                problems.append(ModelProblem(path, event.sourceline, event.get("id"),
                                             f"attachedToRef points to missing activity {missing!r}"))
        for tag in ("timeDuration", "timeDate", "timeCycle"):
            for timer in process.iter(f"{{{NS['bpmn']}}}{tag}"):
                problems += _check_expression(path, timer, timer.text, f"timer {tag}")
        for script in process.iter(f"{{{NS['bpmn']}}}script"):
            problems += _check_script(path, script, script.text, "script")
        for tag in ("preScript", "postScript"):
            for script in process.iter(f"{{{NS['spiffworkflow']}}}{tag}"):
                problems += _check_script(path, script, script.text, tag)
        for task in process.iter(f"{{{NS['bpmn']}}}businessRuleTask"):
            ref = task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS)
            if ref is None or not (ref.text or "").strip():
                problems.append(ModelProblem(path, task.sourceline, task.get("id"),
                                             "business rule task names no decision",
                                             "add spiffworkflow:calledDecisionId"))
            elif ref.text.strip() not in decisions:
                problems.append(ModelProblem(path, ref.sourceline, task.get("id"),
                                             f"decision {ref.text.strip()!r} is not in the bundle's DMN files",
                                             f"known decisions: {', '.join(sorted(decisions)) or 'none'}"))
        for task in process.iter(f"{{{NS['bpmn']}}}userTask", f"{{{NS['bpmn']}}}manualTask"):
            lane = lane_of.get(task.get("id"))
            lane_name = lane.get("name") if lane is not None else None
            if lane_name not in LANE_ROLES:
                problems.append(ModelProblem(
                    path, task.sourceline, task.get("id"),
                    f"user task is in lane {lane_name!r}, which is not a role" if lane is not None
                    else "user task is not in any lane",
                    f"put it in a lane named one of: {', '.join(LANE_ROLES)}"))
        for node in process.iter(f"{{{NS['bpmn']}}}userTask", f"{{{NS['bpmn']}}}startEvent",
                                 f"{{{NS['bpmn']}}}manualTask"):
            problems += _check_form_refs(path, node, forms)
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
            problems.append(ModelProblem(path, task.sourceline, task.get("id"),
                                         "property untimed needs the reason as its value",
                                         "say why this step has no time limit"))
        elif untimed is None:
            problems.append(ModelProblem(
                path, task.sourceline, task.get("id"), "user task has no time limit",
                'attach a timer boundary event with property sla = "deadline", or give the task property '
                'untimed = "<why it has no limit>"'))
    return problems


def form_path(bpmn_path: str, reference: str) -> str | None:
    """Resolve a form file reference relative to its BPMN file; None if it leaves the bundle."""
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(bpmn_path), reference))
    return None if resolved.startswith("../") or resolved.startswith("/") else resolved


def _check_form_refs(path: str, node, forms: dict[str, dict]) -> list[ModelProblem]:
    problems = []
    for prop in node.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if prop.get("name") not in (FORM_PROPERTY, UI_PROPERTY):
            continue
        resolved = form_path(path, prop.get("value") or "")
        if resolved is None or resolved not in forms:
            problems.append(ModelProblem(path, prop.sourceline, node.get("id"),
                                         f"form file {prop.get('value')!r} is not in the bundle"))
        elif prop.get("name") == FORM_PROPERTY and not resolved.endswith(".schema.json"):
            problems.append(ModelProblem(path, prop.sourceline, node.get("id"),
                                         "a form schema file must end in .schema.json"))
    return problems


def _check_dmn(path: str, tree, decisions: dict[str, str]) -> list[ModelProblem]:
    problems = []
    for decision in tree.iterfind("dmn:decision", NS):
        decisions[decision.get("id")] = path
        for input_expr in decision.iterfind(".//dmn:input/dmn:inputExpression/dmn:text", NS):
            problems += _check_expression(path, input_expr, input_expr.text, "DMN input expression")
        for entry in decision.iterfind(".//dmn:rule/dmn:inputEntry/dmn:text", NS):
            text = (entry.text or "").strip()
            if text in ("", "-"):
                continue
            candidate = f"(v) == ({text})"
            try:
                check_expression(candidate)
            except SandboxError:
                problems += _check_expression(path, entry, f"v {text}", "DMN input entry")
        for entry in decision.iterfind(".//dmn:rule/dmn:outputEntry/dmn:text", NS):
            if (entry.text or "").strip():
                problems += _check_expression(path, entry, entry.text, "DMN output entry")
    return problems


def deploy_bundle(session: Session, bundle: ValidatedBundle, deployed_by: str) -> tuple[ProcessVersion, bool]:
    """Store `bundle` as the current version of its process; return (version, created).

    Deploying content that is already stored makes that version current again instead of copying it.
    """
    existing = session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_id == bundle.process_id, ProcessVersion.content_hash == bundle.content_hash))
    session.execute(update(ProcessVersion).where(ProcessVersion.process_id == bundle.process_id)
                    .values(is_current=False))
    if existing is not None:
        existing.is_current = True
        return existing, False
    version = ProcessVersion(
        process_id=bundle.process_id, content_hash=bundle.content_hash,
        spec_json=dump_spec(bundle.spec, bundle.subprocess_specs), is_current=True,
        deployed_at=clock.now(), deployed_by=deployed_by,
        files=[ModelFile(path=p, content=c) for p, c in sorted(bundle.files.items())],
    )
    session.add(version)
    session.flush()
    return version, True


def current_version(session: Session, process_id: str) -> ProcessVersion | None:
    """The version new complaints of `process_id` start on."""
    return session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_id == process_id, ProcessVersion.is_current.is_(True)))
