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
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.config import DEFAULT_PROCESS_ID
from engine.models import ModelDeployment, ModelFile, ProcessVersion
from engine.people.roles import LANE_ROLES
from engine.workflow.classification_rules import RULE_LISTS, RULES_FILE, rules_problems
from engine.workflow.model_xml import NS, ModelInvalid, ModelProblem, owner_id, parse_xml
from engine.workflow.sandbox import SandboxError, check_expression, check_script
from engine.workflow.store import dump_spec
from engine.workflow.support import check_trees, unknown_functions
from forms.patterns import pattern_problems

MODEL_SUFFIXES = (".bpmn", ".dmn")
FORM_SUFFIX = ".json"
TESTS_FOLDER = "tests/"  # model test cases (engine.modelling.cases), kept with the version

#: The process this system runs for complaints (engine.config); in a bundle that holds it, it is the main
#: process whatever the file order.
MAIN_PROCESS = DEFAULT_PROCESS_ID

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
            # utf-8-sig: a byte-order mark is dropped, exactly as uploads do (same bytes, same bundle)
            files[path.relative_to(directory).as_posix()] = path.read_text(encoding="utf-8-sig")
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
    if RULES_FILE in files:
        problems += _check_rules(files[RULES_FILE], forms)
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
    decisions: dict[str, str] = {}
    for path in dmn_files:
        problems.extend(_check_dmn(path, trees[path], decisions))
    for path in bpmn_files:
        problems.extend(_check_bpmn(path, trees[path], decisions, forms))
    if process_id is None:
        process_id, choice_problems = main_process(trees)
        problems += choice_problems
    elif process_id not in executable_processes(trees):
        problems.append(ModelProblem(bpmn_files[0], None, process_id,
                                     f"process {process_id!r} is not an executable process of the bundle",
                                     "processes here: " + (", ".join(sorted(executable_processes(trees)))
                                                           or "none")))
    if unsupported:  # they explain what the generic checks would only call a syntax error
        named = {(p.file, p.element_id) for p in unsupported}
        problems = unsupported + [p for p in problems if (p.file, p.element_id) not in named]
    if problems:
        raise ModelInvalid(problems)

    parser = SpiffBpmnParser(validator=VALIDATOR)
    for path in dmn_files:
        problems += _parse_dmn(parser, path, trees[path])
    if problems:
        raise ModelInvalid(problems)
    try:
        for path in bpmn_files:
            parser.add_bpmn_xml(trees[path], filename=path)
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as err:
        raise ModelInvalid([_problem_from_spiff(err, trees)]) from err
    except Exception as err:  # noqa: BLE001 - whatever the parser trips on is reported with a place
        raise ModelInvalid([_problem_from_error(err, trees, bpmn_files, process_id)]) from err
    return ValidatedBundle(
        files=dict(files), process_id=process_id, spec=spec, subprocess_specs=subprocess_specs,
        content_hash=content_hash(files), forms=forms,
    )


def executable_processes(trees: dict[str, etree._Element]) -> dict[str, str]:
    """The executable processes of a bundle's BPMN files: {process id: path}, in path order."""
    found: dict[str, str] = {}
    for path in sorted(p for p in trees if p.endswith(".bpmn")):
        for process in trees[path].iterfind("bpmn:process", NS):
            if process.get("isExecutable", "true") == "true" and process.get("id"):
                found.setdefault(process.get("id"), path)
    return found


def main_process(trees: dict[str, etree._Element]) -> tuple[str, list[ModelProblem]]:
    """The process a bundle runs: MAIN_PROCESS when the bundle holds it, else the one executable process
    that no call activity calls. Never chosen by file order: more than one candidate is a problem."""
    executable = executable_processes(trees)
    if MAIN_PROCESS in executable:
        return MAIN_PROCESS, []
    called = {call.get("calledElement") for path, tree in trees.items() if path.endswith(".bpmn")
              for call in tree.iter(f"{{{NS['bpmn']}}}callActivity")}
    roots = [pid for pid in executable if pid not in called]
    if len(roots) == 1:
        return roots[0], []
    bpmn_files = sorted(p for p in trees if p.endswith(".bpmn"))
    if not roots:
        # Non-executable processes and call cycles are named by the support checks, each at its line.
        if executable or any(trees[p].find("bpmn:process", NS) is not None for p in bpmn_files):
            return "", []
        return "", [ModelProblem(bpmn_files[0], trees[bpmn_files[0]].sourceline, None,
                                 "the bundle has no process, only diagrams or collaborations",
                                 'add a bpmn:process with isExecutable="true"')]
    return "", [ModelProblem(executable[pid], _line_of(trees[executable[pid]], pid), pid,
                             f"the bundle holds {len(roots)} top-level processes ({', '.join(roots)}); which one "
                             "runs would depend on file order",
                             f"keep one top-level process (or name it {MAIN_PROCESS}); call the others from it")
                for pid in roots]


def _line_of(tree: etree._Element, element_id: str) -> int | None:
    node = next((n for n in tree.iter() if isinstance(n.tag, str) and n.get("id") == element_id), None)
    return node.sourceline if node is not None else None


def _parse_dmn(parser: SpiffBpmnParser, path: str, tree: etree._Element) -> list[ModelProblem]:
    """Add a DMN file to the parser and parse its decision now, so that what the parser trips on is blamed
    on the DMN file and its element, not on the business rule task that would load it later."""
    try:
        parser.add_dmn_xml(tree, filename=path)
        decision = tree.find("dmn:decision", NS)
        if decision is not None:
            parser.dmn_parsers[decision.get("id")].parse()
    except ValidationException as err:
        err.file_name = err.file_name or path
        return [_problem_from_spiff(err, {path: tree})]
    except Exception as err:  # noqa: BLE001 - a malformed table: located, never a raw exception text
        return [_problem_from_error(err, {path: tree}, [path], None)]
    return []


def _problem_from_error(err: Exception, trees: dict, files: list[str], process_id: str | None) -> ModelProblem:
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
    if isinstance(err, KeyError):
        what = f"a required attribute or reference ({err.args[0] if err.args else '?'}) is missing here"
    elif isinstance(err, IndexError):
        what = ("an expected element is missing here (a decision rule with more entries than its table has "
                "inputs and outputs, or a reference to something absent)")
    else:
        what = "this element could not be read: it does not have the shape the engine expects"
    return ModelProblem(path, node.sourceline if node is not None else None,
                        owner_id(node) if node is not None else process_id, what,
                        "check this element against the BPMN/DMN 1.3 schema; this engine reads what "
                        "Camunda Modeler 5 and bpmn.io write")


def _problem_from_spiff(err: ValidationException, trees: dict[str, etree._Element]) -> ModelProblem:
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
    hint = next((h for start, h in _SPIFF_HINTS.items() if message.startswith(start)), None)
    return ModelProblem(err.file_name or next(iter(trees), "(bundle)"), line, element_id, message, hint)


#: Hints for SpiffWorkflow's own refusals, by the start of its message.
_SPIFF_HINTS = {
    "Multiple outgoing flows are not supported": "let the task lead to one gateway (exclusive, inclusive or "
                                                 "parallel) and branch there",
    "Element '{": "the file does not follow the BPMN/DMN 1.3 schema here; open and save it in Camunda "
                  "Modeler 5 or bpmn.io",
}


def _element_id_at_line(tree: etree._Element, line: int) -> str | None:
    best = None
    for node in tree.iter():
        if not isinstance(node.tag, str) or node.sourceline is None or node.sourceline > line:
            continue
        if node.get("id"):
            best = node.get("id")
    return best


def _check_rules(text: str, forms: dict[str, dict]) -> list[ModelProblem]:
    """The classification rules deployed with the model (engine.workflow.classification_rules), against the
    values the forms offer for the fields they name."""
    allowed: dict[str, list] = {}
    for document in forms.values():
        properties = document.get("properties")
        for _, name in RULE_LISTS:
            prop = properties.get(name) if isinstance(properties, dict) else None
            if isinstance(prop, dict) and isinstance(prop.get("enum"), list):
                allowed.setdefault(name, list(prop["enum"]))
    return [ModelProblem(RULES_FILE, None, None, problem) for problem in rules_problems(text, allowed)]


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
    return unknown_functions(path, node, source, "eval", what)


def _check_script(path: str, node, source: str | None, what: str) -> list[ModelProblem]:
    try:
        check_script(source or "")
    except SandboxError as err:
        return [ModelProblem(path, node.sourceline, owner_id(node), f"{what}: {err}")]
    return unknown_functions(path, node, source, "exec", what)


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
        # loop expressions run in the sandbox like conditions: checked the same way (safety, functions)
        for tag in ("loopCardinality", "completionCondition", "loopCondition"):
            for node in process.iter(f"{{{NS['bpmn']}}}{tag}"):
                problems += _check_expression(path, node, node.text, tag)
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


def _property(node, name: str) -> str | None:
    """The value of a spiffworkflow property of an element, or None."""
    for prop in node.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if prop.get("name") == name:
            return prop.get("value") or ""
    return None


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


#: How a version can come in (shown on the models page): the workflows/ folder at start-up, the browser
#: modeller, a file upload into a draft, the HTTP API, `complaints deploy`.
SOURCES = ("startup", "modeller", "upload", "api", "cli")


def deploy_bundle(session: Session, bundle: ValidatedBundle, deployed_by: str,
                  source: str = "cli") -> tuple[ProcessVersion, bool]:
    """Store `bundle` as the current version of its process; return (version, created).

    Deploying content that is already stored makes that version current again instead of copying it.
    Every call is recorded as a `ModelDeployment` (who, when, through which path).
    """
    if source not in SOURCES:
        raise ValueError(f"unknown deployment source {source!r}")
    now = clock.now()
    existing = session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_id == bundle.process_id, ProcessVersion.content_hash == bundle.content_hash))
    session.execute(update(ProcessVersion).where(ProcessVersion.process_id == bundle.process_id)
                    .values(is_current=False))
    if existing is not None:
        existing.is_current = True
        version, created = existing, False
    else:
        version = ProcessVersion(
            process_id=bundle.process_id, content_hash=bundle.content_hash,
            spec_json=dump_spec(bundle.spec, bundle.subprocess_specs), is_current=True,
            deployed_at=now, deployed_by=deployed_by, source=source,
            files=[ModelFile(path=p, content=c) for p, c in sorted(bundle.files.items())],
        )
        session.add(version)
        session.flush()
        created = True
    session.add(ModelDeployment(process_id=bundle.process_id, version_id=version.id, source=source,
                                deployed_by=deployed_by, deployed_at=now))
    session.flush()
    return version, created


def last_deployment(session: Session, process_id: str, source: str) -> ModelDeployment | None:
    """The latest deployment of `process_id` through `source` (None if there was none)."""
    return session.scalar(select(ModelDeployment).where(
        ModelDeployment.process_id == process_id, ModelDeployment.source == source)
        .order_by(ModelDeployment.id.desc()).limit(1))


def current_version(session: Session, process_id: str) -> ProcessVersion | None:
    """The version new complaints of `process_id` start on."""
    return session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_id == process_id, ProcessVersion.is_current.is_(True)))
