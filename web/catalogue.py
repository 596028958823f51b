"""The page's message catalogue, found once per request (docs/PERFORMANCE.md, "1,000,000 complaints"): Flask-Babel
finds it anew for every text (context, domain, locale: about 20 µs), which a full task list pays some 130 times.
The page language is fixed once chosen (Flask-Babel keeps it for the request too). A module of its own so that
`web.labels` can name texts lazily without importing `web.i18n` (which needs the labels)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from babel.support import NullTranslations
from flask import g
from flask_babel import get_translations
from flask_babel.speaklater import LazyString

T = TypeVar("T")


def per_request(key: str, find: Callable[[], T]) -> T:
    """`find()` once per request, kept on `g` under `key` (outside an application context: found each time)."""
    try:
        return getattr(g, key)
    except AttributeError:
        found = find()
        setattr(g, key, found)
        return found
    except RuntimeError:
        return find()


def translations() -> NullTranslations:
    """The request's catalogue (outside a request: none, as Flask-Babel)."""
    return per_request("_page_translations", get_translations)


def forget() -> None:
    """Find the catalogue again at the next text (the request's message domain was changed)."""
    g.pop("_page_translations", None)


def gettext(string: str, **variables) -> str:
    """`flask_babel.gettext` on the request's catalogue."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables) -> LazyString:
    """`flask_babel.lazy_gettext` on the request's catalogue: translated when shown."""
    return LazyString(gettext, string, **variables)
