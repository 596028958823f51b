"""Sandbox for the Python that BPMN and DMN models carry: scripts, conditions, timers, decision rules.

SpiffWorkflow's default environment runs every condition with ``eval`` and every script with
``exec`` and full builtins, so a model can run ``__import__("os").system(...)``; restricted
globals alone are no sandbox (SPIFFWORKFLOW-NOTES.md, trap 2). This module replaces that
environment:

* Expressions (gateway conditions, timer values, DMN input/output entries, ``dmninputexpr``
  comparisons) are interpreted by simpleeval, never compiled. Names are the task data plus the
  external context; only a short list of functions and the side-effect-free methods of
  ``str``/``list``/``dict`` are reachable.
* Scripts (script tasks, pre/post scripts) are compiled by RestrictedPython with a stricter policy
  (no imports, classes, ``with``, ``yield``, ``finally`` or bare ``except``) and run with guards
  for attribute, item and iteration access and a reduced set of builtins.
* Work is bounded. A tracer counts the lines a script executes and watches a wall-clock deadline.
  Operations that grow values (``*``, ``**``, ``<<``, ``+``, ``%``, padding, ``join``, copies,
  formatting, ``range``) are checked *before* they allocate. Both bounds apply per call and per
  thread, so web threads never share state.
* What a script leaves behind must be plain JSON data. SpiffWorkflow serializes task data, and
  ``typename`` keys break its deserializer (trap 7).

Remaining risk: one C-level operation on data that passed these limits, such as comparing or
hashing two big nested structures, cannot be interrupted by the tracer. For hostile model authors,
run the engine in a worker process with OS limits (CPU time, address space).

The engine is not serialized: set ``workflow.script_engine = make_script_engine()`` after every
deserialization (trap 3).
"""
from __future__ import annotations

import ast
import builtins
import copy
import functools
import math
import operator
import re
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from RestrictedPython import compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer, copy_locations
from simpleeval import (
    DEFAULT_OPERATORS,
    EvalWithCompoundTypes,
    safe_add,
    safe_lshift,
    safe_mult,
    safe_power,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

# --- Limits ----------------------------------------------------------------------------------

MAX_LINES = 100_000
"""Executed script lines per call (loop iterations count as lines)."""
MAX_SECONDS = 1.0
"""Wall-clock time per script call."""
MAX_ITEMS = 1_000_000
"""Elements or characters in one value made by a size-growing operation, and values in task data."""
MAX_PRODUCED = 10_000_000
"""Elements or characters all size-growing operations of one call may produce together."""
MAX_INT_BITS = 4096
"""Bits of an integer made by ``*``, ``**`` or ``<<``."""
MAX_DEPTH = 100
"""Nesting of lists and dicts in task data (deeper data breaks JSON encoders)."""

_SCRIPT_FILENAME = "<bpmn-script>"
_RESERVED_KEY = "typename"  # SpiffWorkflow's serializer reads this key as a type tag


class SandboxError(Exception):
    """A script or expression was refused or exceeded its limits; str() is a clear message for a person."""


class _LimitExceeded(BaseException):
    """Raised by the tracer. A BaseException, so that no ``except`` clause a script may write catches it:
    raising from a trace function switches tracing off for the thread, and a caught stop would let the
    script go on unbounded."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


# --- Per-call state --------------------------------------------------------------------------

class _Run:
    """Budget of one evaluate/execute call; lives on the calling thread only."""

    def __init__(self):
        self.lines = 0
        self.produced = 0
        self.deadline = time.monotonic() + MAX_SECONDS
        self.stop: _LimitExceeded | None = None

    def charge(self, size: int, what: str) -> None:
        """Account for a value of `size` elements/characters before it is made."""
        if size > MAX_ITEMS:
            raise SandboxError(f"{what} would make a value of more than {MAX_ITEMS:,} elements/characters")
        self.produced += size
        if self.produced > MAX_PRODUCED:
            raise SandboxError(f"exceeded the limit of {MAX_PRODUCED:,} elements/characters made in one run")

    def step(self, line: int) -> None:
        """Count one executed line and stop the script at the limits.

        Once stopped, every further line (an `except` clause being matched while the stop unwinds)
        raises the same stop again, so the report names the line where the limit was reached.
        """
        if self.stop is None:
            self.lines += 1
            if self.lines > MAX_LINES:
                self.stop = _LimitExceeded(f"exceeded the limit of {MAX_LINES:,} executed lines", line)
            elif time.monotonic() > self.deadline:
                self.stop = _LimitExceeded(f"exceeded the time limit of {MAX_SECONDS:g} s", line)
        if self.stop is not None:
            raise self.stop

    def trace(self, frame, event, arg):
        """sys.settrace hook: count the lines of sandboxed code only."""
        if frame.f_code.co_filename != _SCRIPT_FILENAME:
            return None
        if event == "line":
            self.step(frame.f_lineno)
        return self.trace


_state = threading.local()


@contextmanager
def _running(traced: bool) -> Iterator[None]:
    """Make a fresh budget current on this thread; with `traced`, also install its tracer.

    sys.settrace only affects the calling thread; the previous tracer (a debugger, coverage) is put back.
    """
    run = _Run()
    outer_run = getattr(_state, "run", None)
    outer_trace = sys.gettrace()
    _state.run = run
    if traced:
        sys.settrace(run.trace)
    try:
        yield
    finally:
        if traced:
            sys.settrace(outer_trace)
        _state.run = outer_run


def _charge(size: int, what: str) -> None:
    _state.run.charge(size, what)


def _loop_step(line: int) -> None:
    """Called at the top of every `while` body. CPython 3.11 reports no line event for a loop that jumps
    to itself (`while True: pass`), so the tracer alone would never see it spin."""
    _state.run.step(line)


# --- Size guards shared by expressions and scripts ------------------------------------------

_SEQUENCES = (str, bytes, list, tuple)
_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))


def _check_bits(bits: int, symbol: str) -> None:
    if bits > MAX_INT_BITS:
        raise SandboxError(f"'{symbol}' would make an integer of more than {MAX_INT_BITS:,} bits")


def _text_size(value) -> int:
    """Estimate how many characters str()/repr()/format() of `value` makes, refusing before it gets too big.

    Containers are walked (shared references count each time, as they do when printed), so a small
    structure that repeats a big one cannot turn into gigabytes of text.
    """
    size = 0
    pending = [value]
    while pending:
        item = pending.pop()
        children = ()
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
            raise SandboxError(f"converting a value to text would make more than {MAX_ITEMS:,} characters")
        pending.extend(children)
    return size


_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[#0+ \-]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?.", re.S)
_DIGITS = re.compile(r"\d+")


def _bounded_number(digits: str, what: str) -> int:
    if len(digits) > len(str(MAX_ITEMS)) or int(digits) > MAX_ITEMS:
        raise SandboxError(f"{what}: a width or precision of {digits[:12]} is larger than {MAX_ITEMS:,}")
    return int(digits)


def _check_percent_format(template: str, args) -> None:
    """`template % args`: refuse huge field widths before Python pads to them."""
    widths = 0
    for width, precision in _PERCENT_FIELD.findall(template):
        for number in (width, precision):
            if number == "*":
                raise SandboxError("'*' widths in % formatting are not allowed")
            if number:
                widths += _bounded_number(number, "% formatting")
    _charge(len(template) + widths + _text_size(args), "% formatting")


def _check_binop(symbol: str, left, right) -> None:
    """Refuse `left <symbol> right` before computing it if the result would be too big."""
    if symbol == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            _charge(len(left) + len(right), "'+'")
    elif symbol == "*":
        if isinstance(left, int) and isinstance(right, int):
            _check_bits(left.bit_length() + right.bit_length(), "*")
        elif isinstance(left, _SEQUENCES) and isinstance(right, int):
            _charge(len(left) * max(right, 0), "'*'")
        elif isinstance(left, int) and isinstance(right, _SEQUENCES):
            _charge(len(right) * max(left, 0), "'*'")
    elif symbol == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            _check_bits(left.bit_length() * right, "**")
    elif symbol == "<<":
        if isinstance(left, int) and isinstance(right, int) and left:
            _check_bits(left.bit_length() + right, "<<")
    elif symbol == "%" and isinstance(left, str):
        _check_percent_format(left, right)


_BINOPS = {"+": operator.add, "*": operator.mul, "**": operator.pow, "<<": operator.lshift, "%": operator.mod}
_GUARDED_AST_OPS = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%"}


def _binop(symbol: str, left, right):
    """What scripts run instead of `left <symbol> right` for the operators in _BINOPS."""
    _check_binop(symbol, left, right)
    return _BINOPS[symbol](left, right)


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
    "@=": operator.imatmul,
}


def _inplacevar(op: str, target, value):
    """RestrictedPython turns `name op= value` into a call of this."""
    _check_binop(op[:-1], target, value)
    return _INPLACE[op](target, value)


def _guarded_str(*args, **kwargs):
    if args:
        _charge(_text_size(args[0]), "str()")
    return str(*args, **kwargs)


def _guarded_repr(value):
    _charge(_text_size(value), "repr()")
    return repr(value)


def _guarded_ascii(value):
    _charge(_text_size(value), "ascii()")
    return ascii(value)


_CONVERSIONS = {ord("s"): _guarded_str, ord("r"): _guarded_repr, ord("a"): _guarded_ascii}


def _format_value(value, conversion: int, spec: str) -> str:
    """One `{value!conversion:spec}` field of an f-string, with its width checked before padding."""
    if conversion in _CONVERSIONS:
        value = _CONVERSIONS[conversion](value)
    widest = max((_bounded_number(digits, "format") for digits in _DIGITS.findall(spec)), default=0)
    _charge(_text_size(value) + widest, "f-string")
    return format(value, spec)


def _guarded_pow(base, exponent, modulus=None):
    if modulus is None:
        return _binop("**", base, exponent)
    return pow(base, exponent, modulus)  # modular: the result is smaller than the modulus


def _guarded_range(*args):
    numbers = range(*args)
    try:
        too_long = len(numbers) > MAX_ITEMS
    except OverflowError:  # longer than sys.maxsize
        too_long = True
    if too_long:
        raise SandboxError(f"range() exceeded the limit of {MAX_ITEMS:,} numbers")
    return numbers


def _guarded_sum(iterable, /, start=0):
    # sum() over lists with a list start copies quadratically in C, out of the tracer's reach
    if not isinstance(start, (int, float)):
        raise SandboxError("sum() only adds numbers")
    return sum(iterable, start)


def _sized_copy(kind: Callable, name: str) -> Callable:
    """Wrap a builtin that copies an iterable (list, tuple, set, dict, sorted) so the copy is charged."""

    def make(*args, **kwargs):
        known = len(args[0]) + len(kwargs) if args and hasattr(args[0], "__len__") else None
        if known is not None:
            _charge(known, f"{name}()")
        result = kind(*args, **kwargs)
        if known is None:  # a generator: its items were made by traced code, charge the result
            _charge(len(result), f"{name}()")
        return result

    return make


_guarded_list = _sized_copy(list, "list")
_guarded_tuple = _sized_copy(tuple, "tuple")
_guarded_set = _sized_copy(set, "set")
_guarded_dict = _sized_copy(dict, "dict")
_guarded_sorted = _sized_copy(sorted, "sorted")
_REAL_TYPES = {_guarded_str: str, _guarded_list: list, _guarded_tuple: tuple, _guarded_set: set,
               _guarded_dict: dict}


def _guarded_isinstance(value, classinfo) -> bool:
    """isinstance() that understands the guarded str/list/tuple/set/dict constructors."""
    if isinstance(classinfo, tuple):
        return isinstance(value, tuple(_REAL_TYPES.get(cls, cls) for cls in classinfo))
    return isinstance(value, _REAL_TYPES.get(classinfo, classinfo))


# --- Attribute access ------------------------------------------------------------------------
# Only methods of plain data are reachable. Expressions get the methods without side effects.

_STR_METHODS = frozenset({
    "capitalize", "casefold", "center", "count", "endswith", "expandtabs", "find", "index", "isalnum",
    "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable",
    "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition", "removeprefix",
    "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip", "split",
    "splitlines", "startswith", "strip", "swapcase", "title", "upper", "zfill",
})
_EXPRESSION_METHODS = {
    str: _STR_METHODS,
    list: frozenset({"copy", "count", "index"}),
    dict: frozenset({"copy", "get", "items", "keys", "values"}),
}
_SCRIPT_METHODS = {
    str: _STR_METHODS,
    list: frozenset({"append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove",
                     "reverse", "sort"}),
    dict: frozenset({"clear", "copy", "get", "items", "keys", "pop", "popitem", "setdefault", "update",
                     "values"}),
}
_EXPRESSION_ATTRIBUTE_NAMES = frozenset().union(*_EXPRESSION_METHODS.values())
_SCRIPT_ATTRIBUTE_NAMES = frozenset().union(*_SCRIPT_METHODS.values())


def _padding(method):
    def pad(width, *args):
        if isinstance(width, int):
            _charge(width, f"str.{method.__name__}()")
        return method(width, *args)
    return pad


def _expandtabs(method):
    def expandtabs(tabsize=8):
        text = method.__self__
        if isinstance(tabsize, int):
            _charge(len(text) + text.count("\t") * max(tabsize, 0), "str.expandtabs()")
        return method(tabsize)
    return expandtabs


def _join(method):
    def join(iterable):
        parts = list(iterable)
        if all(isinstance(part, str) for part in parts):
            separators = len(method.__self__) * max(len(parts) - 1, 0)
            _charge(sum(map(len, parts)) + separators, "str.join()")
        return method(parts)
    return join


def _replace(method):
    def replace(old, new, count=-1):
        text = method.__self__
        if isinstance(old, str) and isinstance(new, str) and isinstance(count, int):
            hits = text.count(old) if old else len(text) + 1
            if count >= 0:
                hits = min(hits, count)
            _charge(len(text) + hits * max(len(new) - len(old), 0), "str.replace()")
        return method(old, new, count)
    return replace


def _copy(method):
    def copy_():
        _charge(len(method.__self__), f"{type(method.__self__).__name__}.copy()")
        return method()
    return copy_


def _extend(method):
    def extend(iterable):
        items = iterable if hasattr(iterable, "__len__") else list(iterable)
        _charge(len(method.__self__) + len(items), "list.extend()")
        method(items)
    return extend


_SIZE_CHECKED = {
    (str, "center"): _padding, (str, "ljust"): _padding, (str, "rjust"): _padding, (str, "zfill"): _padding,
    (str, "expandtabs"): _expandtabs, (str, "join"): _join, (str, "replace"): _replace,
    (list, "copy"): _copy, (list, "extend"): _extend, (dict, "copy"): _copy,
}


def _attribute(value, name: str, allowed: dict):
    """`value.name` if `name` is an allowed method of `value`'s exact type, else SandboxError."""
    kind = type(value)
    if name not in allowed.get(kind, ()):
        if kind in allowed:
            raise SandboxError(f"'.{name}' is not allowed on {kind.__name__} values")
        raise SandboxError(f"attribute access on {kind.__name__} values is not allowed ('.{name}')")
    method = safer_getattr_raise(value, name)
    wrap = _SIZE_CHECKED.get((kind, name))
    return wrap(method) if wrap else method


def _script_getattr(value, name: str):
    return _attribute(value, name, _SCRIPT_METHODS)


# --- Expressions -----------------------------------------------------------------------------

_FORBIDDEN_CALLS = frozenset({
    "__import__", "breakpoint", "compile", "delattr", "dir", "eval", "exec", "exit", "getattr", "globals",
    "hasattr", "help", "input", "locals", "memoryview", "object", "open", "quit", "setattr", "super", "type",
    "vars",
})
_EXPRESSION_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Store, ast.BinOp, ast.UnaryOp, ast.BoolOp,
    ast.Compare, ast.IfExp, ast.Call, ast.keyword, ast.Subscript, ast.Slice, ast.Attribute, ast.List,
    ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.comprehension,
    ast.JoinedStr, ast.FormattedValue, ast.operator, ast.unaryop, ast.cmpop, ast.boolop,
)


def _where(node) -> str:
    line, column = getattr(node, "lineno", None), getattr(node, "col_offset", None)
    return f"line {line}" if column is None else f"line {line}, column {column + 1}"


def _parse(source: str, mode: str) -> ast.AST:
    try:
        return ast.parse(source, filename=_SCRIPT_FILENAME, mode=mode)
    except SyntaxError as err:
        raise SandboxError(f"syntax error at line {err.lineno}, column {err.offset}: {err.msg}") from None
    except ValueError as err:  # e.g. NUL bytes
        raise SandboxError(f"unreadable source: {err}") from None


def _expression_problem(node: ast.AST) -> str | None:
    if not isinstance(node, _EXPRESSION_NODES):
        return f"{type(node).__name__} is not allowed in expressions"
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        return f"names starting with '_' are not allowed ({node.id})"
    if isinstance(node, ast.Attribute) and node.attr not in _EXPRESSION_ATTRIBUTE_NAMES:
        return f"attribute '.{node.attr}' is not allowed"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FORBIDDEN_CALLS:
        return f"calling {node.func.id}() is not allowed"
    if isinstance(node, ast.keyword) and node.arg is None:
        return "'**' arguments are not allowed"
    return None


def _require_text(source) -> str:
    if not isinstance(source, str):
        raise SandboxError(f"expected source text, got {type(source).__name__}")
    return source


@functools.lru_cache(maxsize=1024)
def _expression_tree(source: str) -> ast.Expression:
    """Parse and check an expression once; the tree is read-only afterwards, so threads share it."""
    if not source.strip():
        raise SandboxError("the expression is empty")
    tree = _parse(source.strip(), "eval")
    for node in ast.walk(tree):
        problem = _expression_problem(node)
        if problem:
            raise SandboxError(f"{_where(node)}: {problem}")
    return tree


def check_expression(source: str) -> None:
    """Raise SandboxError (message says what is wrong, with the line/column when known) if `source` is not
    an expression the sandbox accepts: syntax errors, dunder names/attributes, forbidden constructs."""
    _expression_tree(_require_text(source))


def _expression_operator(symbol: str, simpleeval_operator: Callable) -> Callable:
    """Our size check first, then simpleeval's own limits (string length, power)."""

    def apply(left, right):
        _check_binop(symbol, left, right)
        return simpleeval_operator(left, right)
    return apply


_EXPRESSION_OPERATORS = {
    **DEFAULT_OPERATORS,
    ast.Add: _expression_operator("+", safe_add),
    ast.Mult: _expression_operator("*", safe_mult),
    ast.Pow: _expression_operator("**", safe_power),
    ast.LShift: _expression_operator("<<", safe_lshift),
    ast.Mod: _expression_operator("%", operator.mod),
}
_EXPRESSION_FUNCTIONS = {
    "len": len, "min": min, "max": max, "abs": abs, "round": round, "int": int, "float": float,
    "str": _guarded_str, "bool": bool, "sum": _guarded_sum, "sorted": _guarded_sorted, "any": any, "all": all,
}


class _ExpressionEvaluator(EvalWithCompoundTypes):
    """simpleeval with our attribute allowlist and checked f-string fields.

    simpleeval keeps state on the instance while it evaluates, so every call gets its own.
    """

    def __init__(self, names: dict, functions: dict):
        super().__init__(operators=_EXPRESSION_OPERATORS, functions={**_EXPRESSION_FUNCTIONS, **functions},
                         names=names)
        # EvalWithCompoundTypes adds the plain constructors; use the charged ones
        self.functions.update(list=_guarded_list, tuple=_guarded_tuple, dict=_guarded_dict, set=_guarded_set)

    def _eval_attribute(self, node):
        return _attribute(self._eval(node.value), node.attr, _EXPRESSION_METHODS)

    def _eval_formattedvalue(self, node):
        spec = self._eval(node.format_spec) if node.format_spec else ""
        return _format_value(self._eval(node.value), node.conversion, spec)


# --- Scripts ---------------------------------------------------------------------------------

_SCRIPT_FORBIDDEN_CALLS = _FORBIDDEN_CALLS - {"eval", "exec"}  # RestrictedPython refuses these itself
_CATCHABLE = (ArithmeticError, AssertionError, AttributeError, LookupError, NameError, TypeError, ValueError)
# RuntimeError (RecursionError), MemoryError and BaseException stay out: the tracer can fail with
# them, which switches it off, so a script must not be able to catch them and carry on.
_CATCHABLE_NAMES = frozenset(
    name for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, _CATCHABLE)
) | {"Exception"}


def _catchable(spec):
    """What `except spec:` really catches in a script; `Exception` means the catchable errors."""
    classes = spec if isinstance(spec, tuple) else (spec,)
    caught = []
    for cls in classes:
        if cls is Exception:
            caught.extend(_CATCHABLE)
        elif isinstance(cls, type) and issubclass(cls, _CATCHABLE):
            caught.append(cls)
        else:
            raise SandboxError(f"scripts cannot catch {getattr(cls, '__name__', cls)}")
    return tuple(caught)


def _names_only(node: ast.AST) -> bool:
    if isinstance(node, ast.Tuple):
        return all(isinstance(element, ast.Name) for element in node.elts)
    return isinstance(node, ast.Name)


def _call(function: str, node: ast.AST, *args: ast.expr) -> ast.Call:
    call = ast.Call(func=ast.Name(function, ast.Load()), args=list(args), keywords=[])
    copy_locations(call, node)
    return call


class _ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, tightened for workflow scripts and with size guards woven in."""

    def error(self, node, info):
        self.errors.append(f"{_where(node)}: {info}")

    def _refuse(self, node, what: str):
        self.error(node, f"{what} not allowed in scripts")
        return node

    def visit_Import(self, node):
        return self._refuse(node, "import statements are")

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node):
        return self._refuse(node, "class definitions are")

    def visit_With(self, node):
        return self._refuse(node, "with statements are")

    def visit_Yield(self, node):
        return self._refuse(node, "yield is")

    visit_YieldFrom = visit_Yield

    def visit_Try(self, node):
        # a finally block would run while a stop unwinds the script, after the tracer is gone
        if node.finalbody:
            self._refuse(node, "try/finally is")
        return super().visit_Try(node)

    def visit_ExceptHandler(self, node):
        # the exception types are evaluated while a stop unwinds the script, so they must be plain names
        if node.type is None:
            self.error(node, "a bare 'except:' is not allowed in scripts; "
                             "name the error, e.g. 'except ValueError:'")
        elif not _names_only(node.type):
            self.error(node, "except clauses must name exception classes, "
                             "e.g. 'except (KeyError, ValueError):'")
        else:
            names = [node.type] if isinstance(node.type, ast.Name) else node.type.elts
            for name in names:
                if name.id not in _CATCHABLE_NAMES:
                    self.error(name, f"scripts cannot catch {name.id}; catch Exception or a subclass of "
                                     f"{', '.join(cls.__name__ for cls in _CATCHABLE)}")
        node = super().visit_ExceptHandler(node)
        if node.type is not None:
            node.type = _call("_catchable_", node.type, node.type)
        return node

    def visit_Attribute(self, node):
        # names starting with '_' and frame/code attributes get RestrictedPython's own message
        if (not node.attr.startswith("_") and node.attr not in INSPECT_ATTRIBUTES
                and node.attr not in _SCRIPT_ATTRIBUTE_NAMES):
            self.error(node, f"attribute '.{node.attr}' is not allowed")
        return super().visit_Attribute(node)

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id in _SCRIPT_FORBIDDEN_CALLS:
            self.error(node, f"calling {node.func.id}() is not allowed")
        return super().visit_Call(node)

    def visit_While(self, node):
        node = super().visit_While(node)
        step = ast.Expr(_call("_loop_step_", node, ast.Constant(node.lineno)))
        copy_locations(step, node)
        node.body.insert(0, step)
        return node

    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        symbol = _GUARDED_AST_OPS.get(type(node.op))
        if symbol is None:
            return node
        return _call("_binop_", node, ast.Constant(symbol), node.left, node.right)

    def visit_FormattedValue(self, node):
        node = super().visit_FormattedValue(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        node.value = _call("_format_", node.value, node.value, ast.Constant(node.conversion), spec)
        node.conversion, node.format_spec = -1, None
        return node


@functools.lru_cache(maxsize=256)
def _compile_script(source: str) -> types.CodeType:
    """Check and compile a script once; code objects are immutable, so threads share them."""
    tree = _parse(source, "exec")
    try:
        result = compile_restricted_exec(tree, filename=_SCRIPT_FILENAME, policy=_ScriptPolicy)
    except SyntaxError as err:  # found by compile(), e.g. 'return' outside a function
        raise SandboxError(f"syntax error at line {err.lineno}: {err.msg}") from None
    if result.errors:
        raise SandboxError("; ".join(result.errors))
    return result.code


def check_script(source: str) -> None:
    """Same for scripts (statements)."""
    _compile_script(_require_text(source))


class _BoundedPrintCollector(PrintCollector):
    """Where `print` writes in scripts (readable as `printed`); output is measured before it is made."""

    def _call_print(self, *objects, **kwargs):
        for value in objects:
            _charge(_text_size(value), "print()")
        return super()._call_print(*objects, **kwargs)


def _apply(function, *args, **kwargs):
    """RestrictedPython routes `f(*args, **kwargs)` through this."""
    return function(*args, **kwargs)


_DROPPED_BUILTINS = {
    "__build_class__", "_getattr_", "setattr", "delattr",  # no classes, no attribute writes
    "BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit",  # would escape `except Exception`
}
_SCRIPT_BUILTINS = {name: value for name, value in safe_builtins.items() if name not in _DROPPED_BUILTINS}
_SCRIPT_BUILTINS.update(
    str=_guarded_str, repr=_guarded_repr, pow=_guarded_pow, range=_guarded_range,
    isinstance=_guarded_isinstance, list=_guarded_list, tuple=_guarded_tuple, set=_guarded_set,
    dict=_guarded_dict, sorted=_guarded_sorted, sum=_guarded_sum,
    min=min, max=max, any=any, all=all, enumerate=enumerate, zip=zip,
)
_SCRIPT_GLOBALS = {
    "__builtins__": _SCRIPT_BUILTINS,
    "_getattr_": _script_getattr,
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_print_": _BoundedPrintCollector,
    "_apply_": _apply,
    "_binop_": _binop,
    "_format_": _format_value,
    "_catchable_": _catchable,
    "_loop_step_": _loop_step,
}
_RESERVED_NAMES = frozenset(_SCRIPT_GLOBALS) | {"_print"}  # `_print` holds the print collector


def _script_line(exc: BaseException) -> int | None:
    """The script line an exception came from: the innermost frame of sandboxed code."""
    line = None
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == _SCRIPT_FILENAME:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, SandboxError) else f"{type(exc).__name__}: {exc}"


class _DataCheck:
    """Walks what a script leaves in task data: plain JSON values only, bounded in size and depth."""

    _SCALARS = (str, int, float, bool, type(None))

    def __init__(self, name: str):
        self.name = name
        self.values = 0

    def check(self, path: str, value, depth: int = 0) -> None:
        self.values += 1
        if self.values > MAX_ITEMS:
            raise SandboxError(f"variable '{self.name}' is too large (more than {MAX_ITEMS:,} values)")
        kind = type(value)
        if kind in self._SCALARS:
            if kind is float and not math.isfinite(value):
                raise SandboxError(f"{path} is {value}, which JSON cannot store")
            return
        if depth >= MAX_DEPTH:
            raise SandboxError(f"variable '{self.name}' is nested more than {MAX_DEPTH} levels deep "
                               f"(or contains itself)")
        if kind is dict:
            for key, child in value.items():
                if type(key) is not str:
                    raise SandboxError(f"{path} has the key {key!r}; task data keys must be strings")
                if key == _RESERVED_KEY:
                    raise SandboxError(f"{path} has a key named '{_RESERVED_KEY}', which SpiffWorkflow's "
                                       f"serializer reserves; rename it")
                self.check(f"{path}[{key!r}]", child, depth + 1)
        elif kind is list:
            for index, child in enumerate(value):
                self.check(f"{path}[{index}]", child, depth + 1)
        else:
            raise SandboxError(f"{path} is a {kind.__name__}; task data can only hold dict, list, str, int, "
                               f"float, bool and None")


def _check_task_data(data: dict) -> None:
    for name, value in data.items():
        if name == _RESERVED_KEY:
            raise SandboxError(f"variable '{_RESERVED_KEY}' is reserved by SpiffWorkflow's serializer; "
                               f"rename it")
        _DataCheck(name).check(f"variable '{name}'", value)


# --- The environment -------------------------------------------------------------------------

class SandboxedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that evaluates expressions with simpleeval and runs scripts under
    RestrictedPython, both within the limits above. Safe to share between threads."""

    def __init__(self, functions: dict | None = None, service_handler=None):
        """`functions`: extra callables by name for expressions and scripts (never stored in task data).
        `service_handler(context, **kwargs)`: what service tasks call, if any."""
        super().__init__()
        self._functions = dict(functions or {})
        for name, function in self._functions.items():
            if not name.isidentifier() or name.startswith("_") or not callable(function):
                raise ValueError(f"function {name!r}: needs a callable under a name not starting with '_'")
        self._service_handler = service_handler

    def evaluate(self, expression, context, external_context=None):
        """The value of `expression` with the task data `context` (and `external_context`) as names."""
        tree = _expression_tree(_require_text(expression))
        # the task data wins over the external context, as in SpiffWorkflow's TaskDataEnvironment
        evaluator = _ExpressionEvaluator({**(external_context or {}), **context}, self._functions)
        with _running(traced=False):
            try:
                return evaluator.eval(expression, previously_parsed=tree.body)
            except Exception as exc:
                raise SandboxError(f"expression {expression!r}: {_describe(exc)}") from exc

    def execute(self, script, context, external_context=None):
        """Run `script` on the task data `context`; on success `context` holds the script's variables.

        The script works on a copy, so a refused or failed script leaves `context` as it was. Functions,
        external names and helpers are not kept; everything kept must be plain JSON data.
        """
        code = _compile_script(_require_text(script))
        external = external_context or {}
        hidden = set(context) & (set(external) | set(self._functions) | _RESERVED_NAMES)
        if hidden:
            raise SandboxError(f"task data variable(s) {', '.join(sorted(hidden))} would hide names the "
                               f"script needs; rename them")
        namespace = copy.deepcopy(context)
        namespace.update(external)
        namespace.update(self._functions)
        namespace.update(_SCRIPT_GLOBALS)
        with _running(traced=True):
            try:
                exec(code, namespace)  # noqa: S102 - restricted code object, guarded namespace
            except _LimitExceeded as stop:
                raise SandboxError(f"script stopped at line {stop.line}: {stop}") from None
            except Exception as exc:
                line = _script_line(exc)
                where = f"script line {line}" if line else "script"
                raise SandboxError(f"{where}: {_describe(exc)}") from exc
        kept = {
            name: value for name, value in namespace.items()
            if name not in _RESERVED_NAMES and name not in self._functions and name not in external
            and not callable(value) and not isinstance(value, types.ModuleType)
        }
        _check_task_data(kept)
        context.clear()
        context.update(kept)
        return True

    def call_service(self, context, **kwargs):
        """Delegate a service task to the configured handler."""
        if self._service_handler is None:
            raise SandboxError("service tasks are not available: no service handler is configured")
        return self._service_handler(context, **kwargs)


def make_script_engine(service_handler=None) -> PythonScriptEngine:
    """A PythonScriptEngine whose environment is a SandboxedEnvironment."""
    return PythonScriptEngine(environment=SandboxedEnvironment(service_handler=service_handler))
