"""Expressions (gateway conditions, timer values, DMN entries) are interpreted by simpleeval, never compiled.

Names are the task data plus the external context; only a short list of functions and the side-effect-free
methods of ``str``/``list``/``dict`` are reachable.
"""
from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable
from typing import Literal, overload

from simpleeval import DEFAULT_OPERATORS, EvalWithCompoundTypes, safe_add, safe_lshift, safe_mult, safe_power

from engine.errors import Code
from engine.workflow.sandbox import guards
from engine.workflow.sandbox.budget import SCRIPT_FILENAME, SandboxError, charge
from engine.workflow.sandbox.methods import EXPRESSION_ATTRIBUTE_NAMES, EXPRESSION_METHODS, attribute

FORBIDDEN_CALLS = frozenset({
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


def where(node) -> str:
    """'line L, column C' of an AST node, for messages."""
    line, column = getattr(node, "lineno", None), getattr(node, "col_offset", None)
    return f"line {line}" if column is None else f"line {line}, column {column + 1}"


def place(node) -> dict[str, int]:
    """The line and column of an AST node, as a refusal's params."""
    line, column = getattr(node, "lineno", None), getattr(node, "col_offset", None)
    return {"line": line, **({"column": column + 1} if column is not None else {})} if line else {}


@overload
def parse(source: str, mode: Literal["eval"]) -> ast.Expression: ...


@overload
def parse(source: str, mode: Literal["exec"]) -> ast.Module: ...


def parse(source: str, mode: str) -> ast.AST:
    """ast.parse with errors as SandboxError."""
    try:
        return ast.parse(source, filename=SCRIPT_FILENAME, mode=mode)
    except SyntaxError as err:
        raise SandboxError(f"syntax error at line {err.lineno}, column {err.offset}: {err.msg}", Code.RUN_SYNTAX,
                           {"line": err.lineno, "column": err.offset}) from None
    except (ValueError, RecursionError, MemoryError) as err:  # NUL bytes; nesting too deep for the parser
        raise SandboxError(f"unreadable source: {type(err).__name__}: {err}") from None


def _expression_problem(node: ast.AST) -> tuple[str, dict[str, str]] | None:
    """What the sandbox refuses in `node`: its message and the params of its reason (`construct`, `name`)."""
    if not isinstance(node, _EXPRESSION_NODES):
        return f"{type(node).__name__} is not allowed in expressions", {"construct": "node",
                                                                        "name": type(node).__name__}
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        return f"names starting with '_' are not allowed ({node.id})", {"construct": "underscore_name",
                                                                        "name": node.id}
    if isinstance(node, ast.Attribute) and node.attr not in EXPRESSION_ATTRIBUTE_NAMES:
        return f"attribute '.{node.attr}' is not allowed", {"construct": "attribute", "name": node.attr}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
        return f"calling {node.func.id}() is not allowed", {"construct": "call", "name": node.func.id}
    if isinstance(node, ast.keyword) and node.arg is None:
        return "'**' arguments are not allowed", {"construct": "double_star"}
    return None


def require_text(source) -> str:
    """`source` itself if it is text."""
    if not isinstance(source, str):
        raise SandboxError(f"expected source text, got {type(source).__name__}")
    return source


@functools.lru_cache(maxsize=1024)
def expression_tree(source: str) -> ast.Expression:
    """Parse and check an expression once; the tree is read-only afterwards, so threads share it."""
    if not source.strip():
        raise SandboxError("the expression is empty")
    tree = parse(source.strip(), "eval")
    for node in ast.walk(tree):
        problem = _expression_problem(node)
        if problem:
            raise SandboxError(f"{where(node)}: {problem[0]}", Code.RUN_NOT_ALLOWED, {**place(node), **problem[1]})
    return tree


def check_expression(source: str) -> None:
    """Raise SandboxError (message says what is wrong, with the line/column when known) if `source` is not
    an expression the sandbox accepts: syntax errors, dunder names/attributes, forbidden constructs."""
    expression_tree(require_text(source))


def _expression_operator(symbol: str, simpleeval_operator: Callable) -> Callable:
    """Our size check first, then simpleeval's own limits (string length, power)."""

    def apply(left, right):
        guards.check_binop(symbol, left, right)
        return simpleeval_operator(left, right)
    return apply


_EXPRESSION_OPERATORS = {
    **DEFAULT_OPERATORS,
    ast.Add: _expression_operator("+", safe_add),
    ast.Mult: _expression_operator("*", safe_mult),
    ast.Pow: _expression_operator("**", safe_power),
    ast.LShift: _expression_operator("<<", safe_lshift),
    ast.Mod: _expression_operator("%", operator.mod),
    ast.FloorDiv: _expression_operator("//", operator.floordiv),
    ast.Div: _expression_operator("/", operator.truediv),
}
_EXPRESSION_FUNCTIONS = {
    "len": len, "min": min, "max": max, "abs": abs, "round": guards.guarded_round, "int": guards.guarded_int,
    "float": float, "str": guards.guarded_str, "bool": bool, "sum": guards.guarded_sum,
    "sorted": guards.guarded_sorted, "any": any, "all": all,
}


_COMPOUND_CONSTRUCTORS = {"list": guards.guarded_list, "tuple": guards.guarded_tuple, "dict": guards.guarded_dict,
                          "set": guards.guarded_set}
EXPRESSION_CALLABLES = frozenset(_EXPRESSION_FUNCTIONS) | frozenset(_COMPOUND_CONSTRUCTORS)
"""Names expressions can call (before an environment's own functions)."""


class ExpressionEvaluator(EvalWithCompoundTypes):
    """simpleeval with our attribute allowlist, checked f-string fields and charged slices.

    simpleeval keeps state on the instance while it evaluates, so every call gets its own.
    """

    def __init__(self, names: dict, functions: dict):
        super().__init__(operators=_EXPRESSION_OPERATORS, functions={**_EXPRESSION_FUNCTIONS, **functions},
                         names=names)
        # EvalWithCompoundTypes adds the plain constructors; use the charged ones
        self.functions.update(_COMPOUND_CONSTRUCTORS)

    def _eval_attribute(self, node):
        return attribute(self._eval(node.value), node.attr, EXPRESSION_METHODS)

    def _eval_formattedvalue(self, node):
        spec = self._eval(node.format_spec) if node.format_spec else ""
        return guards.format_value(self._eval(node.value), node.conversion, spec)

    def _eval_subscript(self, node):
        value = super()._eval_subscript(node)
        if isinstance(node.slice, ast.Slice) and isinstance(value, (str, bytes, list, tuple)):
            charge(len(value), "slice")
        return value
