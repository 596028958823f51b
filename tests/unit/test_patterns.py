"""Form patterns run on RE2: linear time on hostile input, and patterns RE2 cannot run are refused at deploy."""
from __future__ import annotations

import json
import time

import pytest

from engine.config import PROJECT_ROOT
from engine.errors import ModelCode
from engine.workflow.deploy import read_bundle, validate_bundle
from engine.workflow.model_xml import ModelInvalid
from forms.errors import FieldError, FormCode
from forms.patterns import PatternError, pattern_matches, pattern_problems
from forms.schema import FormDefinition
from forms.validate import validate

#: Catastrophic backtracking in Python's `re`: 31 characters took longer than a worker's timeout.
EVIL = r"^([A-Z0-9]+-?)+$"


def test_a_backtracking_pattern_answers_at_once_on_a_long_near_miss():
    form = FormDefinition({"type": "object", "properties": {"code": {"type": "string", "pattern": EVIL}}})
    began = time.monotonic()
    for length in (31, 1_000, 19_000):
        _clean, errors = validate(form, {"code": "A" * length + "!"})
        assert errors == {"code": [FieldError(FormCode.PATTERN_MISMATCH)]}
    assert time.monotonic() - began < 0.5
    assert validate(form, {"code": "AB-12-C"})[1] == {}


@pytest.mark.parametrize(("pattern", "text", "matches"), [
    (r"^\d{3}$", "123", True),
    (r"^\d{3}$", "1234", False),
    (r"\d", "ab1", True),  # unanchored, as JSON Schema's pattern
    (r"^(\+?[0-9][0-9 ()\-]{5,24}|[^@\s]+@[^@\s]+\.[^@\s]+)$", "a@b.cn", True),
    (r"^[一-龥]+$", "张三", True),
])
def test_patterns_match_as_json_schema_says(pattern, text, matches):
    assert pattern_matches(pattern, text) is matches


@pytest.mark.parametrize(("pattern", "reason"), [
    (r"(a)\1", "invalid escape sequence"),
    (r"^(?=.*\d).+$", "invalid perl operator"),
    (r"(?<!x)y", "invalid perl operator"),
    (r"(a{1000}){1000}", "bad repetition operator"),
])
def test_patterns_re2_cannot_run_are_named(pattern, reason):
    with pytest.raises(PatternError, match="cannot be used here") as info:
        pattern_matches(pattern, "a")
    assert pattern in str(info.value) or repr(pattern) in str(info.value)
    assert pattern_problems({"properties": {"f": {"type": "string", "pattern": pattern}}})[0][0] == \
        "properties/f/pattern"


def test_a_field_named_pattern_is_not_a_pattern():
    schema = {"type": "object", "properties": {"pattern": {"type": "string", "pattern": "^x$"}},
              "default": {"pattern": "(a)\\1"}}
    assert pattern_problems(schema) == []
    assert pattern_problems({"patternProperties": {"^x": {}}})[0][0] == "patternProperties"


def test_deploy_refuses_a_form_pattern_re2_cannot_run():
    files = read_bundle(PROJECT_ROOT / "workflows")
    path = "forms/intake.schema.json"
    schema = json.loads(files[path])
    field = next(name for name, prop in schema["properties"].items() if "pattern" in prop)
    schema["properties"][field]["pattern"] = r"^(?=.*\d)[0-9 ]+$"
    with pytest.raises(ModelInvalid) as info:
        validate_bundle(dict(files, **{path: json.dumps(schema)}))
    found = [p for p in info.value.problems if p.file == path]
    assert found and found[0].element_id == f"properties/{field}/pattern"
    assert found[0].code == ModelCode.FORM_PATTERN_UNSUPPORTED and "look-around" in found[0].params["detail"]
