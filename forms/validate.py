"""Submitted values → clean values or field errors.

`validate` checks typed data (JSON from the API or the CLI). `coerce` first turns the strings an HTML
form posts into typed values, keeping every raw value so a page can show back what was typed.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from jsonschema import FormatChecker

from forms.schema import FormDefinition

MAX_DEPTH = 4
MAX_STRING = 20000
RESERVED_KEYS = frozenset({"typename"})  # breaks SpiffWorkflow deserialization (notes, trap 7)

FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value)
    return True


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


def validate(form: FormDefinition, data: Any) -> tuple[dict, dict[str, list[str]]]:
    """Check `data` against the form. Returns (clean data with defaults applied, errors by field)."""
    if not isinstance(data, Mapping):
        return {}, {"_form": ["the form data must be an object"]}
    errors: dict[str, list[str]] = {}
    for key in data:
        if not isinstance(key, str) or key in RESERVED_KEYS or key.startswith("_"):
            errors.setdefault(str(key), []).append("this field name is not allowed")
    _check_shape(data, "", 0, errors)
    if errors:
        return {}, errors
    clean = dict(data)
    for name, prop in form.properties.items():
        if name not in clean and "default" in prop:
            clean[name] = prop["default"]
    for error in form.validator.iter_errors(clean):
        for name, message in _describe(error, form):
            if message not in errors.get(name, []):
                errors.setdefault(name, []).append(message)
    return (clean if not errors else {}), errors


def _check_shape(value: Any, path: str, depth: int, errors: dict[str, list[str]]) -> None:
    field = path.split("/")[0] or "_form"
    if depth > MAX_DEPTH:
        errors.setdefault(field, []).append("the value is nested too deeply")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key in RESERVED_KEYS:
                errors.setdefault(field, []).append(f"the key {key!r} is not allowed")
            _check_shape(item, f"{path}/{key}" if path else str(key), depth + 1, errors)
    elif isinstance(value, list):
        for item in value:
            _check_shape(item, path, depth + 1, errors)
    elif isinstance(value, str) and len(value) > MAX_STRING:
        errors.setdefault(field, []).append(f"the text is longer than {MAX_STRING} characters")
    elif isinstance(value, str) and "\x00" in value:  # PostgreSQL cannot store it
        errors.setdefault(field, []).append("the text contains a NUL character")
    elif isinstance(value, float) and value != value:  # NaN is not JSON
        errors.setdefault(field, []).append("not a number")


def _describe(error, form: FormDefinition) -> list[tuple[str, str]]:
    if error.validator == "required" and not error.path:
        missing = [n for n in form.required if n not in (error.instance or {})]
        return [(n, "this field is required") for n in missing]
    if error.validator == "additionalProperties" and not error.path:
        extra = set(error.instance) - set(form.properties)
        return [(n, "this field is not part of the form") for n in sorted(extra)]
    name = str(error.path[0]) if error.path else "_form"
    messages = {
        "type": "wrong type of value",
        "enum": "choose one of the offered values",
        "maxLength": f"at most {error.validator_value} characters",
        "minLength": "this field is required" if error.validator_value == 1
        else f"at least {error.validator_value} characters",
        "minimum": f"must be at least {error.validator_value}",
        "maximum": f"must be at most {error.validator_value}",
        "format": f"not a valid {error.validator_value}",
        "pattern": "not in the expected format",
        "maxItems": f"at most {error.validator_value} items",
        "minItems": f"at least {error.validator_value} items",
    }
    return [(name, messages.get(error.validator, error.message))]


_TRUE = {"true", "on", "1", "yes"}
_FALSE = {"false", "off", "0", "no"}


def coerce(form: FormDefinition, raw: Mapping[str, list[str]]) -> tuple[dict, dict[str, list[str]]]:
    """Turn posted strings (name → list of values) into typed values. Unknown names are errors,
    not silently dropped; empty optional fields are left out."""
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, values in raw.items():
        prop = form.properties.get(name)
        if prop is None:
            errors.setdefault(name, []).append("this field is not part of the form")
            continue
        kinds = prop.get("type", "string")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        try:
            if "array" in kinds:
                item_kind = (prop.get("items") or {}).get("type", "string")
                data[name] = [_coerce_one(item_kind, v) for v in values if v != ""]
                continue
            value = values[-1] if values else ""
            if value == "":
                continue
            data[name] = _coerce_one(kinds[0] if len(kinds) == 1 else _guess(kinds, value), value)
        except ValueError as err:
            errors.setdefault(name, []).append(str(err))
    for name, prop in form.properties.items():
        if prop.get("type") == "boolean" and name not in raw and form.widget(name) == "checkbox":
            data[name] = False
    return data, errors


def _guess(kinds: list[str], value: str) -> str:
    if "boolean" in kinds and value.lower() in _TRUE | _FALSE:
        return "boolean"
    if "number" in kinds:
        try:
            float(value)
            return "number"
        except ValueError:
            pass
    return "string"


def _coerce_one(kind: str, value: str) -> Any:
    if kind == "boolean":
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("choose yes or no")
    if kind == "integer":
        try:
            return int(value.strip())
        except ValueError:
            raise ValueError("enter a whole number") from None
    if kind == "number":
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError("enter a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("enter a number")
        return int(number) if number.is_integer() and "." not in value else number
    return value
