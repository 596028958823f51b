"""What changed between two bundles of a process model, in the terms process owners use.

BPMN elements are compared by id on what the engine acts on (type, name, lane, conditions, scripts,
timers, decisions, form files, instructions, the `sla` and other properties, connections), decision
tables rule by rule, forms field by field. Diagram layout is not a change of behaviour and is reported
once, as such.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from lxml import etree

from engine.workflow.model_forms import FORM_SUFFIX, TESTS_FOLDER
from engine.workflow.model_xml import NS, ModelInvalid, parse_xml

ADDED, REMOVED, CHANGED = "added", "removed", "changed"
BPMN_NS = NS["bpmn"]
SPIFF_NS = NS["spiffworkflow"]
DMN_NS = NS["dmn"]
#: Tags whose own children are compared as parts of the element, not as elements of their own.
_PARTS = {"laneSet", "lane", "extensionElements", "incoming", "outgoing", "flowNodeRef", "conditionExpression",
          "script", "documentation", "timeDuration", "timeDate", "timeCycle"}


@dataclass(frozen=True)
class Change:
    """One element, rule, form or file that was added, removed or changed; `details` say how."""

    kind: str
    file: str
    what: str
    element_id: str | None
    name: str
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BundleDiff:
    changes: list[Change]
    #: Files whose text differs only in what does not change behaviour (diagram layout, formatting).
    layout_only: list[str]

    def ids(self, kind: str) -> list[str]:
        """Element ids of one kind of change (for marking them on a diagram)."""
        return sorted({c.element_id for c in self.changes if c.kind == kind and c.element_id})

    @property
    def empty(self) -> bool:
        return not self.changes


def diff_bundles(old: dict[str, str], new: dict[str, str]) -> BundleDiff:
    """Compare two bundles (`{path: text}`); files that cannot be parsed are compared as text."""
    changes: list[Change] = []
    layout_only: list[str] = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        if before is None or after is None:
            changes.append(Change(ADDED if before is None else REMOVED, path, "file", None, path))
            continue
        found = _diff_file(path, before, after)
        if found is None:
            changes.append(Change(CHANGED, path, "file", None, path, ["the text changed"]))
        elif found:
            changes.extend(found)
        else:
            layout_only.append(path)
    return BundleDiff(changes=changes, layout_only=layout_only)


def _diff_file(path: str, before: str, after: str) -> list[Change] | None:
    try:
        if path.endswith(".bpmn"):
            return _compare(path, _bpmn_elements(parse_xml(before, path)), _bpmn_elements(parse_xml(after, path)))
        if path.endswith(".dmn"):
            return _compare(path, _dmn_parts(parse_xml(before, path)), _dmn_parts(parse_xml(after, path)))
        if path.endswith(FORM_SUFFIX):
            old_doc, new_doc = json.loads(before), json.loads(after)
            if path.startswith(TESTS_FOLDER):
                return _compare(path, _test_cases(old_doc), _test_cases(new_doc))
            return _compare(path, _form_fields(path, old_doc), _form_fields(path, new_doc))
    except (ModelInvalid, ValueError, AttributeError, TypeError):
        return None
    return None


def _compare(path: str, old: dict[str, dict], new: dict[str, dict]) -> list[Change]:
    """Items are `{key: {"what", "name", "id", ...attributes}}`; report added, removed and changed ones."""
    changes = []
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key), new.get(key)
        if b is None:  # the key came from `old`
            gone = old[key]
            changes.append(Change(REMOVED, path, gone["what"], gone.get("id"), gone.get("name") or "", []))
            continue
        if a is None:
            details = [f"{name}: {_show(b.get(name))}" for name in _attribute_order(b, {})]
            changes.append(Change(ADDED, path, b["what"], b.get("id"), b.get("name") or "", details))
            continue
        details = [f"{name}: {_show(a.get(name))} → {_show(b.get(name))}"
                   for name in ["name", *_attribute_order(a, b)] if a.get(name) != b.get(name)]
        if details:
            changes.append(Change(CHANGED, path, b["what"], b.get("id"), b.get("name") or a.get("name") or "",
                                  details))
    return changes


def _attribute_order(a: dict, b: dict) -> list[str]:
    names = [k for k in a if k not in ("what", "id", "name")]
    return names + [k for k in b if k not in a and k not in ("what", "id", "name")]


def _show(value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        value = "; ".join(f"{k} = {v}" for k, v in value.items())
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "…"


def _text(node) -> str:
    return " ".join((node.text or "").split()) if node is not None else ""


# --- BPMN -----------------------------------------------------------------------------------------

def _bpmn_elements(tree) -> dict[str, dict]:
    lane_of = {}
    for lane in tree.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            lane_of[_text(ref)] = lane.get("name") or lane.get("id")
    elements: dict[str, dict] = {}
    for process in tree.iterfind("bpmn:process", NS):
        for lane in process.iter(f"{{{BPMN_NS}}}lane"):
            elements[lane.get("id")] = {"what": "lane", "id": lane.get("id"), "name": lane.get("name") or ""}
        for node in process.iter():
            if not isinstance(node.tag, str) or not node.get("id") or node is process:
                continue
            tag = etree.QName(node)
            if tag.namespace != BPMN_NS or tag.localname in _PARTS or tag.localname.endswith("EventDefinition"):
                continue
            elements[node.get("id")] = _bpmn_element(node, tag.localname, lane_of)
    return elements


def _bpmn_element(node, kind: str, lane_of: dict[str, str]) -> dict:
    item: dict = {"what": kind, "id": node.get("id"), "name": node.get("name") or ""}
    if node.get("id") in lane_of:
        item["lane"] = lane_of[node.get("id")]
    for attribute in ("sourceRef", "targetRef", "attachedToRef", "cancelActivity", "default"):
        if node.get(attribute) is not None:
            item[attribute] = node.get(attribute)
    for tag in ("conditionExpression", "script"):
        part = node.find(f"bpmn:{tag}", NS)
        if part is not None:
            item["condition" if tag == "conditionExpression" else "script"] = _text(part)
    for definition in node:
        if isinstance(definition.tag, str) and etree.QName(definition).localname.endswith("EventDefinition"):
            item["event"] = etree.QName(definition).localname.removesuffix("EventDefinition")
            for tag in ("timeDuration", "timeDate", "timeCycle"):
                timer = definition.find(f"bpmn:{tag}", NS)
                if timer is not None:
                    item["timer"] = f"{tag} {_text(timer)}"
            if definition.get("messageRef"):
                item["message"] = definition.get("messageRef")
    extensions = node.find("bpmn:extensionElements", NS)
    if extensions is not None:
        for child in extensions:
            if not isinstance(child.tag, str) or etree.QName(child).namespace != SPIFF_NS:
                continue
            name = etree.QName(child).localname
            if name == "properties":
                for prop in child.iterfind("spiffworkflow:property", NS):
                    item[prop.get("name")] = prop.get("value") or ""
            else:
                item[name] = _text(child)
    return item


# --- DMN ------------------------------------------------------------------------------------------

def _dmn_parts(tree) -> dict[str, dict]:
    parts: dict[str, dict] = {}
    for decision in tree.iterfind("dmn:decision", NS):
        table = decision.find("dmn:decisionTable", NS)
        inputs = [_text(i.find("dmn:inputExpression/dmn:text", NS)) for i in decision.iterfind(".//dmn:input", NS)]
        outputs = [o.get("name") or o.get("label") or "" for o in decision.iterfind(".//dmn:output", NS)]
        parts[decision.get("id")] = {
            "what": "decision", "id": decision.get("id"), "name": decision.get("name") or "",
            "hit policy": table.get("hitPolicy", "UNIQUE") if table is not None else "",
            "inputs": inputs, "outputs": outputs,
        }
        for number, rule in enumerate(decision.iterfind(".//dmn:rule", NS), start=1):
            when = [_text(e.find("dmn:text", NS)) for e in rule.iterfind("dmn:inputEntry", NS)]
            then = [_text(e.find("dmn:text", NS)) for e in rule.iterfind("dmn:outputEntry", NS)]
            rule_id = rule.get("id") or f"{decision.get('id')}#{number}"
            parts[rule_id] = {
                "what": "rule", "id": rule_id, "name": f"{decision.get('id')} #{number}",
                "when": dict(zip(inputs, when, strict=False)), "then": dict(zip(outputs, then, strict=False)),
                "description": _text(rule.find("dmn:description", NS)),
            }
    return parts


# --- forms and test cases ----------------------------------------------------------------------------

def _form_fields(path: str, document: dict) -> dict[str, dict]:
    if path.endswith(".schema.json"):
        required = set(document.get("required", []))
        parts = {"(form)": {"what": "form", "name": path,
                            **{k: v for k, v in document.items() if k not in ("properties", "required")}}}
        for name, prop in document.get("properties", {}).items():
            parts[name] = {"what": "field", "id": None, "name": name, "required": name in required, **prop}
        return parts
    return {key: {"what": "ui", "name": key, "value": value} for key, value in document.items()}


def _test_cases(document: dict) -> dict[str, dict]:
    cases = document.get("cases", [])
    return {str(c.get("name")): {"what": "test case", "name": str(c.get("name")), "case": c} for c in cases}
