"""Size and cost guards shared by expressions and scripts: each refuses an operation before it runs
when its result or its running time would be out of bounds (docs/ARCHITECTURE.md, "Model code").

These keep ordinary model code from hurting the process it runs in; the isolated worker's OS limits
(`isolation`) are the backstop for what a check cannot foresee.
"""
from __future__ import annotations

import operator
import re
from collections.abc import Callable, ItemsView, Iterable, KeysView, Sized, ValuesView
from typing import Any

from engine.workflow.sandbox.budget import (
    MAX_DEPTH,
    MAX_INT_BITS,
    MAX_ITEMS,
    MAX_ROUND_DIGITS,
    SandboxError,
    ScriptLimitExceeded,
    charge,
)

_SEQUENCES = (str, bytes, list, tuple)
#: Operands of the set operators `|`, `&`, `^`, `-` (a dict merges with `|`, key and item views act as sets).
_SETS: tuple[type[Sized], ...] = (set, frozenset, dict, type({}.keys()), type({}.items()))
_VIEWS: tuple[type[KeysView[Any]], type[ValuesView[Any]], type[ItemsView[Any, Any]]] = (
    type({}.keys()), type({}.values()), type({}.items()))


def _too_big(message: str) -> ScriptLimitExceeded:
    return ScriptLimitExceeded(message, "size")


def _check_bits(bits: int, symbol: str) -> None:
    if bits > MAX_INT_BITS:
        raise _too_big(f"'{symbol}' would make an integer of more than {MAX_INT_BITS:,} bits")


def _check_int_operands(symbol: str, *numbers) -> None:
    """Division, remainder and modular power take time quadratic in the size of their integers."""
    for number in numbers:
        if isinstance(number, int) and number.bit_length() > MAX_INT_BITS:
            raise _too_big(f"'{symbol}' on an integer of more than {MAX_INT_BITS:,} bits is not allowed")


def text_size(value) -> int:
    """Estimate how many characters str()/repr()/format() of `value` makes, refusing before it gets too big.

    Containers are walked (shared references count each time, as they do when printed), so a small
    structure that repeats a big one cannot turn into gigabytes of text.
    """
    size = 0
    pending = [value]
    while pending:
        item = pending.pop()
        children: Iterable[Any] = ()
        if isinstance(item, (str, bytes)):
            size += len(item)
        elif isinstance(item, int):
            size += item.bit_length() // 3 + 2
        elif isinstance(item, dict):
            size += 2 + 4 * len(item)
            children = (*item, *item.values())
        elif isinstance(item, (list, tuple, set, frozenset, *_VIEWS)):
            size += 2 + 2 * len(item)
            children = item
        elif isinstance(item, slice):
            size += 20
            children = (item.start, item.stop, item.step)
        elif isinstance(item, BaseException):
            size += 40
            children = item.args
        else:  # floats, None, functions, ranges: short text of bounded length
            size += 40
        if size > MAX_ITEMS:
            raise _too_big(f"converting a value to text would make more than {MAX_ITEMS:,} characters")
        pending.extend(children)
    return size


_DIGITS = re.compile(r"\d+")  # linear: no nested repetition
_ASCII_DIGITS = frozenset("0123456789")


def bounded_number(digits: str, what: str) -> int:
    """A width or precision written in a format, refused above MAX_ITEMS."""
    if len(digits) > len(str(MAX_ITEMS)) or int(digits) > MAX_ITEMS:
        raise _too_big(f"{what}: a width or precision of {digits[:12]} is larger than {MAX_ITEMS:,}")
    return int(digits)


def _number_at(template: str, start: int) -> tuple[str, int]:
    """The `*` or run of digits at `start` of a %-format field, and where it ends."""
    if start < len(template) and template[start] == "*":
        return "*", start + 1
    end = start
    while end < len(template) and template[end] in _ASCII_DIGITS:
        end += 1
    return template[start:end], end


def percent_fields(template: str) -> list[tuple[str, str]]:
    """(width, precision) of every %-format field in `template`, in one pass (linear in its length: a regex
    with an optional `(key)` group rescanned the rest of the text for every `%(`)."""
    fields = []
    length = len(template)
    start = template.find("%")
    while start != -1:
        at = start + 1
        if at < length and template[at] == "(":
            close = template.find(")", at)
            if close == -1:  # Python refuses it: "incomplete format key"
                break
            at = close + 1
        while at < length and template[at] in "#0+ -":
            at += 1
        width, at = _number_at(template, at)
        precision = ""
        if at < length and template[at] == ".":
            precision, at = _number_at(template, at + 1)
        if at < length and template[at] in "hlL":
            at += 1
        if at >= length:  # no conversion character: Python refuses it ("incomplete format")
            break
        fields.append((width, precision))
        start = template.find("%", at + 1)  # `at` is the conversion character (`%` for `%%`)
    return fields


def _check_percent_format(template: str, args) -> None:
    """`template % args`: refuse huge field widths before Python pads to them."""
    widths = 0
    for width, precision in percent_fields(template):
        for number in (width, precision):
            if number == "*":
                raise SandboxError("'*' widths in % formatting are not allowed")
            if number:
                widths += bounded_number(number, "% formatting")
    charge(len(template) + widths + text_size(args), "% formatting")


def check_binop(symbol: str, left, right) -> None:
    """Refuse `left <symbol> right` before computing it if the result would be too big or too slow."""
    if symbol == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            charge(len(left) + len(right), "'+'")
    elif symbol == "*":
        if isinstance(left, int) and isinstance(right, int):
            _check_bits(left.bit_length() + right.bit_length(), "*")
        elif isinstance(left, _SEQUENCES) and isinstance(right, int):
            charge(len(left) * max(right, 0), "'*'")
        elif isinstance(left, int) and isinstance(right, _SEQUENCES):
            charge(len(right) * max(left, 0), "'*'")
    elif symbol == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            _check_bits(left.bit_length() * right, "**")
    elif symbol == "<<":
        if isinstance(left, int) and isinstance(right, int) and left:
            _check_bits(left.bit_length() + right, "<<")
    elif symbol == "%" and isinstance(left, str):
        _check_percent_format(left, right)
    elif symbol in ("%", "//", "/"):
        _check_int_operands(symbol, left, right)
    elif symbol in ("|", "^", "&", "-") and isinstance(left, _SETS) and isinstance(right, _SETS):
        sizes = {"|": len(left) + len(right), "^": len(left) + len(right), "&": min(len(left), len(right)),
                 "-": len(left)}
        charge(sizes[symbol], f"'{symbol}'")


BINOPS = {"+": operator.add, "*": operator.mul, "**": operator.pow, "<<": operator.lshift, "%": operator.mod,
          "//": operator.floordiv, "/": operator.truediv, "|": operator.or_, "&": operator.and_, "^": operator.xor,
          "-": operator.sub}


def binop(symbol: str, left, right):
    """What scripts run instead of `left <symbol> right` for the operators in BINOPS."""
    check_binop(symbol, left, right)
    return BINOPS[symbol](left, right)


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
    "@=": operator.imatmul,
}


def inplacevar(op: str, target, value):
    """RestrictedPython turns `name op= value` into a call of this."""
    check_binop(op[:-1], target, value)
    return _INPLACE[op](target, value)


# --- Builtins with a price -------------------------------------------------------------------

def guarded_str(*args, **kwargs):
    """str() charged by the text it makes."""
    if args:
        charge(text_size(args[0]), "str()")
    return str(*args, **kwargs)


def guarded_repr(value):
    """repr() charged by the text it makes."""
    charge(text_size(value), "repr()")
    return repr(value)


def _guarded_ascii(value):
    charge(text_size(value), "ascii()")
    return ascii(value)


_CONVERSIONS = {ord("s"): guarded_str, ord("r"): guarded_repr, ord("a"): _guarded_ascii}


def format_value(value, conversion: int, spec: str) -> str:
    """One `{value!conversion:spec}` field of an f-string, with its width checked before padding."""
    if conversion in _CONVERSIONS:
        value = _CONVERSIONS[conversion](value)
    widest = max((bounded_number(digits, "format") for digits in _DIGITS.findall(spec)), default=0)
    charge(text_size(value) + widest, "f-string")
    return format(value, spec)


def guarded_pow(base, exponent, modulus=None):
    """pow(): `**` rules without a modulus; with one, every integer within MAX_INT_BITS."""
    if modulus is None:
        return binop("**", base, exponent)
    _check_int_operands("pow()", base, exponent, modulus)
    return pow(base, exponent, modulus)


def guarded_divmod(left, right):
    """divmod() under the `//` rule."""
    _check_int_operands("divmod()", left, right)
    return divmod(left, right)


def guarded_round(number, ndigits=None):
    """round(): `round(1, -10**8)` would compute 10**(10**8) first."""
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise _too_big(f"round() to {ndigits} digits: at most {MAX_ROUND_DIGITS} either way")
    return round(number) if ndigits is None else round(number, ndigits)


def guarded_int(*args, **kwargs):
    """int(): text of at most MAX_INT_BITS digits, a result of at most MAX_INT_BITS bits."""
    if args and isinstance(args[0], (str, bytes)) and len(args[0]) > MAX_INT_BITS + 64:
        raise _too_big(f"int() of a text of {len(args[0]):,} characters: at most {MAX_INT_BITS + 64:,}")
    number = int(*args, **kwargs)
    _check_bits(number.bit_length(), "int()")
    return number


def guarded_hash(value):
    """hash() of nested tuples recurses in C without a depth check and crashes the interpreter."""
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (tuple, frozenset)):
            if depth >= MAX_DEPTH:
                raise _too_big(f"hash() of a value nested more than {MAX_DEPTH} levels deep")
            pending.extend((child, depth + 1) for child in item)
    return hash(value)


def guarded_range(*args):
    """range() of at most MAX_ITEMS numbers."""
    numbers = range(*args)
    try:
        too_long = len(numbers) > MAX_ITEMS
    except OverflowError:  # longer than sys.maxsize
        too_long = True
    if too_long:
        raise _too_big(f"range() exceeded the limit of {MAX_ITEMS:,} numbers")
    return numbers


def guarded_sum(iterable, /, start=0):
    """sum() of numbers only: over lists with a list start it copies quadratically in C."""
    if not isinstance(start, (int, float)):
        raise SandboxError("sum() only adds numbers")
    return sum(iterable, start)


def guarded_getitem(container, key):
    """`container[key]`; a slice is a copy, charged by its length."""
    value = container[key]
    if isinstance(key, slice) and isinstance(value, _SEQUENCES):
        charge(len(value), "slice")
    return value


def _sized_copy(kind: Callable, name: str) -> Callable:
    """Wrap a builtin that copies an iterable (list, tuple, set, dict, sorted) so the copy is charged."""

    def make(*args, **kwargs):
        known = len(args[0]) + len(kwargs) if args and hasattr(args[0], "__len__") else None
        if known is not None:
            charge(known, f"{name}()")
        result = kind(*args, **kwargs)
        if known is None:  # a generator: its items were made by traced code, charge the result
            charge(len(result), f"{name}()")
        return result

    return make


guarded_list = _sized_copy(list, "list")
guarded_tuple = _sized_copy(tuple, "tuple")
guarded_set = _sized_copy(set, "set")
guarded_dict = _sized_copy(dict, "dict")
guarded_sorted = _sized_copy(sorted, "sorted")
_REAL_TYPES: dict[Callable[..., Any], type] = {
    guarded_str: str, guarded_list: list, guarded_tuple: tuple, guarded_set: set, guarded_dict: dict, guarded_int: int}


def guarded_isinstance(value, classinfo) -> bool:
    """isinstance() that understands the guarded str/int/list/tuple/set/dict constructors."""
    if isinstance(classinfo, tuple):
        return isinstance(value, tuple(_REAL_TYPES.get(cls) or cls for cls in classinfo))
    return isinstance(value, _REAL_TYPES.get(classinfo, classinfo))
