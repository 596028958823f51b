"""DMN this engine cannot evaluate: other DMN versions, several decisions per file, literal expressions,
aggregations, FEEL unary tests and literals that Python would read otherwise."""
from __future__ import annotations

import ast
import re

from lxml import etree

from engine.workflow.model_xml import NS, ModelProblem, owner_id

DMN13_NS = NS["dmn"]
_TOP_LEVEL_COMMA = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)(?![^\[(]*[\])])')
_RANGE = re.compile(r"^[\[\]()]\s*(.+?)\s*\.\.\s*(.+?)\s*[\[\])]$")


def check_dmn(path: str, tree) -> list[ModelProblem]:
    namespace = etree.QName(tree).namespace
    if namespace != DMN13_NS:
        return [ModelProblem(path, tree.sourceline, tree.get("id"), f"DMN namespace {namespace!r} is not DMN 1.3",
                             "save the file as DMN 1.3 (Camunda Modeler 5 and dmn-js do)")]
    problems = []
    decisions = list(tree.iterfind("dmn:decision", NS))
    if not decisions:
        problems.append(ModelProblem(path, tree.sourceline, tree.get("id"), "the DMN file holds no decision",
                                     "add a decision with a decision table, or remove the file"))
    for extra in decisions[1:]:
        problems.append(ModelProblem(path, extra.sourceline, extra.get("id"),
                                     "only the first decision of a DMN file is read here; this one would be lost",
                                     "put each decision in a file of its own"))
    for decision in decisions:
        table = decision.find("dmn:decisionTable", NS)
        if table is None:
            kind = "a literal expression" if decision.find("dmn:literalExpression", NS) is not None else "no table"
            problems.append(ModelProblem(path, decision.sourceline, decision.get("id"),
                                         f"the decision is {kind}; this engine evaluates decision tables only",
                                         "write it as a decision table (inputs, outputs, rules)"))
            continue
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        if table.get("aggregation"):
            problems.append(ModelProblem(
                path, table.sourceline, decision.get("id"),
                f"hit policy {policy} with aggregation {table.get('aggregation')} is not evaluated here: the "
                "engine would return the list of matches, not their aggregate",
                "drop the aggregation and compute it in a script task after the decision"))
        for item in table.iterfind("dmn:input", NS):
            expression = item.find("dmn:inputExpression", NS)
            text = expression.findtext("dmn:text", None, NS) if expression is not None else None
            if not (text or "").strip():
                problems.append(ModelProblem(path, item.sourceline, item.get("id") or decision.get("id"),
                                             f"input {item.get('label') or item.get('id')!r} has no input "
                                             "expression text", "name the variable it reads, e.g. "
                                             "<inputExpression><text>level</text></inputExpression>"))
    for entry in tree.iterfind(".//dmn:rule/dmn:inputEntry", NS):
        text = " ".join((entry.findtext("dmn:text", "", NS)).split())
        hint = _feel_entry_hint(text)
        if hint:
            problems.append(ModelProblem(path, entry.sourceline, entry.get("id") or owner_id(entry),
                                         f"input entry {text} is FEEL, which this engine does not evaluate", hint))
    for entry in tree.iterfind(".//dmn:rule/*", NS):
        text = entry.findtext("dmn:text", "", NS) or ""
        literal = _feel_literal(text)
        if literal:
            problems.append(ModelProblem(
                path, entry.sourceline, entry.get("id") or owner_id(entry),
                f"{literal} is FEEL: as Python it names a variable that does not exist",
                f"write {literal.capitalize() if literal != 'null' else 'None'}"))
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


def _feel_entry_hint(text: str) -> str | None:
    """A hint for FEEL unary tests that would silently never match as Python (lists, ranges, not())."""
    if not text or text == "-":
        return None
    if text.startswith("not(") and text.endswith(")"):
        return f"write `? != {text[4:-1]}` or `? not in ({text[4:-1]},)`"
    found = _RANGE.match(text)
    if found:
        return f"write `{found.group(1)} <= ? <= {found.group(2)}` (? is the input value)"
    if _TOP_LEVEL_COMMA.search(text):
        return f"write `? in ({text})` (? is the input value)"
    return None
