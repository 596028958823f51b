"""Deployed versions as the running program needs them: specs, forms and task metadata, cached."""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Code, NotFound
from engine.models import ModelFile, ProcessVersion
from engine.workflow.model_forms import FORM_PROPERTY, UI_PROPERTY, form_path
from engine.workflow.store import load_spec
from forms.schema import FormDefinition, generic_form


@dataclass(frozen=True)
class TaskMeta:
    """What the program shows and checks about one user task (or the start event's intake form)."""

    name: str
    title: str
    title_en: str
    role: str | None
    instructions: str
    instructions_en: str
    form: FormDefinition
    #: What the customer's page says while this task is open (`customerStage` property; None: not said).
    customer_stage: str | None = None


@dataclass(frozen=True)
class LoadedVersion:
    """A deployed version ready to run. Shared across threads and databases: keyed by content hash."""

    process_id: str
    content_hash: str
    spec: Any  # SpiffWorkflow's BpmnProcessSpec (the library has no type information)
    subprocess_specs: dict
    tasks: dict[str, TaskMeta]
    intake: TaskMeta | None
    #: End event id → what the customer's page says once the complaint ended there (`customerStage`).
    end_stages: dict[str, str] = field(default_factory=dict)
    #: End event id → (its name, its `title_en` property): what staff see as the complaint's outcome.
    end_titles: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def task(self, name: str) -> TaskMeta:
        return self.tasks[name]


class VersionCache:
    """Loaded versions by content hash. Specs are never mutated by running workflows, so one
    object serves every complaint of that version."""

    def __init__(self, size: int = 32):
        self._size = size
        self._items: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, loader):
        """The entry for `key`, made with `loader()` on a miss."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        specs = loader()
        with self._lock:
            self._items[key] = specs
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return specs


_cache = VersionCache()
#: The property naming the stage the customer's page shows while a user task is open, or once the complaint
#: ended at an end event.
CUSTOMER_STAGE_PROPERTY = "customerStage"
#: The property giving an element's English name when its name does not end in one (docs/MODELLING.md, "Names").
TITLE_EN_PROPERTY = "title_en"


_hashes: dict[tuple[str, int], str] = {}


def load_version(session: Session, version_id: int) -> LoadedVersion:
    """The version with its specs deserialized once per process (cached by content hash)."""
    # A stored version never changes, so its hash is remembered per database and id.
    key = (session.get_bind().engine.url.render_as_string(hide_password=False), version_id)
    content_hash = _hashes.get(key)
    if content_hash is None:
        content_hash = session.scalar(select(ProcessVersion.content_hash).where(ProcessVersion.id == version_id))
        if content_hash is None:
            raise NotFound(Code.VERSION_NOT_FOUND, version=version_id)
        _hashes[key] = content_hash
    return _cache.get(content_hash, lambda: _build(session, version_id))


def _build(session: Session, version_id: int) -> LoadedVersion:
    version = session.get_one(ProcessVersion, version_id)
    spec, subprocess_specs = load_spec(version.spec_json)
    files = {f.path: f.content for f in session.scalars(
        select(ModelFile).where(ModelFile.version_id == version_id))}
    return assemble(version.process_id, version.content_hash, spec, subprocess_specs, files)


def from_bundle(bundle) -> LoadedVersion:
    """A version straight from a validated bundle (model tests, previews), without the database."""
    return assemble(bundle.process_id, bundle.content_hash, bundle.spec, bundle.subprocess_specs, bundle.files)


def assemble(process_id: str, content_hash: str, spec, subprocess_specs: dict, files: dict[str, str]) -> LoadedVersion:
    """Build the task metadata and forms of a parsed spec from the bundle's files."""
    bpmn_path = _bpmn_file_of(files, spec)
    tasks: dict[str, TaskMeta] = {}
    intake = None
    end_stages: dict[str, str] = {}
    end_titles: dict[str, tuple[str, str | None]] = {}
    for task_spec in _all_task_specs(spec, subprocess_specs):
        kind = type(task_spec).__name__
        if kind in ("UserTask", "ManualTask"):
            tasks[task_spec.bpmn_id] = _meta(task_spec, files, bpmn_path)
        elif kind == "StartEvent" and task_spec in spec.task_specs.values() and intake is None:
            props = (task_spec.extensions or {}).get("properties", {})
            if FORM_PROPERTY in props:
                intake = _meta(task_spec, files, bpmn_path)
        elif kind == "EndEvent" and task_spec in spec.task_specs.values():
            props = (task_spec.extensions or {}).get("properties", {})
            if props.get(CUSTOMER_STAGE_PROPERTY):
                end_stages[task_spec.bpmn_id] = props[CUSTOMER_STAGE_PROPERTY]
            if task_spec.bpmn_name:
                end_titles[task_spec.bpmn_id] = (task_spec.bpmn_name, props.get(TITLE_EN_PROPERTY))
    return LoadedVersion(
        process_id=process_id, content_hash=content_hash,
        spec=spec, subprocess_specs=subprocess_specs, tasks=tasks, intake=intake, end_stages=end_stages,
        end_titles=end_titles,
    )


def _all_task_specs(spec, subprocess_specs):
    yield from spec.task_specs.values()
    for sub in subprocess_specs.values():
        yield from sub.task_specs.values()


def _bpmn_file_of(files: dict[str, str], spec) -> str:
    for path in files:
        if path.endswith(".bpmn") and f'id="{spec.name}"' in files[path]:
            return path
    return next((p for p in files if p.endswith(".bpmn")), "")


def _meta(task_spec, files: dict[str, str], bpmn_path: str) -> TaskMeta:
    extensions = task_spec.extensions or {}
    props = extensions.get("properties", {})
    name = task_spec.bpmn_name or task_spec.bpmn_id
    return TaskMeta(
        name=task_spec.bpmn_id,
        title=name,
        title_en=props.get(TITLE_EN_PROPERTY, name),
        role=getattr(task_spec, "lane", None),
        instructions=extensions.get("instructionsForEndUser") or "",
        instructions_en=props.get("instructions_en", ""),
        form=_form(props, files, bpmn_path, task_spec),
        customer_stage=props.get(CUSTOMER_STAGE_PROPERTY),
    )


def _form(props: dict, files: dict[str, str], bpmn_path: str, task_spec) -> FormDefinition:
    schema_path = props.get(FORM_PROPERTY)
    if not schema_path:
        return generic_form(_condition_variables(task_spec))
    schema = _bundle_json(files, bpmn_path, schema_path)
    ui_ref = props.get(UI_PROPERTY)
    ui = _bundle_json(files, bpmn_path, ui_ref) if ui_ref else {}
    return FormDefinition(schema=schema, ui=ui)


def _bundle_json(files: dict[str, str], bpmn_path: str, reference: str) -> dict:
    # Deploy refused references that leave the bundle, so a stored version resolves every one.
    return json.loads(files[form_path(bpmn_path, reference) or reference])


def _condition_variables(task_spec) -> list[str]:
    """Names read by the conditions right after this task (through one gateway)."""
    import ast

    names: list[str] = []
    for nxt in task_spec.outputs:
        for cond, _target in getattr(nxt, "cond_task_specs", []) or []:
            expression = getattr(cond, "args", [None])[0] if cond is not None else None
            if not isinstance(expression, str):
                continue
            for node in ast.walk(ast.parse(expression, mode="eval")):
                if isinstance(node, ast.Name) and node.id not in names and node.id not in ("True", "False"):
                    names.append(node.id)
    return names
