"""Each level's first-response limit, read from the policy decision of the current model version."""
from __future__ import annotations

import ast
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import ModelFile
from engine.workflow.deploy import current_version
from engine.workflow.functions import parse_duration
from engine.workflow.model_xml import NS, ModelInvalid, parse_xml

#: The policy decision's output that holds each level's first-response limit (an ISO 8601 duration).
FIRST_RESPONSE_OUTPUT = "sla_first_response"



def first_response_limits(session: Session, process_id: str) -> dict[str, float]:
    """Each level's first-response limit in seconds, from the policy decision of the current version.

    Empty when the current model has no decision with a `sla_first_response` output keyed by level.
    """
    version = current_version(session, process_id)
    if version is None:
        return {}
    files = session.execute(select(ModelFile.path, ModelFile.content).where(
        ModelFile.version_id == version.id, ModelFile.path.like("%.dmn"))).all()
    limits: dict[str, float] = {}
    for path, content in files:
        limits.update(_limits_in(path, content))
    return limits


@lru_cache(maxsize=16)
def _limits_in(path: str, content: str) -> dict[str, float]:
    try:
        tree = parse_xml(content, path)
    except ModelInvalid:
        return {}
    limits: dict[str, float] = {}
    for table in tree.iterfind(".//dmn:decision/dmn:decisionTable", NS):
        outputs = [o.get("name") for o in table.iterfind("dmn:output", NS)]
        inputs = [(i.findtext("dmn:inputExpression/dmn:text", namespaces=NS) or "").strip()
                  for i in table.iterfind("dmn:input", NS)]
        if FIRST_RESPONSE_OUTPUT not in outputs or "level" not in inputs:
            continue
        out_at, in_at = outputs.index(FIRST_RESPONSE_OUTPUT), inputs.index("level")
        for rule in table.iterfind("dmn:rule", NS):
            entries = [e.findtext("dmn:text", namespaces=NS) for e in rule.iterfind("dmn:inputEntry", NS)]
            results = [e.findtext("dmn:text", namespaces=NS) for e in rule.iterfind("dmn:outputEntry", NS)]
            try:
                level = ast.literal_eval((entries[in_at] or "").strip())
                limit = parse_duration(ast.literal_eval((results[out_at] or "").strip()))
            except (IndexError, ValueError, SyntaxError, TypeError, KeyError):
                continue  # a rule that is not a plain "level → duration" literal has no fixed limit
            if isinstance(level, str):
                limits.setdefault(level, limit.total_seconds())
    return limits
