"""Why model code failed, as a code and its params (`engine.errors.Code.RUN_*`), taken from the exception's
type and attributes, never from its English message (docs/ARCHITECTURE.md, "Errors")."""
from __future__ import annotations

from typing import Any

from simpleeval import FunctionNotDefined, NameNotDefined

from engine.errors import BadModelValue, Code

#: A param longer than this (a key, an expression's source) is cut: it names, it does not quote.
MAX_PARAM = 200


def shown(value: Any) -> str:
    """A value as a param: text as it is, anything else as Python writes it, at most MAX_PARAM characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_PARAM else text[:MAX_PARAM - 1] + "…"


def reason_of(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """The reason code and params of an exception raised by model code (Python's or simpleeval's, or a model
    function's `BadModelValue`)."""
    if isinstance(exc, BadModelValue):
        return exc.code, {name: shown(value) if isinstance(value, str) else value for name, value in exc.params.items()}
    if isinstance(exc, NameNotDefined):
        return Code.RUN_UNDEFINED_NAME, {"name": shown(exc.name)}
    if isinstance(exc, FunctionNotDefined):
        return Code.RUN_UNDEFINED_FUNCTION, {"function": shown(exc.func_name)}
    if isinstance(exc, NameError):
        name = getattr(exc, "name", None)
        return (Code.RUN_UNDEFINED_NAME, {"name": shown(name)}) if name else (Code.RUN_ENGINE_ERROR,
                                                                               {"kind": "NameError"})
    if isinstance(exc, KeyError):
        return Code.RUN_MISSING_KEY, {"key": shown(exc.args[0]) if exc.args else "?"}
    if isinstance(exc, IndexError):
        return Code.RUN_INDEX_OUT_OF_RANGE, {}
    if isinstance(exc, ZeroDivisionError):
        return Code.RUN_DIVISION_BY_ZERO, {}
    if isinstance(exc, TypeError):
        return Code.RUN_WRONG_TYPE, {"kind": type(exc).__name__}
    if isinstance(exc, ValueError):
        return Code.RUN_BAD_VALUE, {"kind": type(exc).__name__}
    if isinstance(exc, SyntaxError):
        return Code.RUN_SYNTAX, {"line": exc.lineno, "column": exc.offset}
    return Code.RUN_ENGINE_ERROR, {"kind": type(exc).__name__}
