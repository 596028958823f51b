"""One address per list row without `url_for` per row: the address is built once per list with a marker in place
of the row's id, and each row's id is put in its place (`url_for` costs ≈ 40 µs, four times a row;
docs/PERFORMANCE.md, "1,000,000 complaints"). The result is what `url_for` gives for that id. And the layout's
addresses, the same on every page, made once per process (`site_url`)."""
from __future__ import annotations

import re

from flask import request, url_for

#: Stands for the row's id while the address is built: digits, so that an integer converter accepts it too.
_MARKER = "9081726354453627189"
#: Ids made of these characters are never quoted in a path or a query (RFC 3986 unreserved), so they go in as
#: they are; any other id is built by `url_for` itself.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")


class RowLink:
    """`url_for(endpoint, **{key: id}, **values)` for the rows of one list: `link(id)`."""

    def __init__(self, endpoint: str, key: str, **values):
        self._endpoint, self._key, self._values = endpoint, key, values
        parts = url_for(endpoint, **{key: _MARKER}, **values).split(_MARKER)
        self._parts = (parts[0], parts[1]) if len(parts) == 2 else None

    def __call__(self, row_id: int | str) -> str:
        text = str(row_id)
        if self._parts is None or not _UNRESERVED.fullmatch(text) or (isinstance(row_id, int) and row_id < 0):
            return url_for(self._endpoint, **{self._key: row_id}, **self._values)
        return self._parts[0] + text + self._parts[1]


#: The layout's addresses by application root, endpoint and arguments (a few dozen: nothing varies per request).
_SITE: dict[tuple, str] = {}


def site_url(endpoint: str, **values: str) -> str:
    """`url_for` of an address that is the same on every page (the layout's navigation), made once per process and
    application root: some twenty a page, ≈ 40 µs each."""
    key = (request.script_root, endpoint, tuple(sorted(values.items())))
    url = _SITE.get(key)
    if url is None:
        url = _SITE[key] = url_for(endpoint, **values)
    return url
