"""Functions that scripts and expressions call but the script environment does not provide."""
from __future__ import annotations

import ast

from engine.errors import ModelCode
from engine.workflow.functions import MODEL_FUNCTIONS
from engine.workflow.model_xml import ModelProblem, owner_id
from engine.workflow.sandbox import callable_names

_SCRIPT_CALLABLE = callable_names("script") | set(MODEL_FUNCTIONS)
_EXPRESSION_CALLABLE = callable_names("expression") | set(MODEL_FUNCTIONS)


def called_names(source: str, mode: str) -> list[tuple[str, int]]:
    """The plain names a script (`mode="exec"`) or expression (`"eval"`) calls, with their lines, that the
    script environment does not provide (methods and names the script assigns itself are not counted)."""
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except SyntaxError:
        return []  # the sandbox's own check reports the syntax error
    assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    assigned |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    provided = _SCRIPT_CALLABLE if mode == "exec" else _EXPRESSION_CALLABLE
    return [(n.func.id, n.lineno) for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
            and n.func.id not in provided and n.func.id not in assigned]


def unknown_functions(path: str, node, source: str | None, mode: str, what: str) -> list[ModelProblem]:
    """A problem for each function `source` calls that the script environment does not have."""
    problems = []
    for name, line in called_names(source or "", mode):
        # a script's text starts on its element's line: its line N is N - 1 lines further in the file
        file_line = node.sourceline + line - 1 if mode == "exec" and node.sourceline else node.sourceline
        problems.append(ModelProblem(path, file_line, owner_id(node), ModelCode.UNKNOWN_FUNCTION,
                                     {"what": what, "function": name, "functions": ", ".join(sorted(MODEL_FUNCTIONS))}))
    return problems
