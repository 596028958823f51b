"""Forms generated from the model's JSON Schema (intake and task forms): reading what was posted,
storing files that came with it, and describing the fields for the templates."""
from __future__ import annotations

from flask import request

from engine.complaints import evidence
from engine.errors import InvalidInput
from forms.render import Field, describe_form, prepare_submission
from forms.schema import FormDefinition
from forms.validate import coerce, validate
from web.context import actor, state, writing
from web.i18n import field_errors, lang, tz, words

#: Posted names that belong to the page, not to the model's form (model field names never start with "_").
CONTROL_FIELDS = ("csrf_token", "_version", "_action")


def posted_values() -> dict[str, list[str]]:
    """Every posted text field as typed, name → list of values (control fields left out)."""
    return {name: values for name, values in request.form.to_dict(flat=False).items()
            if name not in CONTROL_FIELDS}


def file_fields(form: FormDefinition) -> list[str]:
    return [name for name in form.field_names() if form.widget(name) == "file"]


def store_posted_files(form: FormDefinition, values: dict[str, list[str]], complaint_id: int | None,
                       errors: dict[str, list[str]]) -> None:
    """Store the files posted for the form's file fields and add their ids to `values` (so a form shown
    again keeps them); refused files become errors of their field."""
    for name in file_fields(form):
        uploads = [evidence.Upload(filename=f.filename or "", content=f.read())
                   for f in request.files.getlist(name) if f.filename]
        if not uploads:
            continue
        try:
            with writing() as uow:
                ids = evidence.store_uploads(uow, state().settings, actor(), uploads, complaint_id)
        except InvalidInput as err:
            errors.setdefault(name, []).extend(err.errors.get("evidence", []))
            continue
        values[name] = [*values.get(name, []), *ids]


def check(form: FormDefinition, values: dict[str, list[str]]) -> tuple[dict, dict[str, list[str]]]:
    """Typed data and every field error at once (typing errors first, then the schema's)."""
    data, errors = coerce(form, prepare_submission(form, values, tz()))
    _, more = validate(form, data)
    return data, {**more, **errors}


def fields(form: FormDefinition, values: dict[str, list[str]], errors: dict[str, list[str]]) -> list[Field]:
    """The form's fields for the templates, with the values as typed and translated errors."""
    return describe_form(form, lang(), values, field_errors(errors), words())


def other_errors(form: FormDefinition, errors: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    """Translated errors that belong to no field of the form (names it does not have, the form as a whole),
    for the top of the page: they have no field to stand beside."""
    names = set(form.field_names())
    return [(name, messages) for name, messages in field_errors(errors).items() if name not in names]


def typed_for_display(form: FormDefinition, values: dict[str, list[str]]) -> dict:
    """Posted values for showing back: typed where they could be read, as typed where not."""
    data, _errors = coerce(form, prepare_submission(form, values, tz()))
    shown = {name: (v[0] if len(v) == 1 else v) for name, v in values.items() if name not in data}
    return {**data, **shown}
