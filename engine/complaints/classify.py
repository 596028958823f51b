"""The automatic first classification: category, level and department suggested from the complaint's text.

The rules are `classification.json` in the process folder (workflows/), deployed with the model like its
forms, so the process owner edits them like any other model file and every complaint is classified by the
rules of its own version. A rule is a list of words or phrases; Chinese words match as substrings (a
Chinese text has no spaces to split on), Latin words as whole words, both case-blind. Where a substring is not
enough (不理 is also the start of 不理解), a rule lists the word under `whole_words`: it counts only where jieba's
segmentation (rjieba) cuts the text at both of its ends. The category whose
rule matched most distinct words wins (ties: the earlier rule); the level is the first level rule with
a match (the file lists the most severe first), else the default. See docs/ARCHITECTURE.md, "Customer intake".

The suggestion is recorded with the complaint (`Classification`); the agent confirms or changes the
category at the validity check (`decide`), and the reports count how often it was kept (`kept_rate`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.complaints import progress, worklist
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Conflict, Forbidden, InvalidInput
from engine.models import Classification, Complaint, ModelFile, WorkTask
from engine.people.access import check_can_view
from engine.people.roles import AGENT, INTAKE_ROLES, Actor
from engine.workflow import runtime
from engine.workflow.classification_rules import RULES_FILE, Rules, WholeWord, parse_rules

#: The user task at which the agent confirms or changes the suggestion.
REVIEW_TASK = "judge_validity"
#: The texts the rules read, in the order their matches are listed.
TEXT_FIELDS = ("description", "demand", "product")
_LATIN = re.compile(r"[a-z0-9 '\-]+")


@dataclass(frozen=True)
class Suggestion:
    """What the rules suggest, and the words that made them: [{"word", "field", "for"}]."""

    category: str | None
    level: str | None
    department: str | None
    matched: list[dict] = field(default_factory=list)

    def words(self, kind: str) -> list[str]:
        """The distinct matched words that decided `kind` ("category" or "level")."""
        return list(dict.fromkeys(m["word"] for m in self.matched if m["for"] == kind))


def rules_of_version(session: Session, version_id: int) -> Rules:
    """The rules deployed with a model version (no rules file: nothing is suggested)."""
    text = session.scalar(select(ModelFile.content).where(ModelFile.version_id == version_id,
                                                         ModelFile.path == RULES_FILE))
    return parse_rules(text) if text else Rules()


def _found(word: str, text: str) -> bool:
    if _LATIN.fullmatch(word):  # a Latin word: whole words only ("fire" is not in "fireworks")
        return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) is not None
    if isinstance(word, WholeWord):
        return _whole(word, text)
    return word in text


def _whole(word: str, text: str) -> bool:
    """`word` found where the segmentation cuts the text at both of its ends."""
    start = text.find(word)
    if start < 0:
        return False
    cuts = _cuts(text)
    while start >= 0:
        if start in cuts and start + len(word) in cuts:
            return True
        start = text.find(word, start + 1)
    return False


@lru_cache(maxsize=64)
def _cuts(text: str) -> frozenset[int]:
    """Where jieba's segmentation (rjieba, its maintained Rust port) cuts a text into words, as offsets."""
    # Imported here: loading jieba's dictionary costs about 0.1 s, paid only by a process that meets a rule's
    # whole word, not by every `complaints` command and worker that imports this module.
    import rjieba

    return frozenset({0, *(end for _, _, end in rjieba.tokenize(text))})


def suggest(rules: Rules, texts: dict[str, str | None]) -> Suggestion:
    """Suggest category, level and department for a complaint's texts (field name → text)."""
    folded = {name: (texts.get(name) or "").casefold() for name in TEXT_FIELDS}

    def matches(words: tuple[str, ...], kind: str) -> list[dict]:
        found = []
        for word in words:
            where = next((name for name in TEXT_FIELDS if _found(word, folded[name])), None)
            if where is not None:
                found.append({"word": word, "field": where, "for": kind})
        return found

    best: tuple[str, str | None, list[dict]] | None = None
    for category, department, words in rules.categories:
        found = matches(words, "category")
        if found and (best is None or len(found) > len(best[2])):
            best = (category, department, found)
    level, level_found = rules.default_level, []
    for candidate, words in rules.levels:
        found = matches(words, "level")
        if found:
            level, level_found = candidate, found
            break
    if best is None:
        department = next((d for c, d, _ in rules.categories if c == rules.default_category), None)
        return Suggestion(rules.default_category, level, department, level_found)
    return Suggestion(best[0], level, best[1], best[2] + level_found)


def record(session: Session, complaint: Complaint, suggestion: Suggestion, applied: bool) -> Classification:
    """Keep the suggestion made for a new complaint (`applied`: it chose the category and level)."""
    row = Classification(complaint_id=complaint.id, category=suggestion.category, level=suggestion.level,
                         department=suggestion.department, matched=suggestion.matched, applied=applied,
                         created_at=clock.now())
    session.add(row)
    return row


def of_complaint(session: Session, complaint_id: int) -> Classification | None:
    """The complaint's suggestion, if one was made."""
    return session.scalar(select(Classification).where(Classification.complaint_id == complaint_id))


def check_can_decide(actor: Actor) -> None:
    """Only the validity check's lane (agents) and its escalation (the CS manager) decide the category."""
    if actor.role not in INTAKE_ROLES:
        raise Forbidden(Code.TASK_FOR_ROLE, role=AGENT)


@use_case
def decide(uow: UnitOfWork, actor: Actor, complaint_id: int, category: str) -> bool:
    """The agent at the validity check confirms the suggested category or changes it (the category decides
    the department the complaint is routed to after the check). Returns whether the suggestion was kept."""
    check_can_decide(actor)
    session = uow.session
    with progress.locked_case(session, complaint_id, clock.now()) as case:
        check_can_view(actor, case.complaint)
        row = of_complaint(session, complaint_id)
        if row is None:
            raise Conflict(Code.NO_SUGGESTION)
        task_row = session.scalar(select(WorkTask).where(WorkTask.complaint_id == complaint_id,
                                                          WorkTask.name == REVIEW_TASK, WorkTask.status == "open"))
        if task_row is None:
            raise Conflict(Code.TASK_NOT_OPEN)
        if not worklist.can_work(actor, task_row):
            raise Forbidden(Code.TASK_FOR_ROLE, role=task_row.role)
        allowed = _categories(case)
        if category not in allowed:
            raise InvalidInput.field("category", Code.NOT_A_CATEGORY)
        task = next((t for t in runtime.ready_user_tasks(case.workflow) if t.task_spec.name == REVIEW_TASK), None)
        if task is None:
            raise Conflict(Code.TASK_NOT_OPEN)
        task.data["category"] = category
        row.decided_category, row.decided_by_id, row.decided_at = category, actor.id, clock.now()
        row.kept = category == row.category
        audit.record(session, complaint_id, actor, "classification_decided",
                     data={"suggested": row.category, "category": category, "kept": row.kept})
        return row.kept


def _categories(case: progress.Case) -> list[str]:
    intake = case.version.intake
    if intake is None:
        return []
    prop = intake.form.schema.get("properties", {}).get("category", {})
    return list(prop.get("enum", []))


def kept_rate(session: Session, start: datetime, end: datetime, department: str | None = None) -> float | None:
    """Of the suggestions the agents decided in [start, end) (of the department's complaints), the share they
    kept; None when none was decided."""
    decided = select(func.count(), func.count().filter(Classification.kept.is_(True))).select_from(
        Classification).where(Classification.decided_at >= start, Classification.decided_at < end)
    if department:
        decided = decided.join(Complaint, Complaint.id == Classification.complaint_id).where(
            Complaint.department == department)
    total, kept = session.execute(decided).one()
    return kept / total if total else None
