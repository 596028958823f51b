"""Random sequences of actions by random users against the engine; invariants checked after each step.

Invariants: a task is only completed by its role (or the role it was escalated to); rounds never go
above the level's maximum unless the general manager is deciding or granted more; one open task per
active step, mirroring exactly the workflow's ready tasks, each with its due time; audit events in order; a
deadline is penalised at most once; refused actions change nothing; the progress call never is all that keeps a
complaint open, and every complaint can still reach an end event.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select

from engine import clock
from engine.bootstrap import DEMO_USERS
from engine.complaints import customer_link, intake, tasks, timers
from engine.config import load_settings
from engine.db import UnitOfWork, open_database
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.models import AuditEvent, Complaint, Penalty, User, WorkTask
from engine.people.roles import RECORDING_ROLES
from engine.people.users import actor_by_username
from engine.workflow import runtime, store
from engine.workflow.versions import load_version
from tests.conftest import START, examples
from tests.lifecycle import ANSWERS, INTAKE, LINK_SECRET

USERS = [u.username for u in DEMO_USERS]
LEVELS = ["dissatisfied", "very_dissatisfied", "major", "crisis"]
#: The end events that close a complaint (never a progress call's end).
END_EVENTS = {"end_archived", "end_not_valid", "end_closed_by_gm"}
CATEGORIES = ["product_quality", "logistics", "service_attitude", "return_exchange", "transaction_dispute"]


class ComplaintMachine(RuleBasedStateMachine):
    #: The session's database template (migrated, workflows/ deployed, demo users): see `_template` below.
    template: Path

    def __init__(self):
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        path = Path(self.tmp.name) / "p.db"
        shutil.copyfile(self.template, path)
        url = f"sqlite:///{path}"
        self.db = open_database(url)
        clock.set_now(START)
        self.settings = replace(load_settings({}), database_url=url, instance_dir=Path(self.tmp.name))
        with UnitOfWork(self.db, write=False) as uow:
            self.actors = {name: actor_by_username(uow, name) for name in USERS}
        self.complaints: list[int] = []
        #: The ready user tasks of each workflow state seen (`_ready_tasks`).
        self.ready: dict[tuple[int, str], list[str]] = {}

    def teardown(self):
        self.db.dispose()
        self.tmp.cleanup()
        clock.set_now(None)

    def _open_tasks(self):
        with UnitOfWork(self.db, write=False) as uow:
            # A stable order (not the random task ids), so hypothesis can replay and shrink a run.
            return list(uow.session.scalars(select(WorkTask).where(WorkTask.status == "open")
                                            .order_by(WorkTask.complaint_id, WorkTask.name)))

    def _snapshot(self, complaint_id):
        with UnitOfWork(self.db, write=False) as uow:
            c = uow.session.get(Complaint, complaint_id)
            events = uow.session.scalar(select(func.count()).select_from(AuditEvent)
                                        .where(AuditEvent.complaint_id == complaint_id))
            return c.state, c.lock_version, events

    @precondition(lambda self: len(self.complaints) < 3)  # few complaints, driven deep
    @rule(user=st.sampled_from(USERS), level=st.sampled_from(LEVELS), category=st.sampled_from(CATEGORIES))
    def start_complaint(self, user, level, category):
        actor = self.actors[user]
        try:
            with UnitOfWork(self.db) as uow:
                result = intake.record_complaint(uow, self.settings, actor,
                                                 dict(INTAKE, level=level, category=category), LINK_SECRET).result
        except Forbidden:
            assert actor.role not in RECORDING_ROLES
            return
        # Anyone who works complaints records one (staff intake); a process owner or an admin is refused.
        assert actor.role in RECORDING_ROLES
        self.complaints.append(result.complaint_id)

    def _answers(self, task, data, flip):
        answers = dict(ANSWERS.get(task.name, {}))
        if task.name == "progress_check":
            answers = {"customer_reached": True, "progress_note": "进行中"}
        if task.name == "record_second_visit":
            answers = {"visited_at": "2026-11-24T10:00:00+08:00", "visit_result": "到店处理", "satisfied": True}
        if task.name == "implement_solution":
            answers["needs_second_visit"] = data.draw(st.booleans())
        for key in ("satisfied", "approved", "valid"):
            if key in answers and flip:
                answers[key] = not answers[key]
        if task.name == "hand_over":
            answers["department"] = data.draw(st.sampled_from(["logistics", "quality", "sales"]))
        if task.name == "gm_decide":
            answers["decision"] = "handle_again" if flip else "close"
        return answers

    def _complete(self, task, user, data, flip):
        if task.name == "follow_up" and data.draw(st.booleans()):  # the customer's survey answers instead
            self._survey(task.complaint_id, not flip)
            return
        actor = self.actors[user]
        before = self._snapshot(task.complaint_id)
        try:
            with UnitOfWork(self.db) as uow:
                tasks.complete_task(uow, actor, task.id, self._answers(task, data, flip))
        except (Forbidden, Conflict) as refused:
            event(f"refused: {type(refused).__name__}")
            assert self._snapshot(task.complaint_id) == before
            return
        event(f"completed {task.name}")
        assert actor.role in (task.role, task.escalated_to)
        if task.role == "department_head" and actor.role == "department_head":
            assert actor.department == task.department

    def _holders(self, task):
        return [n for n, a in self.actors.items() if a.role in (task.role, task.escalated_to)]

    @precondition(lambda self: self.complaints)
    @rule(data=st.data(), flip=st.booleans())
    def complete_a_task(self, data, flip):
        tasks = self._open_tasks()
        if tasks:
            task = data.draw(st.sampled_from(tasks))
            # Mostly someone who may act, sometimes anyone: both paths need exercising.
            self._complete(task, data.draw(st.sampled_from(self._holders(task)) | st.sampled_from(USERS)), data, flip)

    @precondition(lambda self: self.complaints)
    @rule(data=st.data(), steps=st.integers(min_value=1, max_value=8))
    def drive_forward(self, data, steps):
        for _ in range(steps):
            tasks = self._open_tasks()
            if not tasks:
                return
            task = data.draw(st.sampled_from(tasks))
            self._complete(task, data.draw(st.sampled_from(self._holders(task))), data, data.draw(st.booleans()))

    @precondition(lambda self: self.complaints)
    @rule(data=st.data(), junk=st.sampled_from([{"valid": "x"}, {"typename": 1}, {"zz": 1}, [], {"cause": 5}]))
    def submit_garbage(self, data, junk):
        open_ = self._open_tasks()
        if not open_:
            return
        task = data.draw(st.sampled_from(open_))
        holder = next(a for a in self.actors.values() if a.role == task.role and
                      (task.department is None or a.department == task.department))
        before = self._snapshot(task.complaint_id)
        try:
            with UnitOfWork(self.db) as uow:
                tasks.complete_task(uow, holder, task.id, junk)
        except (InvalidInput, Conflict):
            pass
        else:
            raise AssertionError(f"{junk!r} was accepted for {task.name}")
        assert self._snapshot(task.complaint_id) == before

    def _survey(self, complaint_id: int, satisfied: bool) -> None:
        """The customer answers on their private link if it offers the survey (at the follow-up); once per round."""
        with UnitOfWork(self.db, write=False) as uow:
            token = customer_link.link_token(LINK_SECRET, complaint_id,
                                             uow.session.get(Complaint, complaint_id).reference)
            offer = customer_link.customer_view(uow, LINK_SECRET, token).survey_offer
        if offer is None:
            event("survey not offered")
            return
        try:
            with UnitOfWork(self.db) as uow:
                applied = customer_link.submit_survey(uow, LINK_SECRET, token, offer,
                                                      customer_link.Answer(satisfied, 3, "随机回答"))
        except Conflict:
            event("survey answered twice")
            return
        event(f"survey applied: {applied}")

    @precondition(lambda self: self.complaints)
    @rule(data=st.data(), satisfied=st.booleans())
    def customer_answers_the_survey(self, data, satisfied):
        """The customer answers whenever they like: mostly nothing is offered, or the round was answered."""
        self._survey(data.draw(st.sampled_from(self.complaints)), satisfied)

    @precondition(lambda self: self.complaints)
    @rule(minutes=st.integers(min_value=1, max_value=24 * 60))
    def time_passes(self, minutes):
        clock.advance(timedelta(minutes=minutes))
        timers.run_due(self.db)

    def _ready_tasks(self, uow, complaint) -> list[str]:
        """The ids of the workflow's ready user tasks, from its stored state; a state seen before (most
        complaints are untouched by a step) is not read into a workflow again."""
        key = (complaint.version_id, complaint.state)
        if key not in self.ready:
            version = load_version(uow.session, complaint.version_id)
            workflow = store.load_state(complaint.state, version.spec, version.subprocess_specs,
                                        runtime.script_engine())
            self.ready[key] = sorted(str(t.id) for t in runtime.ready_user_tasks(workflow))
        return self.ready[key]

    @invariant()
    def task_table_mirrors_the_workflows(self):
        with UnitOfWork(self.db, write=False) as uow:
            for complaint in uow.session.scalars(select(Complaint)):
                ready = self._ready_tasks(uow, complaint)
                rows = list(uow.session.scalars(select(WorkTask).where(
                    WorkTask.complaint_id == complaint.id, WorkTask.status == "open")))
                assert sorted(r.id for r in rows) == ready
                names = [r.name for r in rows]
                assert len(names) == len(set(names)), names
                # Every step is timed: each open task has its due time (docs/data-dictionary.md, §14).
                assert [r.name for r in rows if r.due_at is None] == []
                variables = complaint.variables
                if complaint.status == "open" and variables.get("round", 0) > variables.get("max_rounds", 99):
                    assert names == ["gm_decide"], names
                # The progress call belongs to the round: it never is all that keeps a complaint open.
                assert names != ["progress_check"], names
                if complaint.status == "closed":
                    assert complaint.outcome in END_EVENTS and rows == [], (complaint.outcome, names)
                assert (complaint.status == "closed") == (not ready and complaint.outcome is not None)

    @precondition(lambda self: self.complaints)
    @rule(data=st.data())
    def every_complaint_can_reach_an_end(self, data):
        """From wherever the random actions left them, the willing answers close every complaint."""
        for _ in range(40):
            tasks_ = self._open_tasks()
            if not tasks_:
                break
            task = tasks_[0]
            holder = next(n for n, a in self.actors.items() if a.id == task.assignee_id or (
                task.assignee_id is None and a.role == task.role and task.department in (None, a.department)))
            self._complete(task, holder, data, flip=False)
            clock.advance(timedelta(minutes=5))
            timers.run_due(self.db)
        with UnitOfWork(self.db, write=False) as uow:
            ends = {c.id: (c.status, c.outcome) for c in uow.session.scalars(select(Complaint))}
        assert all(status == "closed" and outcome in END_EVENTS for status, outcome in ends.values()), ends

    @invariant()
    def audit_in_order_and_penalties_unique(self):
        with UnitOfWork(self.db, write=False) as uow:
            events = list(uow.session.execute(select(AuditEvent.id, AuditEvent.at).order_by(AuditEvent.id)))
            assert [at for _, at in events] == sorted(at for _, at in events)
            timers_penalised = list(uow.session.scalars(select(Penalty.timer_id)))
            assert len(timers_penalised) == len(set(timers_penalised))
            completed = uow.session.execute(
                select(AuditEvent.actor_id, WorkTask.role, WorkTask.escalated_to)
                .join(WorkTask, WorkTask.id == AuditEvent.task_id).where(AuditEvent.kind == "task_completed")).all()
            roles = dict(uow.session.execute(select(User.id, User.role)).all())
            for actor_id, role, escalated_to in completed:
                assert roles[actor_id] in (role, escalated_to)


@pytest.fixture(autouse=True)
def _template(_sqlite_template):
    """Each example starts from a copy of the session's template (tests/conftest.py), not a fresh migration."""
    ComplaintMachine.template = _sqlite_template


ComplaintMachine.TestCase.settings = settings(
    max_examples=examples(12), stateful_step_count=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_random_actions_keep_the_invariants = ComplaintMachine.TestCase
