"""The fixed forms of the UI (sign-in, comments, contacts, search), as Flask-WTF forms.

Task and intake forms are not here: they come from the model's JSON Schema (see `forms.render`).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from engine.complaints.casework import CONTACT_CHANNELS
from engine.db import UnitOfWork
from engine.errors import InvalidInput
from engine.people.users import LOCALES
from forms.validate import MAX_TEXT, on_the_calendar
from web.context import writing
from web.i18n import field_errors
from web.labels import CONTACT_CHANNELS as CHANNEL_LABELS
from web.labels import WITHDRAWAL_REASONS

REQUIRED = _l("This field is required.")


def on_calendar(form, field) -> None:
    """A date-time far enough from year 1 and year 9999 to be converted to UTC and back."""
    if field.data is not None and not on_the_calendar(field.data):
        raise ValidationError(_l("Enter a date and time."))


def on_calendar_day(form, field) -> None:
    """A date far enough from year 1 and year 9999 to be the start or end of a period in any time zone."""
    if field.data is not None and not on_the_calendar(datetime.combine(field.data, time())):
        raise ValidationError(_l("Enter a date."))


class OneValueForm(FlaskForm):
    """A form whose fields take one value each: a field posted twice is an error (WTForms would quietly
    keep the first value and drop the other)."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if field.type != "CSRFTokenField" and len(field.raw_data or ()) > 1:
                field.errors.append(_l("Give only one value."))
                valid = False
        return valid


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(REQUIRED), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=200)])
    next = HiddenField()


class LanguageForm(FlaskForm):
    locale = HiddenField(validators=[InputRequired(), Length(max=10)])
    next = HiddenField()

    def validate_locale(self, field) -> None:
        if field.data not in LOCALES:
            raise ValidationError(_l("Choose one of the offered values."))


class ActionForm(FlaskForm):
    """A button that changes something (claim, release, sign out): only the CSRF token."""


class CommentForm(OneValueForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(REQUIRED), Length(max=MAX_TEXT)])


class ContactForm(OneValueForm):
    contacted_at = DateTimeLocalField(_l("Time of contact"), format="%Y-%m-%dT%H:%M",
                                      validators=[InputRequired(REQUIRED), on_calendar])
    channel = SelectField(_l("Channel"),
                          choices=[SelectChoice(c, CHANNEL_LABELS[c]) for c in CONTACT_CHANNELS])
    summary = TextAreaField(_l("What was said"), validators=[DataRequired(REQUIRED), Length(max=MAX_TEXT)])


class WithdrawForm(OneValueForm):
    """The agent records the customer's withdrawal (撤诉); the engine checks the reason and the note."""

    reason = SelectField(_l("Why the customer withdrew"),
                         choices=[SelectChoice(k, v) for k, v in WITHDRAWAL_REASONS.items()])
    note = TextAreaField(_l("Note (required for another reason)"), validators=[Length(max=MAX_TEXT)])


class SearchForm(FlaskForm):
    """The search filters (a GET form: no CSRF token, nothing is changed)."""

    class Meta:
        csrf = False

    q = StringField(_l("Text"), validators=[Optional(), Length(max=200)])
    status = SelectField(_l("Status"), validate_choice=False)
    level = SelectField(_l("Level"), validate_choice=False)
    category = SelectField(_l("Category"), validate_choice=False)
    department = SelectField(_l("Department"), validate_choice=False)
    channel = SelectField(_l("Channel"), validate_choice=False)
    created_from = DateField(_l("Received from"), validators=[Optional(), on_calendar_day])
    created_to = DateField(_l("Received until"), validators=[Optional(), on_calendar_day])


class DeferralForm(OneValueForm):
    """The agent's deferral request (投诉延期处理申请): the customer cannot be reached."""

    until = DateTimeLocalField(_l("New deadline"), format="%Y-%m-%dT%H:%M",
                               validators=[InputRequired(REQUIRED), on_calendar])
    reason = TextAreaField(_l("Why the customer cannot be reached"),
                           validators=[DataRequired(REQUIRED), Length(max=MAX_TEXT)])


class DecisionForm(OneValueForm):
    """The general manager's decision on a deferral request (the button pressed says which)."""

    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=MAX_TEXT)])


def saved(form: FlaskForm, change: Callable[[UnitOfWork], Any]) -> tuple[bool, Any]:
    """Run the use case `change(uow)` in one unit of work when `form` validates, the engine's refusals beside
    the form's fields (a field the form lacks: beside its first): whether it was saved, and what it returned."""
    if not form.validate_on_submit():
        return False, None
    try:
        with writing() as uow:
            return True, change(uow)
    except InvalidInput as err:
        first = next(iter(form))
        for name, texts in field_errors(err.errors).items():
            field = getattr(form, name, None)
            (field if field is not None else first).errors = list(texts)
        return False, None


def form_page(template: str, form: FlaskForm) -> tuple[str, int]:
    """The page of a form that `saved` did not save: 422 when it was posted (refused), 200 when first shown."""
    return render_template(template, form=form), 422 if request.method == "POST" else 200
