"""DMN this engine cannot evaluate: other DMN versions, several decisions per file, literal expressions,
aggregations, FEEL unary tests and literals that Python would read otherwise."""
from __future__ import annotations

import ast
import re

from lxml import etree

from engine.errors import ModelCode
from engine.workflow.model_xml import NS, ModelProblem, owner_id

DMN13_NS = NS["dmn"]
_TOP_LEVEL_COMMA = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)(?![^\[(]*[\])])')
_RANGE = re.compile(r"^[\[\]()]\s*(.+?)\s*\.\.\s*(.+?)\s*[\[\])]$")


def check_dmn(path: str, tree) -> list[ModelProblem]:
    namespace = etree.QName(tree).namespace
    if namespace != DMN13_NS:
        return [ModelProblem(path, tree.sourceline, tree.get("id"), ModelCode.DMN_VERSION,
                             {"namespace": namespace})]
    problems = []
    decisions = list(tree.iterfind("dmn:decision", NS))
    if not decisions:
        problems.append(ModelProblem(path, tree.sourceline, tree.get("id"), ModelCode.DMN_NO_DECISION))
    for extra in decisions[1:]:
        problems.append(ModelProblem(path, extra.sourceline, extra.get("id"), ModelCode.DMN_EXTRA_DECISION))
    for decision in decisions:
        table = decision.find("dmn:decisionTable", NS)
        if table is None:
            is_literal = decision.find("dmn:literalExpression", NS) is not None
            problems.append(ModelProblem(path, decision.sourceline, decision.get("id"),
                                         ModelCode.DECISION_LITERAL if is_literal else ModelCode.DECISION_NO_TABLE))
            continue
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        if table.get("aggregation"):
            problems.append(ModelProblem(path, table.sourceline, decision.get("id"), ModelCode.HIT_POLICY_AGGREGATION,
                                         {"policy": policy, "aggregation": table.get("aggregation")}))
        for item in table.iterfind("dmn:input", NS):
            expression = item.find("dmn:inputExpression", NS)
            text = expression.findtext("dmn:text", None, NS) if expression is not None else None
            if not (text or "").strip():
                problems.append(ModelProblem(path, item.sourceline, item.get("id") or decision.get("id"),
                                             ModelCode.DMN_INPUT_NO_EXPRESSION,
                                             {"input": item.get("label") or item.get("id")}))
    for entry in tree.iterfind(".//dmn:rule/dmn:inputEntry", NS):
        text = " ".join((entry.findtext("dmn:text", "", NS)).split())
        python = _feel_entry_python(text)
        if python:
            problems.append(ModelProblem(path, entry.sourceline, entry.get("id") or owner_id(entry),
                                         ModelCode.DMN_FEEL_ENTRY, {"entry": text, "python": python}))
    for entry in tree.iterfind(".//dmn:rule/*", NS):
        text = entry.findtext("dmn:text", "", NS) or ""
        literal = _feel_literal(text)
        if literal:
            problems.append(ModelProblem(path, entry.sourceline, entry.get("id") or owner_id(entry),
                                         ModelCode.FEEL_LITERAL, {"literal": literal,
                                          "python": literal.capitalize() if literal != "null" else "None"}))
    return problems


_FEEL_LITERALS = {"true", "false", "null"}


def _feel_literal(text: str) -> str | None:
    """The FEEL literal (true, false, null) an entry uses where Python has True, False, None."""
    source = text.strip()
    if not source or source == "-":
        return None
    try:
        tree = ast.parse(source.replace("?", "_value_"), mode="eval")
    except SyntaxError:
        try:
            tree = ast.parse(f"_value_ {source}", mode="eval")
        except SyntaxError:
            return None
    return next((n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in _FEEL_LITERALS), None)


def _feel_entry_python(text: str) -> str | None:
    """The Python to write for a FEEL unary test that would silently never match as Python (lists, ranges,
    not()); `?` is the input value."""
    if not text or text == "-":
        return None
    if text.startswith("not(") and text.endswith(")"):
        return f"? not in ({text[4:-1]},)"
    found = _RANGE.match(text)
    if found:
        return f"{found.group(1)} <= ? <= {found.group(2)}"
    if _TOP_LEVEL_COMMA.search(text):
        return f"? in ({text})"
    return None
