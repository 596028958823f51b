"""Attribute access: only methods of plain data are reachable, and those that make new values are charged.

Expressions get the methods without side effects; scripts may also change lists and dicts in place.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from RestrictedPython.Guards import safer_getattr_raise

from engine.workflow.sandbox.budget import SandboxError, charge

STR_METHODS = frozenset({
    "capitalize", "casefold", "center", "count", "endswith", "expandtabs", "find", "index", "isalnum",
    "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable",
    "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition", "removeprefix",
    "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip", "split",
    "splitlines", "startswith", "strip", "swapcase", "title", "upper", "zfill",
})
EXPRESSION_METHODS = {
    str: STR_METHODS,
    list: frozenset({"copy", "count", "index"}),
    dict: frozenset({"copy", "get", "items", "keys", "values"}),
}
SCRIPT_METHODS = {
    str: STR_METHODS,
    list: frozenset({"append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove",
                     "reverse", "sort"}),
    dict: frozenset({"clear", "copy", "get", "items", "keys", "pop", "popitem", "setdefault", "update",
                     "values"}),
}
EXPRESSION_ATTRIBUTE_NAMES = frozenset().union(*EXPRESSION_METHODS.values())
SCRIPT_ATTRIBUTE_NAMES = frozenset().union(*SCRIPT_METHODS.values())

PART_WEIGHT = 8
"""What one string made by split() and friends costs, in characters: each is a separate object of ~50 bytes,
so a million one-letter parts weigh far more than a million-character text."""


def _padding(method):
    def pad(width, *args):
        if isinstance(width, int):
            charge(width, f"str.{method.__name__}()")
        return method(width, *args)
    return pad


def _expandtabs(method):
    def expandtabs(tabsize=8):
        text = method.__self__
        if isinstance(tabsize, int):
            charge(len(text) + text.count("\t") * max(tabsize, 0), "str.expandtabs()")
        return method(tabsize)
    return expandtabs


def _join(method):
    def join(iterable):
        parts = list(iterable)
        if all(isinstance(part, str) for part in parts):
            separators = len(method.__self__) * max(len(parts) - 1, 0)
            charge(sum(map(len, parts)) + separators, "str.join()")
        return method(parts)
    return join


def _replace(method):
    def replace(old, new, count=-1):
        text = method.__self__
        if isinstance(old, str) and isinstance(new, str) and isinstance(count, int):
            hits = text.count(old) if old else len(text) + 1
            if count >= 0:
                hits = min(hits, count)
            charge(len(text) + hits * max(len(new) - len(old), 0), "str.replace()")
        return method(old, new, count)
    return replace


def _text_copy(method):
    """upper(), strip(), partition()…: a new text as long as the old one at most."""
    def copy_text(*args, **kwargs):
        charge(len(method.__self__), f"str.{method.__name__}()")
        return method(*args, **kwargs)
    return copy_text


def _splitting(method):
    """split(), rsplit(), splitlines(): the text again, plus a weight for every part made."""
    def split(*args, **kwargs):
        charge(len(method.__self__), f"str.{method.__name__}()")
        parts = method(*args, **kwargs)
        charge(PART_WEIGHT * len(parts), f"str.{method.__name__}()")
        return parts
    return split


def _copy(method):
    def copy_():
        charge(len(method.__self__), f"{type(method.__self__).__name__}.copy()")
        return method()
    return copy_


def _extend(method):
    def extend(iterable):
        items = iterable if hasattr(iterable, "__len__") else list(iterable)
        charge(len(method.__self__) + len(items), "list.extend()")
        method(items)
    return extend


_SIZE_CHECKED: dict[tuple[type, str], Callable[[Any], Any]] = {
    (str, "center"): _padding, (str, "ljust"): _padding, (str, "rjust"): _padding, (str, "zfill"): _padding,
    (str, "expandtabs"): _expandtabs, (str, "join"): _join, (str, "replace"): _replace,
    (list, "copy"): _copy, (list, "extend"): _extend, (dict, "copy"): _copy,
    **{(str, name): _text_copy for name in (
        "capitalize", "casefold", "lower", "lstrip", "partition", "removeprefix", "removesuffix", "rpartition",
        "rstrip", "strip", "swapcase", "title", "upper")},
    **{(str, name): _splitting for name in ("split", "rsplit", "splitlines")},
}


def attribute(value, name: str, allowed: dict):
    """`value.name` if `name` is an allowed method of `value`'s exact type, else SandboxError."""
    kind = type(value)
    if name not in allowed.get(kind, ()):
        if kind in allowed:
            raise SandboxError(f"'.{name}' is not allowed on {kind.__name__} values")
        raise SandboxError(f"attribute access on {kind.__name__} values is not allowed ('.{name}')")
    method = safer_getattr_raise(value, name)
    wrap = _SIZE_CHECKED.get((kind, name))
    return wrap(method) if wrap else method


def script_getattr(value, name: str):
    """RestrictedPython's `_getattr_` for scripts."""
    return attribute(value, name, SCRIPT_METHODS)
