"""Forms generated from the model's JSON Schema (intake and task forms): reading what was posted,
storing files that came with it, and describing the fields for the templates."""
from __future__ import annotations

from flask import request

from engine.complaints import evidence
from engine.errors import InvalidInput
from forms.errors import FieldErrors
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


def posted_uploads(form: FormDefinition, values: dict[str, list[str]],
                   errors: FieldErrors) -> dict[str, list[evidence.Upload]]:
    """The files posted for the form's file fields, by field, not stored yet: their ids are added to
    `values` (the form's data names them), refused files become errors of their field."""
    posted: dict[str, list[evidence.Upload]] = {}
    for name in file_fields(form):
        uploads = [evidence.Upload(filename=f.filename or "", content=f.read())
                   for f in request.files.getlist(name) if f.filename]
        if not uploads:
            continue
        try:
            evidence.check_uploads(uploads, state().settings.evidence_max_bytes)
        except InvalidInput as err:
            errors.setdefault(name, []).extend(err.errors.get("evidence", []))
            continue
        values[name] = [*values.get(name, []), *(u.id for u in uploads)]
        posted[name] = uploads
    return posted


def all_uploads(posted: dict[str, list[evidence.Upload]]) -> list[evidence.Upload]:
    return [upload for uploads in posted.values() for upload in uploads]


def keep_uploads(posted: dict[str, list[evidence.Upload]], values: dict[str, list[str]],
                 complaint_id: int | None, errors: FieldErrors) -> None:
    """Store the files of a form that is shown again (its other fields had errors), so that it keeps them:
    as the complaint's evidence, or waiting for the intake (`complaint_id` None). A refusal becomes an
    error of the field, and the files are dropped from `values`."""
    uploads = all_uploads(posted)
    if not uploads:
        return
    try:
        with writing() as uow:
            evidence.store_uploads(uow, state().settings, actor(), uploads, complaint_id)
    except InvalidInput as err:
        for name, files in posted.items():
            gone = {u.id for u in files}
            values[name] = [i for i in values.get(name, []) if i not in gone]
            errors.setdefault(name, []).extend(err.errors.get("evidence", []))


def check(form: FormDefinition, values: dict[str, list[str]]) -> tuple[dict, dict[str, list[str]]]:
    """Typed data and every field error at once (typing errors first, then the schema's)."""
    data, errors = coerce(form, prepare_submission(form, values, tz()))
    _, more = validate(form, data)
    return data, {**more, **errors}


def fields(form: FormDefinition, values: dict[str, list[str]], errors: FieldErrors) -> list[Field]:
    """The form's fields for the templates, with the values as typed and translated errors."""
    return describe_form(form, lang(), values, field_errors(errors), words())


def other_errors(form: FormDefinition, errors: FieldErrors) -> list[tuple[str, list[str]]]:
    """Translated errors that belong to no field of the form (names it does not have, the form as a whole),
    for the top of the page: they have no field to stand beside."""
    names = set(form.field_names())
    return [(name, messages) for name, messages in field_errors(errors).items() if name not in names]


def typed_for_display(form: FormDefinition, values: dict[str, list[str]]) -> dict:
    """Posted values for showing back: typed where they could be read, as typed where not."""
    data, _errors = coerce(form, prepare_submission(form, values, tz()))
    shown = {name: (v[0] if len(v) == 1 else v) for name, v in values.items() if name not in data}
    return {**data, **shown}
