"""The API's query and body schemas (marshmallow) refuse values with codes, not English.

Marshmallow words each refusal with `message.format(**values)`. Before a schema loads, `load` gives each
of its fields, validators and the schema itself messages that are `_Coded` strings: their `format` keeps
the `FieldError` (a `FormCode` or engine `Code` with its params) that the values amount to, and `load`
raises them as an `InvalidInput`, which the API words in the request's language like every engine refusal
(`web/messages.py`; docs/ARCHITECTURE.md, "Errors"). Nothing parses marshmallow's sentences.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from engine.errors import Code, InvalidInput
from forms.errors import FieldError, FieldErrors, FormCode, error

log = logging.getLogger(__name__)

#: The refusal a set of marshmallow's format values amounts to.
Refusal = Callable[[dict[str, Any]], FieldError]


class _Coded(str):
    """A marshmallow message that is a code: formatting it keeps the refusal, not a sentence."""

    refusal: Refusal
    found: FieldError | None

    def __new__(cls, refusal: Refusal, found: FieldError | None = None) -> _Coded:
        coded = super().__new__(cls, "coded")
        coded.refusal, coded.found = refusal, found
        return coded

    def format(self, *args: Any, **values: Any) -> _Coded:  # type: ignore[override]
        return _Coded(self.refusal, self.refusal(values))

    @property
    def error(self) -> FieldError:
        """The refusal (messages used without formatting, such as "unknown field", have no values)."""
        return self.found or self.refusal({})


def _always(code: str, **params: Any) -> Refusal:
    return lambda _values: error(code, **params)


#: Why a field refused a value of the wrong kind, by field class (the first match in its MRO).
_INVALID = {fields.Boolean: FormCode.NOT_YES_NO, fields.Integer: FormCode.NOT_WHOLE_NUMBER,
            fields.Number: FormCode.NOT_A_NUMBER, fields.DateTime: FormCode.NOT_A_DATE_TIME,
            fields.Date: FormCode.NOT_A_DATE}
#: Marshmallow's field error keys that mean the same whatever the field.
_KEYS = {"required": FormCode.REQUIRED, "null": FormCode.REQUIRED, "invalid_awareness": Code.NEEDS_TIME_ZONE,
         "invalid_utf8": Code.NOT_UTF8, "special": FormCode.NOT_A_NUMBER, "too_large": FormCode.NOT_A_NUMBER}


def _field_refusal(field: fields.Field, key: str) -> Refusal:
    if key in _KEYS:
        return _always(_KEYS[key])
    for kind in type(field).__mro__:
        if key == "invalid" and kind in _INVALID:
            return _always(_INVALID[kind])
    if key == "validator_failed":
        return _always(FormCode.NOT_ACCEPTED, rule=field.name or "validate")
    return _always(FormCode.WRONG_TYPE)


def _length(validator: validate.Length, items: bool) -> Refusal:
    short, long = ((FormCode.TOO_FEW_ITEMS, FormCode.TOO_MANY_ITEMS) if items
                   else (FormCode.TOO_SHORT, FormCode.TOO_LONG))

    def refusal(values: dict[str, Any]) -> FieldError:
        low = validator.equal if validator.equal is not None else validator.min
        high = validator.equal if validator.equal is not None else validator.max
        if low is not None and len(values.get("input") or ()) < low:
            return error(short, min=low)
        return error(long, max=high)

    return refusal


def _range(validator: validate.Range) -> Refusal:
    def refusal(values: dict[str, Any]) -> FieldError:
        value, low = values.get("input"), validator.min
        if low is not None and value is not None and (value < low or (value == low and not validator.min_inclusive)):
            return error(FormCode.BELOW_MINIMUM, minimum=low)
        return error(FormCode.ABOVE_MAXIMUM, maximum=validator.max)

    return refusal


def _validator_refusal(validator: Any, field: fields.Field) -> Refusal:
    if isinstance(validator, validate.Length):
        return _length(validator, items=isinstance(field, fields.List | fields.Tuple))
    if isinstance(validator, validate.Range):
        return _range(validator)
    if isinstance(validator, validate.OneOf):
        return _always(Code.ONE_OF, options=", ".join(map(str, validator.choices)))
    if isinstance(validator, validate.Regexp):
        return _always(FormCode.PATTERN_MISMATCH)
    if isinstance(validator, validate.Email):
        return _always(FormCode.BAD_FORMAT, format="email")
    return _always(FormCode.NOT_ACCEPTED, rule=type(validator).__name__)


def _code_field(field: fields.Field) -> None:
    field.error_messages = {key: _Coded(_field_refusal(field, key)) for key in field.error_messages}
    for validator in field.validators:
        if hasattr(validator, "error"):
            validator.error = _Coded(_validator_refusal(validator, field))
    if isinstance(field, fields.Nested) and isinstance(field.schema, ma.Schema):
        _code_schema(field.schema)
    for inner in (getattr(field, "inner", None), getattr(field, "key_field", None),
                  getattr(field, "value_field", None), *getattr(field, "tuple_fields", ())):
        if isinstance(inner, fields.Field):
            _code_field(inner)


def _code_schema(schema: ma.Schema) -> None:
    schema.error_messages = {"type": _Coded(_always(FormCode.FORM_NOT_OBJECT)),
                             "unknown": _Coded(_always(FormCode.NOT_IN_FORM))}
    for field in schema.fields.values():
        _code_field(field)


def field_errors(messages: Any, prefix: str = "") -> FieldErrors:
    """Marshmallow's nested error messages as `{"field.sub": [FieldError]}`."""
    found: FieldErrors = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            for name, errors in field_errors(value, f"{prefix}.{key}" if prefix else str(key)).items():
                found.setdefault(name, []).extend(errors)
    elif isinstance(messages, list):
        for item in messages:
            for name, errors in field_errors(item, prefix).items():
                found.setdefault(name, []).extend(errors)
    elif isinstance(messages, _Coded):
        found[prefix or "_body"] = [messages.error]
    else:  # a message this module did not code: refused all the same, never worded in English
        log.warning("an API validation message without a code: %r", messages)
        found[prefix or "_body"] = [error(FormCode.NOT_ACCEPTED, rule=prefix or "body")]
    return found


def load(schema: ma.Schema, data: Any) -> Any:
    """`schema.load(data)`, refusing with an `InvalidInput` of codes (the schema instance is changed: use a
    fresh one)."""
    _code_schema(schema)
    try:
        return schema.load(data)
    except ma.ValidationError as err:
        raise InvalidInput(field_errors(err.messages)) from err
