"""Submitted values → clean values or field errors.

`validate` checks typed data (JSON from the API or the CLI). `coerce` first turns the strings an HTML
form posts into typed values, keeping every raw value so a page can show back what was typed.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from forms.errors import FieldError, FieldErrors, FormCode, error
from forms.patterns import pattern_matches
from forms.schema import FormDefinition

MAX_DEPTH = 4
MAX_STRING = 20000
#: Free texts entered outside a model's form: comments, contacts, deferral requests and decisions.
MAX_TEXT = 4000
#: Breaks restoring a SpiffWorkflow state (docs/ARCHITECTURE.md, SpiffWorkflow fact 4).
RESERVED_KEYS = frozenset({"typename"})
#: Local times this close to the calendar's ends overflow when shown in another time zone (year 1, 9999).
CALENDAR_MARGIN = timedelta(days=2)

FORMAT_CHECKER = FormatChecker()


def on_the_calendar(moment: datetime) -> bool:
    """Whether `moment` can be converted to any time zone (it is not within days of year 1 or year 9999)."""
    wall = moment.replace(tzinfo=None)
    return datetime.min + CALENDAR_MARGIN <= wall <= datetime.max - CALENDAR_MARGIN


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if isinstance(value, str) and not on_the_calendar(datetime.fromisoformat(value)):
        raise ValueError("the time is too close to the ends of the calendar")
    return True


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


def _pattern_within_length(validator, pattern, instance, schema):
    """The `pattern` keyword, skipped for a text already longer than its `maxLength` (which reports it):
    matching a long hostile text against a model's regular expression can backtrack for seconds."""
    if isinstance(instance, str) and len(instance) > schema.get("maxLength", MAX_STRING):
        return
    if isinstance(instance, str) and not pattern_matches(pattern, instance):  # RE2: linear time, no backtracking
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


#: JSON Schema 2020-12 as the forms use it (see `FormDefinition.validator`).
FormValidator = validators.extend(Draft202012Validator, {"pattern": _pattern_within_length})


def validate(form: FormDefinition, data: Any) -> tuple[dict, FieldErrors]:
    """Check `data` against the form. Returns (clean data with defaults applied, errors by field)."""
    if not isinstance(data, Mapping):
        return {}, {"_form": [error(FormCode.FORM_NOT_OBJECT)]}
    refused: FieldErrors = {}
    for key in data:
        if not isinstance(key, str) or key in RESERVED_KEYS or key.startswith("_"):
            refused.setdefault(str(key), []).append(error(FormCode.NAME_NOT_ALLOWED, key=str(key)))
    _check_shape(data, "", 0, refused)
    # Values refused by their shape are left out of the schema check (their error says it all, and they
    # may be huge); the other fields are still checked, so that every error shows at once.
    clean = {key: value for key, value in data.items() if str(key) not in refused}
    for name, prop in form.properties.items():
        if name not in clean and name not in refused and "default" in prop:
            clean[name] = prop["default"]
    errors = dict(refused)
    for problem in form.validator.iter_errors(clean):
        for name, refusal in _describe(problem, form):
            if name in refused and name != "_form":
                continue
            if refusal not in errors.get(name, []):
                errors.setdefault(name, []).append(refusal)
    return (clean if not errors else {}), errors


def raw_errors(form: FormDefinition, raw: Mapping[str, list[str]]) -> FieldErrors:
    """What no posted form may hold, complete or not (a draft neither): names the form does not have,
    several values for a field of one value, NUL characters, texts longer than MAX_STRING."""
    errors: FieldErrors = {}
    for name, values in raw.items():
        prop = form.properties.get(name)
        if prop is None:
            errors[name] = [error(FormCode.NOT_IN_FORM)]
            continue
        problems = []
        if "array" not in _kinds(prop) and len(values) > 1:  # a browser sends one; never pick one silently
            problems.append(error(FormCode.ONE_VALUE_ONLY))
        problems += next(filter(None, (_text_problems(value, MAX_STRING) for value in values)), [])
        if problems:
            errors[name] = problems
    return errors


def text_errors(text: str, max_length: int = MAX_TEXT, required: bool = True) -> list[FieldError]:
    """The errors of one free text outside a model's form (a comment, a contact, a deferral request)."""
    if not text:
        return [error(FormCode.REQUIRED)] if required else []
    return _text_problems(text, max_length)


def _text_problems(text: str, max_length: int) -> list[FieldError]:
    if len(text) > max_length:
        return [error(FormCode.TOO_LONG, max=max_length)]
    if "\x00" in text:  # PostgreSQL cannot store it
        return [error(FormCode.NUL_CHARACTER)]
    return []


def _kinds(prop: Mapping) -> list[str]:
    kinds = prop.get("type", "string")
    return list(kinds) if isinstance(kinds, list) else [kinds]


def _check_shape(value: Any, path: str, depth: int, errors: FieldErrors) -> None:
    field = path.split("/")[0] or "_form"
    if depth > MAX_DEPTH:
        errors.setdefault(field, []).append(error(FormCode.NESTED_TOO_DEEPLY))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key in RESERVED_KEYS:
                errors.setdefault(field, []).append(error(FormCode.NAME_NOT_ALLOWED, key=str(key)))
            _check_shape(item, f"{path}/{key}" if path else str(key), depth + 1, errors)
    elif isinstance(value, list):
        for item in value:
            _check_shape(item, path, depth + 1, errors)
    elif isinstance(value, str) and (problems := _text_problems(value, MAX_STRING)):
        errors.setdefault(field, []).extend(problems)
    elif isinstance(value, float) and value != value:  # NaN is not JSON
        errors.setdefault(field, []).append(error(FormCode.NOT_A_NUMBER))


_FORMATS = {"date-time": FormCode.NOT_A_DATE_TIME, "date": FormCode.NOT_A_DATE}


def _describe(problem, form: FormDefinition) -> list[tuple[str, FieldError]]:
    if problem.validator == "required" and not problem.path:
        # The failing schema's own list: the form's top-level `required`, or a conditional one (`if`/`then`,
        # `allOf` …) whose field is missing from the data entirely, not only sent empty.
        missing = [n for n in problem.validator_value if n not in (problem.instance or {})]
        return [(str(n), error(FormCode.REQUIRED)) for n in missing]
    if problem.validator == "additionalProperties" and not problem.path:
        extra = set(problem.instance) - set(form.properties)
        return [(n, error(FormCode.NOT_IN_FORM)) for n in sorted(extra)]
    name = str(problem.path[0]) if problem.path else "_form"
    value = problem.validator_value
    plain = {"type": FormCode.WRONG_TYPE, "enum": FormCode.NOT_AN_OPTION, "pattern": FormCode.PATTERN_MISMATCH}
    if problem.validator in plain:
        refusal = error(plain[problem.validator])
    elif problem.validator == "maxLength":
        refusal = error(FormCode.TOO_LONG, max=value)
    elif problem.validator == "minLength":
        refusal = error(FormCode.REQUIRED) if value == 1 else error(FormCode.TOO_SHORT, min=value)
    elif problem.validator == "minimum":
        refusal = error(FormCode.BELOW_MINIMUM, minimum=value)
    elif problem.validator == "maximum":
        refusal = error(FormCode.ABOVE_MAXIMUM, maximum=value)
    elif problem.validator == "format":
        refusal = error(_FORMATS[value]) if value in _FORMATS else error(FormCode.BAD_FORMAT, format=value)
    elif problem.validator == "maxItems":
        refusal = error(FormCode.TOO_MANY_ITEMS, max=value)
    elif problem.validator == "minItems":
        refusal = error(FormCode.TOO_FEW_ITEMS, min=value)
    else:
        refusal = error(FormCode.NOT_ACCEPTED, rule=problem.validator)
    return [(name, refusal)]


_TRUE = {"true", "on", "1", "yes"}
_FALSE = {"false", "off", "0", "no"}


class _Refused(ValueError):
    """A posted string that cannot become a value of its field's type."""

    def __init__(self, code: FormCode):
        super().__init__(str(code))
        self.code = code


def coerce(form: FormDefinition, raw: Mapping[str, list[str]]) -> tuple[dict, FieldErrors]:
    """Turn posted strings (name → list of values) into typed values. Unknown names and the rest of
    `raw_errors` are errors, not silently dropped; empty optional fields are left out."""
    data: dict[str, Any] = {}
    errors = raw_errors(form, raw)
    for name, values in raw.items():
        if name in errors:
            continue
        prop = form.properties[name]
        kinds = _kinds(prop)
        try:
            if "array" in kinds:
                item_kind = (prop.get("items") or {}).get("type", "string")
                data[name] = [_coerce_one(item_kind, v) for v in values if v != ""]
                continue
            value = values[-1] if values else ""
            if value == "":
                continue
            data[name] = _coerce_one(kinds[0] if len(kinds) == 1 else _guess(kinds, value), value)
        except _Refused as refused:
            errors.setdefault(name, []).append(error(refused.code))
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
        raise _Refused(FormCode.NOT_YES_NO)
    if kind == "integer":
        try:
            return int(value.strip())
        except ValueError:
            raise _Refused(FormCode.NOT_WHOLE_NUMBER) from None
    if kind == "number":
        try:
            number = float(value.strip())
        except ValueError:
            raise _Refused(FormCode.NOT_A_NUMBER) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise _Refused(FormCode.NOT_A_NUMBER)
        return int(number) if number.is_integer() and "." not in value else number
    return value
