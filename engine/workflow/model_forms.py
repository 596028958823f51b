"""A model's form files: which files are forms, how BPMN elements name them, reading and checking them."""
from __future__ import annotations

import json
import posixpath

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from engine.errors import ModelCode
from engine.workflow.model_xml import NS, ModelProblem
from forms.patterns import pattern_problems

FORM_SUFFIX = ".json"
#: How much of a refused value or of the library's message a problem quotes.
MAX_DETAIL = 200
TESTS_FOLDER = "tests/"  # model test cases (engine.modelling.cases), kept with the version
FORM_PROPERTY = "formJsonSchemaFilename"
UI_PROPERTY = "formUiSchemaFilename"


def load_forms(files: dict[str, str], problems: list[ModelProblem]) -> dict[str, dict]:
    forms = {}
    for path, text in files.items():
        if not path.endswith(FORM_SUFFIX) or path.startswith(TESTS_FOLDER):
            continue
        try:
            document = json.loads(text)
        except json.JSONDecodeError as err:
            problems.append(ModelProblem(path, err.lineno, None, ModelCode.FORM_INVALID_JSON,
                                         {"line": err.lineno, "column": err.colno, "detail": err.msg}))
            continue
        if not isinstance(document, dict):
            problems.append(ModelProblem(path, 1, None, ModelCode.FORM_FILE_NOT_OBJECT))
            continue
        if path.endswith(".schema.json"):
            try:
                Draft202012Validator.check_schema(document)
            except SchemaError as err:
                problems.append(schema_problem(path, err))
                continue
            if document.get("type") != "object":
                problems.append(ModelProblem(path, None, None, ModelCode.FORM_SCHEMA_NOT_OBJECT))
            problems += [ModelProblem(path, None, where, ModelCode.FORM_PATTERN_UNSUPPORTED,
                                      {"pattern": refused.pattern, "detail": str(refused)})
                         if refused else ModelProblem(path, None, where, ModelCode.FORM_PATTERN_PROPERTIES)
                         for where, refused in pattern_problems(document)]
        forms[path] = document
    return forms


def schema_problem(path: str, err: SchemaError) -> ModelProblem:
    """A form schema the JSON Schema metaschema refuses, as a code by the rule it breaks (never its English
    message, which stays as the technical `detail`); the element is the JSON path to the wrong value."""
    where = "/".join(map(str, err.path)) or None
    keyword = next((str(part) for part in reversed(err.path) if isinstance(part, str)), "$schema")
    detail = err.message[:MAX_DETAIL]
    if err.validator == "type":
        expected = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        return ModelProblem(path, None, where, ModelCode.FORM_SCHEMA_WRONG_TYPE,
                            {"keyword": keyword, "expected": ", ".join(map(str, expected)), "detail": detail})
    if err.validator == "minimum":
        return ModelProblem(path, None, where, ModelCode.FORM_SCHEMA_BELOW_MINIMUM,
                            {"keyword": keyword, "minimum": err.validator_value, "detail": detail})
    if err.validator == "uniqueItems":
        return ModelProblem(path, None, where, ModelCode.FORM_SCHEMA_REPEATED, {"keyword": keyword, "detail": detail})
    if err.validator in ("anyOf", "oneOf", "enum", "const"):
        return ModelProblem(path, None, where, ModelCode.FORM_SCHEMA_UNKNOWN_VALUE,
                            {"keyword": keyword, "value": json.dumps(err.instance)[:MAX_DETAIL], "detail": detail})
    return ModelProblem(path, None, where, ModelCode.FORM_SCHEMA_INVALID,
                        {"keyword": keyword, "rule": str(err.validator), "detail": detail})


def form_path(bpmn_path: str, reference: str) -> str | None:
    """Resolve a form file reference relative to its BPMN file; None if it leaves the bundle."""
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(bpmn_path), reference))
    return None if resolved.startswith("../") or resolved.startswith("/") else resolved


def check_form_refs(path: str, node, forms: dict[str, dict]) -> list[ModelProblem]:
    problems = []
    for prop in node.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if prop.get("name") not in (FORM_PROPERTY, UI_PROPERTY):
            continue
        resolved = form_path(path, prop.get("value") or "")
        if resolved is None or resolved not in forms:
            problems.append(ModelProblem(path, prop.sourceline, node.get("id"), ModelCode.FORM_FILE_MISSING,
                                         {"form": prop.get("value")}))
        elif prop.get("name") == FORM_PROPERTY and not resolved.endswith(".schema.json"):
            problems.append(ModelProblem(path, prop.sourceline, node.get("id"), ModelCode.FORM_SCHEMA_SUFFIX))
    return problems
