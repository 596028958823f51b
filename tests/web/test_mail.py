"""Notifications in the reader's language: rendered from the catalogues, sent by e-mail once."""
from __future__ import annotations

import socket
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from engine import clock
from engine.complaints import deferrals, intake, notifications, timers
from engine.db import UnitOfWork
from engine.models import Notification, User
from tests.lifecycle import INTAKE, open_task, start
from web import mail

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _outbox(system):
    with UnitOfWork(system.db, write=False) as uow:
        return list(uow.session.scalars(select(Notification).order_by(Notification.id)))


def _make_every_kind(system):
    """Assignment, warning, breach + escalation, deferral request and decision, customer link."""
    start(system)
    second = start(system).complaint_id
    row = open_task(system, second)
    with UnitOfWork(system.db) as uow:
        request = deferrals.request_deferral(uow, system.actor("agent1"), row.id, "关机",
                                             clock.now() + timedelta(hours=2))
    with UnitOfWork(system.db) as uow:
        deferrals.decide_deferral(uow, system.actor("gm"), request, approve=False, note="继续联系")
    clock.advance(timedelta(minutes=31))
    timers.run_due(system.db)


def test_every_kind_reads_well_in_both_languages(system):
    _make_every_kind(system)
    kinds = {}
    for note in _outbox(system):
        kinds.setdefault(note.kind, note)
    assert set(kinds) >= {"assigned", "warning", "breach", "deferral_requested", "deferral_rejected"}
    for note in kinds.values():
        zh_subject, zh_body = mail.render(note.kind, note.params, "zh", SHANGHAI)
        en_subject, en_body = mail.render(note.kind, note.params, "en", SHANGHAI)
        assert note.params["reference"] in zh_subject and note.params["reference"] in en_subject
        assert "%(" not in zh_body + en_body
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh_subject)
        if "task" in note.params:
            # One language at a time: the model's bilingual title ("中文 English") loses its English in Chinese.
            zh_title = note.params["task"].removesuffix(" " + note.params["task_en"])
            assert zh_title in zh_body and note.params["task_en"] not in zh_body + zh_subject
            assert note.params["task_en"] in en_body
    _, breach = mail.render("breach", kinds["breach"].params, "zh", SHANGHAI)
    assert "已上报给：客服部经理" in breach and "2026-11-23 17:30" in breach  # 09:30 UTC, shown in China time


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp_server():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", inbox
    controller.stop()


def test_email_goes_once_in_each_readers_language(system, smtp_server):
    url, inbox = smtp_server
    with UnitOfWork(system.db) as uow:
        uow.session.execute(update(User).where(User.username == "agent1").values(email="a1@example.cn", locale="en"))
        uow.session.execute(update(User).where(User.username == "cs_manager").values(email="cs@example.cn"))
        uow.commit()
    with UnitOfWork(system.db) as uow:  # as the intake page records it: with the customer's link
        intake.record_complaint(uow, replace(system.settings, public_base_url="https://complaints.example.cn"),
                                system.actor("agent1"), dict(INTAKE, customer_contact="kunde@example.cn"), "secret")
    clock.advance(timedelta(minutes=31))
    timers.run_due(system.db)
    render = mail.renderer(system.settings)
    sent = notifications.send_pending(system.db, url, "complaints@example.cn", render)
    assert sent == len(inbox.messages) >= 4
    assert notifications.send_pending(system.db, url, "complaints@example.cn", render) == 0
    by_recipient = {}
    for recipients, message in inbox.messages:
        by_recipient.setdefault(recipients[0], []).append(str(make_header(decode_header(message["Subject"]))))
    assert any(s.endswith("New task: Judge validity") for s in by_recipient["a1@example.cn"])
    assert any("Deadline missed" in s for s in by_recipient["a1@example.cn"])
    assert any("已超时" in s for s in by_recipient["cs@example.cn"])
    assert by_recipient["kunde@example.cn"] == [f"您的投诉 {_outbox(system)[0].params['reference']}"]
    assert all(n.sent_at is not None for n in _outbox(system) if n.email)
