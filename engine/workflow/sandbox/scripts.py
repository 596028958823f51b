"""Scripts (script tasks, pre/post scripts) are compiled by RestrictedPython with a stricter policy (no imports,
classes, ``with``, ``yield``, ``finally`` or bare ``except``) and run with guards for attribute, item and
iteration access, a reduced set of builtins, and the size guards woven into the code."""
from __future__ import annotations

import ast
import builtins
import functools
import math
import types
from typing import Any

from RestrictedPython import compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer, copy_locations

from engine.errors import Code
from engine.workflow.sandbox import guards
from engine.workflow.sandbox.budget import (
    MAX_DEPTH,
    MAX_ITEMS,
    SCRIPT_FILENAME,
    SandboxError,
    charge,
    loop_step,
)
from engine.workflow.sandbox.expressions import FORBIDDEN_CALLS, parse, place, require_text, where
from engine.workflow.sandbox.methods import SCRIPT_ATTRIBUTE_NAMES, script_getattr

RESERVED_KEY = "typename"  # SpiffWorkflow's serializer reads this key as a type tag
_SCRIPT_FORBIDDEN_CALLS = FORBIDDEN_CALLS - {"eval", "exec"}  # RestrictedPython refuses these itself
_CATCHABLE = (ArithmeticError, AssertionError, AttributeError, LookupError, NameError, TypeError, ValueError)
# RuntimeError (RecursionError), MemoryError and BaseException stay out: the tracer can fail with
# them, which switches it off, so a script must not be able to catch them and carry on.
_CATCHABLE_NAMES = frozenset(
    name for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, _CATCHABLE)
) | {"Exception"}
_GUARDED_AST_OPS = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%",
                    ast.FloorDiv: "//", ast.Div: "/", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^", ast.Sub: "-"}


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


def _call(function: str, node: ast.stmt | ast.expr, *args: ast.expr) -> ast.Call:
    call = ast.Call(func=ast.Name(function, ast.Load()), args=list(args), keywords=[])
    copy_locations(call, node)
    return call


class _Refusal(str):
    """One refusal's message, with the params of its reason (`Code.RUN_NOT_ALLOWED`: its place and, for this
    policy's own refusals, the `construct` and `name`); RestrictedPython keeps the policy's errors as text."""

    params: dict[str, Any]


class _ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, tightened for workflow scripts and with size guards woven in."""

    def error(self, node, info, **params):
        refusal = _Refusal(f"{where(node)}: {info}")
        refusal.params = {**place(node), **params}
        self.errors.append(refusal)

    def _refuse(self, node, what: str, construct: str):
        self.error(node, f"{what} not allowed in scripts", construct=construct)
        return node

    def visit_Import(self, node):
        return self._refuse(node, "import statements are", "import")

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node):
        return self._refuse(node, "class definitions are", "class")

    def visit_With(self, node):
        return self._refuse(node, "with statements are", "with")

    def visit_Yield(self, node):
        return self._refuse(node, "yield is", "yield")

    visit_YieldFrom = visit_Yield

    def visit_Try(self, node):
        # a finally block would run while a stop unwinds the script, after the tracer is gone
        if node.finalbody:
            self._refuse(node, "try/finally is", "finally")
        return super().visit_Try(node)

    def visit_ExceptHandler(self, node):
        # the exception types are evaluated while a stop unwinds the script, so they must be plain names
        if node.type is None:
            self.error(node, "a bare 'except:' is not allowed in scripts; "
                             "name the error, e.g. 'except ValueError:'", construct="bare_except")
        elif not _names_only(node.type):
            self.error(node, "except clauses must name exception classes, "
                             "e.g. 'except (KeyError, ValueError):'", construct="except_names")
        else:
            names = [node.type] if isinstance(node.type, ast.Name) else node.type.elts
            for name in names:
                if name.id not in _CATCHABLE_NAMES:
                    self.error(name, f"scripts cannot catch {name.id}; catch Exception or a subclass of "
                                     f"{', '.join(cls.__name__ for cls in _CATCHABLE)}", construct="catch",
                               name=name.id)
        node = super().visit_ExceptHandler(node)
        if node.type is not None:
            node.type = _call("_catchable_", node.type, node.type)
        return node

    def visit_Attribute(self, node):
        # names starting with '_' and frame/code attributes get RestrictedPython's own message
        if (not node.attr.startswith("_") and node.attr not in INSPECT_ATTRIBUTES
                and node.attr not in SCRIPT_ATTRIBUTE_NAMES):
            self.error(node, f"attribute '.{node.attr}' is not allowed", construct="attribute", name=node.attr)
        return super().visit_Attribute(node)

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id in _SCRIPT_FORBIDDEN_CALLS:
            self.error(node, f"calling {node.func.id}() is not allowed", construct="call", name=node.func.id)
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
def compile_script(source: str) -> types.CodeType:
    """Check and compile a script once; code objects are immutable, so threads share them."""
    tree = parse(source, "exec")
    try:
        result = compile_restricted_exec(tree, filename=SCRIPT_FILENAME, policy=_ScriptPolicy)
    except SyntaxError as err:  # found by compile(), e.g. 'return' outside a function
        raise SandboxError(f"syntax error at line {err.lineno}: {err.msg}", Code.RUN_SYNTAX,
                           {"line": err.lineno, "column": err.offset}) from None
    except (RecursionError, MemoryError) as err:  # nesting too deep for the compiler
        raise SandboxError(f"unreadable source: {type(err).__name__}") from None
    if result.errors or result.code is None:
        first = result.errors[0] if result.errors else None
        raise SandboxError("; ".join(result.errors) or "the script did not compile", Code.RUN_NOT_ALLOWED,
                           getattr(first, "params", None))
    return result.code


def check_script(source: str) -> None:
    """Raise SandboxError (with the line) if `source` is not a script the sandbox accepts."""
    compile_script(require_text(source))


class _BoundedPrintCollector(PrintCollector):
    """Where `print` writes in scripts (readable as `printed`); output is measured before it is made."""

    def _call_print(self, *objects, **kwargs):
        for value in objects:
            charge(guards.text_size(value), "print()")
        return super()._call_print(*objects, **kwargs)


def _apply(function, *args, **kwargs):
    """RestrictedPython routes `f(*args, **kwargs)` through this."""
    return function(*args, **kwargs)


_DROPPED_BUILTINS = {
    "__build_class__", "_getattr_", "setattr", "delattr",  # no classes, no attribute writes
    "BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit",  # would escape `except Exception`
}
SCRIPT_BUILTINS = {name: value for name, value in safe_builtins.items() if name not in _DROPPED_BUILTINS}
SCRIPT_BUILTINS.update(
    str=guards.guarded_str, repr=guards.guarded_repr, pow=guards.guarded_pow, range=guards.guarded_range,
    isinstance=guards.guarded_isinstance, list=guards.guarded_list, tuple=guards.guarded_tuple,
    set=guards.guarded_set, dict=guards.guarded_dict, sorted=guards.guarded_sorted, sum=guards.guarded_sum,
    round=guards.guarded_round, int=guards.guarded_int, hash=guards.guarded_hash, divmod=guards.guarded_divmod,
    min=min, max=max, any=any, all=all, enumerate=enumerate, zip=zip,
)
SCRIPT_GLOBALS = {
    "__builtins__": SCRIPT_BUILTINS,
    "_getattr_": script_getattr,
    "_getitem_": guards.guarded_getitem,
    "_getiter_": iter,
    "_write_": full_write_guard,
    "_inplacevar_": guards.inplacevar,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_print_": _BoundedPrintCollector,
    "_apply_": _apply,
    "_binop_": guards.binop,
    "_format_": guards.format_value,
    "_catchable_": _catchable,
    "_loop_step_": loop_step,
}
RESERVED_NAMES = frozenset(SCRIPT_GLOBALS) | {"_print"}  # `_print` holds the print collector


def script_line(exc: BaseException) -> int | None:
    """The script line an exception came from: the innermost frame of sandboxed code."""
    line = None
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == SCRIPT_FILENAME:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


class _DataCheck:
    """Walks what a script leaves in task data: plain JSON values only, bounded in size and depth."""

    _SCALARS = (str, int, float, bool, type(None))

    def __init__(self, name: str):
        self.name = name
        self.values = 0

    def check(self, path: str, value, depth: int = 0) -> None:
        self.values += 1
        if self.values > MAX_ITEMS:
            raise SandboxError(f"variable '{self.name}' is too large (more than {MAX_ITEMS:,} values)",
                               Code.RUN_DATA_NOT_STORABLE, {"variable": self.name})
        kind = type(value)
        if kind in self._SCALARS:
            if kind is float and not math.isfinite(value):
                raise SandboxError(f"{path} is {value}, which JSON cannot store", Code.RUN_DATA_NOT_STORABLE,
                                   {"variable": self.name})
            return
        if depth >= MAX_DEPTH:
            raise SandboxError(f"variable '{self.name}' is nested more than {MAX_DEPTH} levels deep "
                               f"(or contains itself)", Code.RUN_DATA_NOT_STORABLE, {"variable": self.name})
        if kind is dict:
            for key, child in value.items():
                if type(key) is not str:
                    raise SandboxError(f"{path} has the key {key!r}; task data keys must be strings",
                                       Code.RUN_DATA_NOT_STORABLE, {"variable": self.name})
                if key == RESERVED_KEY:
                    raise SandboxError(f"{path} has a key named '{RESERVED_KEY}', which SpiffWorkflow's "
                                       f"serializer reserves; rename it", Code.RUN_DATA_NOT_STORABLE,
                                       {"variable": self.name})
                self.check(f"{path}[{key!r}]", child, depth + 1)
        elif kind is list:
            for index, child in enumerate(value):
                self.check(f"{path}[{index}]", child, depth + 1)
        else:
            raise SandboxError(f"{path} is a {kind.__name__}; task data can only hold dict, list, str, int, "
                               f"float, bool and None", Code.RUN_DATA_NOT_STORABLE, {"variable": self.name})


def check_task_data(data: dict) -> None:
    """Refuse task data SpiffWorkflow's serializer or a JSON encoder cannot store."""
    for name, value in data.items():
        if name == RESERVED_KEY:
            raise SandboxError(f"variable '{RESERVED_KEY}' is reserved by SpiffWorkflow's serializer; "
                               f"rename it", Code.RUN_DATA_NOT_STORABLE, {"variable": name})
        _DataCheck(name).check(f"variable '{name}'", value)
