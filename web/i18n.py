"""Language of each page: the user's choice, else the browser's, else Chinese. Also the model's own
texts in that language, and the engine's refusals (codes, see `web.messages`) in it."""
from __future__ import annotations

from datetime import tzinfo
from zoneinfo import ZoneInfo

from babel.support import NullTranslations
from flask import Flask, current_app, request, session
from flask_babel import Domain, get_locale
from flask_login import current_user

from engine.errors import ServiceError
from engine.people.users import LOCALES
from forms.errors import FieldError, FieldErrors
from forms.render import Words
from web import messages
from web.catalogue import forget, gettext, per_request, translations

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
    """The page language's code ("zh", "en"), found once per request (as `web.catalogue.translations`: a list
    asks for it on every row)."""
    return per_request("_page_lang", lambda: str(get_locale() or DEFAULT_LOCALE))


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
    app.jinja_env.filters["refusal"] = message  # a field error or service error in the page language

    # The templates' `_()` and friends, as Flask-Babel installs them but on the request's catalogue.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True)

    @app.before_request
    def _mark_missing_translations() -> None:
        if current_app.config["I18N_MARK_MISSING"]:
            _marking.as_default()
            forget()  # a text translated before this one was from the other domain


# --- refusals ------------------------------------------------------------------------------------------

def message(refusal: FieldError | ServiceError) -> str:
    """A field error or a service error in the page language (`web.messages`)."""
    if isinstance(refusal, ServiceError):
        return messages.error_text(refusal, gettext)
    return messages.render(refusal.code, refusal.params, gettext)


def field_errors(errors: FieldErrors) -> dict[str, list[str]]:
    """Field errors with every error in the page language."""
    return messages.field_texts(errors, gettext)
