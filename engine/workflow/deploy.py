"""Parsing, validating and deploying process models.

A bundle is the folder of a process: BPMN and DMN files plus the form files they reference, as
`{relative path: text}`. Deploying checks what SpiffWorkflow itself does not (docs/ARCHITECTURE.md,
SpiffWorkflow fact 3) and refuses a bad model with problems that name the file, the element and the line.
A deployed bundle is a `ProcessVersion`, identified by the hash of its content.

`model_forms` (form files), `model_checks` (each file's checks), `parser_problems` (the parser's errors,
located) hold the checks; here, the bundle as a whole, and storing it as a version.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from engine import clock
from engine.config import load_settings
from engine.errors import ModelCode
from engine.models import ModelDeployment, ModelFile, ProcessVersion
from engine.workflow.classification_rules import RULES_FILE
from engine.workflow.model_checks import check_bpmn, check_dmn, check_rules
from engine.workflow.model_forms import FORM_SUFFIX, TESTS_FOLDER, load_forms
from engine.workflow.model_xml import NS, ModelInvalid, ModelProblem, parse_xml
from engine.workflow.parser_problems import parse_dmn, problem_from_error, problem_from_spiff
from engine.workflow.store import dump_spec
from engine.workflow.support import check_trees

__all__ = ["FORM_SUFFIX", "MODEL_SUFFIXES", "SOURCES", "TESTS_FOLDER", "ValidatedBundle",
           "content_hash", "current_version", "deploy_bundle", "executable_processes", "last_deployment",
           "main_process", "read_bundle", "validate_bundle"]

MODEL_SUFFIXES = (".bpmn", ".dmn")


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


def validate_bundle(files: dict[str, str], process_id: str | None = None, main: str | None = None) -> ValidatedBundle:
    """Run every check on a bundle; return the parsed specs or raise ModelInvalid with all problems.

    `process_id`: the process the bundle must run; without it, `main_process` chooses, preferring `main`:
    the process new complaints start (`Settings.process_id`; by default the configuration's)."""
    problems: list[ModelProblem] = []
    trees: dict[str, etree._Element] = {}
    for path, text in files.items():
        if path.endswith(MODEL_SUFFIXES):
            try:
                trees[path] = parse_xml(text, path)
            except ModelInvalid as err:
                problems.extend(err.problems)
    forms = load_forms(files, problems)
    if RULES_FILE in files:
        problems += check_rules(files[RULES_FILE], forms)
    if problems:
        raise ModelInvalid(problems)
    # What other modellers write that this engine cannot run (Camunda habits, FEEL, complex gateways…).
    unsupported = check_trees(trees)

    bpmn_files = [p for p in trees if p.endswith(".bpmn")]
    dmn_files = [p for p in trees if p.endswith(".dmn")]
    if not bpmn_files:
        raise ModelInvalid([ModelProblem("(bundle)", None, None, ModelCode.NO_BPMN_FILE)])

    for path in bpmn_files:
        try:
            VALIDATOR.validate(trees[path], path)
        except ValidationException as err:
            problems.append(problem_from_spiff(err, trees))
    decisions: dict[str, str] = {}
    for path in dmn_files:
        problems.extend(check_dmn(path, trees[path], decisions))
    for path in bpmn_files:
        problems.extend(check_bpmn(path, trees[path], decisions, forms))
    if process_id is None:
        process_id, choice_problems = main_process(trees, main or load_settings().process_id)
        problems += choice_problems
    elif process_id not in executable_processes(trees):
        problems.append(ModelProblem(bpmn_files[0], None, process_id, ModelCode.PROCESS_NOT_IN_BUNDLE,
                                     {"process": process_id,
                                      "processes": ", ".join(sorted(executable_processes(trees))) or "-"}))
    if unsupported:  # they explain what the generic checks would only call a syntax error
        named = {(p.file, p.element_id) for p in unsupported}
        problems = unsupported + [p for p in problems if (p.file, p.element_id) not in named]
    if problems:
        raise ModelInvalid(problems)

    parser = SpiffBpmnParser(validator=VALIDATOR)
    for path in dmn_files:
        problems += parse_dmn(parser, path, trees[path])
    if problems:
        raise ModelInvalid(problems)
    try:
        for path in bpmn_files:
            parser.add_bpmn_xml(trees[path], filename=path)
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as err:
        raise ModelInvalid([problem_from_spiff(err, trees)]) from err
    except Exception as err:  # noqa: BLE001 - whatever the parser trips on is reported with a place
        raise ModelInvalid([problem_from_error(err, trees, bpmn_files, process_id)]) from err
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


def main_process(trees: dict[str, etree._Element], configured: str) -> tuple[str, list[ModelProblem]]:
    """The process a bundle runs: `configured` (the process new complaints start, `Settings.process_id`)
    when the bundle holds it, else the one executable process that no call activity calls. Never chosen by
    file order: more than one candidate is a problem."""
    executable = executable_processes(trees)
    if configured in executable:
        return configured, []
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
        return "", [ModelProblem(bpmn_files[0], trees[bpmn_files[0]].sourceline, None, ModelCode.NO_PROCESS)]
    return "", [ModelProblem(executable[pid], _line_of(trees[executable[pid]], pid), pid, ModelCode.SEVERAL_PROCESSES,
                             {"count": len(roots), "processes": ", ".join(roots), "main": configured})
                for pid in roots]


def _line_of(tree: etree._Element, element_id: str) -> int | None:
    node = next((n for n in tree.iter() if isinstance(n.tag, str) and n.get("id") == element_id), None)
    return node.sourceline if node is not None else None


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
    """The version new complaints of `process_id` start on, without its serialized spec (read when first used):
    every task list asks for it, and the spec is ≈ 200 KB (docs/PERFORMANCE.md, "1,000,000 complaints")."""
    return session.scalar(select(ProcessVersion).options(defer(ProcessVersion.spec_json)).where(
        ProcessVersion.process_id == process_id, ProcessVersion.is_current.is_(True)))
