"""Field errors as codes with parameters: the catalogues of whoever shows them turn them into sentences
(`web/messages.py`), so no layer below the web writes or parses English."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FormCode(StrEnum):
    """Why the form validator refused a value. Parameters named in the comment."""

    FORM_NOT_OBJECT = "form_not_object"
    NAME_NOT_ALLOWED = "name_not_allowed"  # key (the refused name)
    NESTED_TOO_DEEPLY = "nested_too_deeply"
    REQUIRED = "required"
    NOT_IN_FORM = "not_in_form"
    ONE_VALUE_ONLY = "one_value_only"
    TOO_LONG = "too_long"  # max
    TOO_SHORT = "too_short"  # min
    NUL_CHARACTER = "nul_character"
    WRONG_TYPE = "wrong_type"
    NOT_AN_OPTION = "not_an_option"
    BELOW_MINIMUM = "below_minimum"  # minimum
    ABOVE_MAXIMUM = "above_maximum"  # maximum
    NOT_A_DATE_TIME = "not_a_date_time"
    NOT_A_DATE = "not_a_date"
    BAD_FORMAT = "bad_format"  # format (a JSON Schema format name, e.g. "email")
    PATTERN_MISMATCH = "pattern_mismatch"
    TOO_MANY_ITEMS = "too_many_items"  # max
    TOO_FEW_ITEMS = "too_few_items"  # min
    NOT_YES_NO = "not_yes_no"
    NOT_WHOLE_NUMBER = "not_whole_number"
    NOT_A_NUMBER = "not_a_number"
    NOT_ACCEPTED = "not_accepted"  # rule (the JSON Schema keyword that refused it)


@dataclass(frozen=True)
class FieldError:
    """One refusal of one field's value: a code (`FormCode` or `engine.errors.Code`) and the values its
    sentence needs (numbers, names; never a sentence)."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        """A short form for logs and model test reports: `too_long(max=4000)`."""
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.code}({args})" if args else str(self.code)

    def as_dict(self) -> dict[str, Any]:
        """As JSON: `{"code": ..., "params": {...}}`."""
        return {"code": str(self.code), "params": dict(self.params)}


#: Field name → the errors of that field.
FieldErrors = dict[str, list[FieldError]]


def error(code: str, **params: Any) -> FieldError:
    """Shorthand for `FieldError(code, params)`."""
    return FieldError(code, params)
