"""Decision tables of a bundle as plain rows, for reading them on the models page."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from engine.workflow.model_xml import NS, ModelInvalid, parse_xml


@dataclass(frozen=True)
class DecisionTable:
    file: str
    decision_id: str
    name: str
    hit_policy: str
    inputs: list[str]
    outputs: list[str]
    #: One row per rule: (rule id, input entries, output entries, description).
    rules: list[tuple[str, list[str], list[str], str]]


def _text(node) -> str:
    return (node.text or "").strip() if node is not None else ""


def parsed(files: dict[str, str], suffix: str) -> Iterator[tuple[str, etree._Element]]:
    """The bundle's files ending in `suffix` that parse, in path order, with their trees (for reading only:
    the others are the validator's to report)."""
    for path in sorted(p for p in files if p.endswith(suffix)):
        try:
            tree = parse_xml(files[path], path)
        except ModelInvalid:
            continue
        yield path, tree


def read_tables(files: dict[str, str]) -> list[DecisionTable]:
    """Every decision table in the bundle's DMN files (files that do not parse are skipped)."""
    tables = []
    for path, tree in parsed(files, ".dmn"):
        for decision in tree.iterfind("dmn:decision", NS):
            table = decision.find("dmn:decisionTable", NS)
            if table is None:
                continue
            inputs = [i.get("label") or _text(i.find("dmn:inputExpression/dmn:text", NS))
                      for i in table.iterfind("dmn:input", NS)]
            outputs = [o.get("label") or o.get("name") or "" for o in table.iterfind("dmn:output", NS)]
            rules = [(rule.get("id") or "",
                      [_text(e.find("dmn:text", NS)) for e in rule.iterfind("dmn:inputEntry", NS)],
                      [_text(e.find("dmn:text", NS)) for e in rule.iterfind("dmn:outputEntry", NS)],
                      _text(rule.find("dmn:description", NS)))
                     for rule in table.iterfind("dmn:rule", NS)]
            tables.append(DecisionTable(path, decision.get("id") or "", decision.get("name") or "",
                                        table.get("hitPolicy", "UNIQUE"), inputs, outputs, rules))
    return tables
