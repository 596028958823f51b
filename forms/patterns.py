"""Regular expressions on user text, in time linear in the text: RE2 (google-re2), never Python's `re`.

A form schema's `pattern` comes from a model and is matched against what people type. Python's backtracking
engine takes exponential time on patterns such as ``^([A-Z0-9]+-?)+$`` with a few dozen characters that almost
match, which froze a web worker. RE2 has no backtracking; the price is that it refuses a few constructs
(backreferences, look-around), and a pattern it cannot run is refused when the model is deployed
(`pattern_problems`, docs/MODELLING.md).
"""
from __future__ import annotations

import functools
from collections.abc import Iterator

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is reported to the modeller, not logged by the C++ library
_OPTIONS.max_mem = 8 << 20  # a pattern whose automaton needs more (e.g. nested counted repetition) is refused


class PatternError(ValueError):
    """A pattern RE2 cannot run: `pattern` (as written in the schema, shown as text); str() is the technical
    message, RE2's own words included."""

    def __init__(self, message: str, pattern: str):
        super().__init__(message)
        self.pattern = pattern


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str):
    """`pattern` compiled by RE2, once per pattern; PatternError if RE2 cannot run it."""
    if not isinstance(pattern, str):
        raise PatternError(f"a pattern must be text, not {type(pattern).__name__}", repr(pattern))
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as err:
        reason = err.args[0].decode(errors="replace") if err.args and isinstance(err.args[0], bytes) else str(err)
        raise PatternError(f"pattern {pattern!r} cannot be used here: {reason} (form patterns run on RE2: no "
                           f"backreferences or look-around, repetition counts up to 1000)", pattern) from None


def pattern_matches(pattern: str, text: str) -> bool:
    """JSON Schema `pattern`: does `pattern` match anywhere in `text` (unanchored, as ECMA-262 `test`)?"""
    return compile_pattern(pattern).search(text) is not None


_NAMED_SCHEMAS = ("properties", "$defs", "definitions", "dependentSchemas")
_DATA = ("const", "enum", "default", "examples")


def _patterns(schema, where: str) -> Iterator[tuple[str, object]]:
    """(JSON pointer, pattern) of every `pattern` keyword in `schema`; `patternProperties` as (pointer, None)."""
    if isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from _patterns(item, f"{where}/{index}")
        return
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        at = f"{where}/{key}" if where else key
        if key == "pattern":
            yield at, value
        elif key == "patternProperties":
            yield at, None
        elif key in _NAMED_SCHEMAS and isinstance(value, dict):
            for name, sub in value.items():
                yield from _patterns(sub, f"{at}/{name}")
        elif key not in _DATA:
            yield from _patterns(value, at)


def pattern_problems(schema: dict) -> list[tuple[str, PatternError | None]]:
    """(JSON pointer, the refusal) for every `pattern` in `schema` RE2 cannot run, and (JSON pointer, None)
    for `patternProperties`, which forms do not support (name each field in properties)."""
    problems: list[tuple[str, PatternError | None]] = []
    for where, pattern in _patterns(schema, ""):
        if pattern is None:  # jsonschema would match property names with Python's backtracking `re`
            problems.append((where, None))
            continue
        try:
            compile_pattern(pattern)
        except PatternError as err:
            problems.append((where, err))
    return problems
