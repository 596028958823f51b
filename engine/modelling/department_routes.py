"""Where a model names departments: the outputs named `department` of its decision tables (`routing.dmn`) and
the `department` choices of its forms (the hand-over form's enum). Deploying refuses a model that routes to a
department the administrator has not added or has deactivated, and deactivating one is refused while the
current model routes to it (docs/ARCHITECTURE.md, "Departments")."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import ModelCode
from engine.models import Department
from engine.workflow.model_xml import ModelInvalid, ModelProblem, parse_xml

#: The output column and the form field that name a department.
FIELD = "department"
_QUOTED = re.compile(r'^\s*"([^"]*)"\s*$')


@dataclass(frozen=True)
class Route:
    """One place a model names a department: file, line, element id and the department's code."""

    path: str
    line: int | None
    element: str | None
    department: str


def routes(files: dict[str, str]) -> list[Route]:
    """Every department the model's decision tables output and its forms offer (unreadable files name none:
    the bundle's own checks report them)."""
    found: list[Route] = []
    for path, text in sorted(files.items()):
        try:
            if path.endswith(".dmn"):
                found += _dmn_routes(path, parse_xml(text, path))
            elif path.endswith(".schema.json"):
                found += _form_routes(path, text)
        except (ModelInvalid, ValueError):
            continue
    return found


def _local(node) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _dmn_routes(path: str, root) -> list[Route]:
    found = []
    for table in (n for n in root.iter() if _local(n) == "decisionTable"):
        outputs = [n for n in table if _local(n) == "output"]
        columns = [i for i, o in enumerate(outputs) if o.get("name") == FIELD]
        for rule in (n for n in table if _local(n) == "rule"):
            entries = [n for n in rule if _local(n) == "outputEntry"]
            for i in columns:
                text = next((t.text or "" for t in entries[i] if _local(t) == "text"), "") if i < len(entries) else ""
                if match := _QUOTED.match(text):
                    found.append(Route(path, entries[i].sourceline, entries[i].get("id"), match.group(1)))
    return found


def _form_routes(path: str, text: str) -> list[Route]:
    schema = json.loads(text)
    field = schema.get("properties", {}).get(FIELD) if isinstance(schema, dict) else None
    if not isinstance(field, dict) or not isinstance(field.get("enum"), list):
        return []
    lines = text.splitlines()
    start = next((n for n, line in enumerate(lines) if f'"{FIELD}"' in line), 0)
    return [Route(path, next((n + 1 for n in range(start, len(lines)) if f'"{code}"' in lines[n]), None),
                  FIELD, code) for code in field["enum"] if isinstance(code, str)]


def problems(session: Session, files: dict[str, str]) -> list[ModelProblem]:
    """The routes of a bundle to a department that is not in the table, or is inactive."""
    known: dict[str, bool] = {code: on for code, on in session.execute(select(Department.code, Department.active))}
    active = ", ".join(sorted(code for code, on in known.items() if on))
    found = []
    for r in routes(files):
        if r.department not in known:
            found.append(ModelProblem(r.path, r.line, r.element, ModelCode.ROUTES_TO_UNKNOWN_DEPARTMENT,
                                      {"department": r.department, "departments": active}))
        elif not known[r.department]:
            found.append(ModelProblem(r.path, r.line, r.element, ModelCode.ROUTES_TO_INACTIVE_DEPARTMENT,
                                      {"department": r.department}))
    return found
