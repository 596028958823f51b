"""Language of each page: the user's choice, else the browser's, else Chinese. Also the model's own
texts in that language, and the engine's (English) messages in it."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import tzinfo
from zoneinfo import ZoneInfo

from babel.support import NullTranslations
from flask import Flask, current_app, request, session
from flask_babel import Domain, get_locale, gettext
from flask_login import current_user

from engine.people.users import LOCALES
from forms.render import Words

DEFAULT_LOCALE = "zh"
#: Wraps a text that has no translation when `I18N_MARK_MISSING` is on (tests look for it).
MISSING_MARK = "\u27e6{}\u27e7"


def select_locale() -> str:
    """The page language: stored on the user, else chosen before signing in, else the browser's."""
    if current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    if session.get("locale") in LOCALES:
        return session["locale"]
    return request.accept_languages.best_match(LOCALES, default=DEFAULT_LOCALE)


def lang() -> str:
    return str(get_locale() or DEFAULT_LOCALE)


def tz() -> tzinfo:
    """The display time zone (settings) as a zoneinfo object (safe with `datetime.replace`, unlike pytz)."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def words() -> Words:
    """The renderer's words in the page language."""
    return Words(yes=gettext("Yes"), no=gettext("No"))


class _MarkMissing(NullTranslations):
    def gettext(self, message):
        return MISSING_MARK.format(message)

    def ngettext(self, singular, plural, n):
        return MISSING_MARK.format(singular if n == 1 else plural)

    def pgettext(self, context, message):
        return MISSING_MARK.format(message)


class MarkingDomain(Domain):
    """The message domain with missing translations made visible instead of falling back to the msgid."""

    def get_translations(self):
        translations = super().get_translations()
        if not isinstance(getattr(translations, "_fallback", None), _MarkMissing):
            translations.add_fallback(_MarkMissing())
        return translations


_marking = MarkingDomain()


def init_app(app: Flask) -> None:
    @app.before_request
    def _mark_missing_translations() -> None:
        if current_app.config["I18N_MARK_MISSING"]:
            _marking.as_default()


# --- engine messages -----------------------------------------------------------------------------------

def _size(n: str) -> str:
    value = int(n)
    return f"{value / 1024 / 1024:.0f} MB" if value >= 1024 * 1024 else f"{value} B"


#: The engine's and the form validator's messages (English, some with numbers) → the page language.
_MESSAGES: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
    (re.compile(r"this field is required"), lambda m: gettext("This field is required.")),
    (re.compile(r"this field is not part of the form"),
     lambda m: gettext("This field is not part of the form.")),
    (re.compile(r"give only one value"), lambda m: gettext("Give only one value.")),
    (re.compile(r"the text contains a NUL character"), lambda m: gettext("The text contains a NUL character.")),
    (re.compile(r"this field name is not allowed|the key .* is not allowed"),
     lambda m: gettext("This field name is not allowed.")),
    (re.compile(r"the value is nested too deeply"), lambda m: gettext("The value is nested too deeply.")),
    (re.compile(r"the text is longer than (\d+) characters|at most (\d+) characters"),
     lambda m: gettext("At most %(n)s characters.", n=m.group(1) or m.group(2))),
    (re.compile(r"at least (\d+) characters"), lambda m: gettext("At least %(n)s characters.", n=m.group(1))),
    (re.compile(r"not a number|enter a number"), lambda m: gettext("Enter a number.")),
    (re.compile(r"enter a whole number"), lambda m: gettext("Enter a whole number.")),
    (re.compile(r"choose yes or no"), lambda m: gettext("Choose yes or no.")),
    (re.compile(r"wrong type of value"), lambda m: gettext("This value has the wrong type.")),
    (re.compile(r"choose one of the offered values"), lambda m: gettext("Choose one of the offered values.")),
    (re.compile(r"must be at least (\S+)"), lambda m: gettext("Must be at least %(n)s.", n=m.group(1))),
    (re.compile(r"must be at most (\S+)"), lambda m: gettext("Must be at most %(n)s.", n=m.group(1))),
    (re.compile(r"not a valid date-time"), lambda m: gettext("Enter a date and time.")),
    (re.compile(r"not a valid date"), lambda m: gettext("Enter a date.")),
    (re.compile(r"not a valid (\S+)"), lambda m: gettext("Not a valid value.")),
    (re.compile(r"not in the expected format"), lambda m: gettext("Not in the expected format.")),
    (re.compile(r"at most (\d+) items"), lambda m: gettext("At most %(n)s items.", n=m.group(1))),
    (re.compile(r"at least (\d+) items"), lambda m: gettext("At least %(n)s items.", n=m.group(1))),
    (re.compile(r"the form data must be an object"), lambda m: gettext("The form could not be read.")),
    (re.compile(r"the time lies in the future"), lambda m: gettext("The time lies in the future.")),
    (re.compile(r"the time needs a time zone"), lambda m: gettext("Enter a date and time.")),
    (re.compile(r"say why the customer cannot be reached"),
     lambda m: gettext("Say why the customer cannot be reached.")),
    (re.compile(r"give a time zone"), lambda m: gettext("Enter a date and time.")),
    (re.compile(r"must be in the future and within (\d+) days"),
     lambda m: gettext("Must be in the future and within %(n)s days.", n=m.group(1))),
    (re.compile(r"this task has no running deadline"),
     lambda m: gettext("This task has no running deadline.")),
    (re.compile(r"must be later than the current deadline"),
     lambda m: gettext("Must be later than the current deadline.")),
    (re.compile(r"(.+): the file is larger than (\d+) bytes"),
     lambda m: gettext("%(file)s: the file is larger than %(size)s.", file=m.group(1),
                       size=_size(m.group(2)))),
    (re.compile(r"(.+): this type of file is not accepted"),
     lambda m: gettext("%(file)s: this type of file is not accepted (allowed: pictures, PDF, audio, video, "
                       "text).", file=m.group(1))),
    (re.compile(r"(.+): the file is empty"),
     lambda m: gettext("%(file)s: the file is empty.", file=m.group(1))),
    (re.compile(r"(.+): no such uploaded file"),
     lambda m: gettext("An uploaded file is no longer available; please add it again.")),
]


def message(text: str) -> str:
    """An engine message in the page language (an unknown one in a general sentence, with its detail)."""
    for pattern, translate in _MESSAGES:
        match = pattern.fullmatch(text.strip())
        if match:
            return translate(match)
    return gettext("This value is not accepted (%(detail)s).", detail=text)


def field_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Field errors with every message in the page language."""
    return {name: [message(m) for m in messages] for name, messages in errors.items()}
