"""The mailbox against a real IMAP server (Dovecot, one per test process) when filing goes wrong: a message whose filing
keeps failing — an error, or a worker killed by it — is counted before each attempt, backed off and set aside as
a mail incident after the last one while the rest of the mailbox flows; retried after the fix it is filed once.
Refused messages keep their reason, and one sender opens at most the hour's limit of complaints: the rest are
refused as rate limited and the sender is told so once, through the outbox and the local SMTP server."""
from __future__ import annotations

import os
import signal
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.complaints import mail_incidents, mail_limits, mailbox, notifications
from engine.complaints.stored_failures import StoredFailure
from engine.db import UnitOfWork
from engine.errors import Code, Forbidden
from engine.models import AuditEvent, Complaint, Contact, Evidence, MailAttempt, MailMessage, Notification
from tests.web.test_evidence import png
from tests.web.test_mail import smtp_server  # noqa: F401 (the local SMTP server fixture)
from tests.workers import prestarted
from tests.workers.test_mail_intake import FIRST, OTHER, SECRET, _count, _message
from web import mail

pytestmark = pytest.mark.slow  # a real IMAP server and worker processes

#: Makes a mailbox worker be killed by one message (header "X-Fault: POISON"), as a segfault in a library would:
#: the fault is injected here, the worker code under test is the real one (started as a fork of a process that
#: has imported it, tests/workers/prestarted.py).
POISON = """
import os, signal
from engine.complaints import mail_intake
take = mail_intake.take_message
def poisoned(uow, settings, secret, raw):
    if b"X-Fault: POISON" in raw:
        os.kill(os.getpid(), signal.SIGKILL)
    return take(uow, settings, secret, raw)
mail_intake.take_message = poisoned
"""


def _pass(system, imap, settings, downloads: list[str] | None = None) -> mailbox.Counts:
    """One pass of the mailbox worker; the UIDs whose whole message it fetched are added to `downloads`."""
    client = imap.client()
    if downloads is not None:
        command = client.uid

        def recording(name, *args):
            if name == "FETCH" and args[1] == "(BODY.PEEK[])":
                downloads.append(args[0])
            return command(name, *args)

        client.uid = recording
    try:
        return mailbox.poll_once(system.db, settings, SECRET, client)
    finally:
        client.logout()


def _attempt(system) -> MailAttempt | None:
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(select(MailAttempt))


def test_a_message_that_keeps_failing_is_set_aside_while_the_rest_flows_and_a_retry_files_it_once(system, imap):
    settings = replace(system.settings, mail_max_attempts=3)
    broken = settings.instance_dir / "evidence"
    broken.write_text("a file where the evidence folder belongs")  # every attachment fails to be stored
    imap.deliver(_message(**FIRST))  # has a photo: fails
    imap.deliver(_message(**OTHER))  # no attachment: filed
    first = _pass(system, imap, settings)
    assert (first.complaint, first.set_aside) == (1, 0) and imap.unseen() == 1
    failing = _attempt(system)
    assert failing.attempts == 1 and failing.status == "retrying" and failing.message_id == FIRST["message_id"]
    assert "FileExistsError" in failing.last_error and failing.sender == "wang@customer.example.cn"
    # Backing off: the next pass does not try it again yet, nor download it again, and new mail still flows.
    imap.deliver(_message("赵先生 <zhao@customer.example.cn>", "快递丢了", "订单号：SF-3003 的包裹丢了。"))
    downloads: list[str] = []
    second = _pass(system, imap, settings, downloads)
    assert (second.complaint, _attempt(system).attempts, len(downloads)) == (1, 1, 1)
    passes = 0
    while imap.unseen():
        clock.advance(timedelta(hours=1))  # past any backoff
        counts = _pass(system, imap, settings, downloads)
        passes += 1
        assert passes < 10, "never set aside"
    # Attempts 2 and 3 failed; the third was the last, so it was set aside at once (and marked \Seen).
    assert (passes, counts.set_aside, _attempt(system).attempts) == (2, 1, 3)
    assert len(downloads) == 3 and downloads[1:] == [downloads[1]] * 2, "due again, it is downloaded again"
    admin, owner = system.actor("admin"), system.actor("owner")
    with UnitOfWork(system.db, write=False) as uow:
        (incident,) = mail_incidents.incidents(uow, admin)
        with pytest.raises(Forbidden):
            mail_incidents.incidents(uow, owner)  # senders are customers' contact data
    assert (incident.sender, incident.subject, incident.message_id, incident.attempts) == (
        "wang@customer.example.cn", FIRST["subject"], FIRST["message_id"], 3)
    assert (incident.failure.code, incident.failure.params) == (Code.MAIL_FAILED, {"kind": "FileExistsError"})
    assert "FileExistsError" in incident.failure.detail and incident.size > len(png())
    # Seen again (someone marks the mailbox unread), a set-aside message is not tried again.
    imap.mark_all_unseen()
    again = _pass(system, imap, settings)
    assert (again.set_aside, again.seen, _attempt(system).attempts) == (1, 2, 3)

    broken.unlink()  # the fix
    with UnitOfWork(system.db) as uow:
        mail_incidents.retry(uow, admin, incident.id)
    done = _pass(system, imap, settings)  # files the kept copy: the mailbox holds it only as read
    assert done.complaint == 1 and _attempt(system) is None
    with UnitOfWork(system.db, write=False) as uow:
        complaint = uow.session.scalar(select(Complaint).where(
            Complaint.customer_contact == "wang@customer.example.cn"))
        assert mail_incidents.incidents(uow, admin) == []
        kinds = list(uow.session.scalars(select(AuditEvent.kind).where(AuditEvent.complaint_id.is_(None))
                                         .where(AuditEvent.kind.like("mail_incident%")).order_by(AuditEvent.id)))
    assert complaint.order_id == "JD-1001" and _count(system, Evidence, Evidence.complaint_id == complaint.id) == 1
    assert kinds == ["mail_incident", "mail_incident_retried"]
    assert _count(system, Complaint) == 3 and _count(system, MailMessage) == 3
    imap.mark_all_unseen()
    assert _pass(system, imap, settings).seen == 3  # each filed once


def test_a_message_that_kills_its_worker_is_counted_before_each_attempt_and_set_aside(system, imap, tmp_path):
    imap.deliver(_message(**OTHER))
    imap.deliver(_message("钱女士 <qian@customer.example.cn>", "投诉", "订单号：JD-4004 坏了。", X_Fault="POISON"))
    imap.deliver(_message("赵先生 <zhao@customer.example.cn>", "快递丢了", "订单号：SF-3003 的包裹丢了。"))
    env = dict(os.environ, DATABASE_URL=system.settings.database_url, SECRET_KEY=SECRET, IMAP_URL=imap.url,
               COMPLAINTS_INSTANCE=str(system.settings.instance_dir), COMPLAINTS_ALLOW_CLOCK_OVERRIDE="1",
               MAIL_MAX_ATTEMPTS="3")
    crashes = 0
    for hour in range(1, 10):  # a worker restarted (as systemd would) each hour, past any backoff
        env["COMPLAINTS_NOW"] = (clock.now() + timedelta(hours=hour)).isoformat()
        code, output = prestarted.run(["mail-intake", "--once"], env, tmp_path / f"hour{hour}.log", prelude=POISON)
        if code == -signal.SIGKILL:
            crashes += 1
            continue
        assert code == 0, output
        assert "1 set aside" in output
        break
    assert crashes == 3, "each attempt was counted before it ran, so the loop ends"
    assert imap.unseen() == 0 and _count(system, Complaint) == 2  # the others were filed meanwhile
    with UnitOfWork(system.db, write=False) as uow:
        (incident,) = mail_incidents.incidents(uow, system.actor("admin"))
    assert incident.sender == "qian@customer.example.cn" and incident.attempts == 3
    assert incident.failure == StoredFailure(Code.MAIL_CRASHED, {"n": 3, "max": 3})


def test_refused_mail_keeps_its_reason_and_a_sender_over_the_hourly_limit_is_told_once(
        system, imap, smtp_server):  # noqa: F811
    smtp_url, inbox = smtp_server
    settings = replace(system.settings, mail_sender_hourly_limit=2, mail_sender="complaints@shop.example.cn")
    for n in range(4):  # four complaints about four orders: two are opened, two refused
        imap.deliver(_message("王女士 <wang@customer.example.cn>", f"投诉 {n}", f"订单号：JD-10{n}0 的水壶坏了。"))
    imap.deliver(_message(**OTHER))  # another sender is not limited
    imap.deliver(_message("someone <wang@localhost>", "投诉", "订单号：JD-7007 坏了。"))  # no address to answer
    counts = _pass(system, imap, settings)
    assert (counts.complaint, counts.refused) == (3, 3), counts
    # A repeat (the same order as an open complaint) and a reply open nothing: the limit does not stop them.
    imap.deliver(_message("王女士 <wang@customer.example.cn>", "还是没人处理", "订单号：JD-1000 的水壶到底怎么处理？"))
    imap.deliver(_message("王女士 <wang@customer.example.cn>", "又一个", "订单号：JD-1900 也坏了。"))
    later = _pass(system, imap, settings)
    assert (later.contact, later.refused) == (1, 1), later
    with UnitOfWork(system.db, write=False) as uow:
        refused = mail_incidents.refused(uow, system.actor("admin"))
        notices = list(uow.session.scalars(select(Notification).where(Notification.kind == mail_limits.NOTICE)))
    reasons = sorted((r.sender, r.reason) for r in refused.items)
    assert refused.total == 4 and reasons == [("wang@customer.example.cn", "rate_limited")] * 3 + [
        ("wang@localhost", "invalid_sender")]
    assert [(n.email, n.locale, n.complaint_id) for n in notices] == [("wang@customer.example.cn", "zh", None)]
    assert notifications.send_pending(system.db, smtp_url, settings.mail_sender, mail.renderer(settings)) >= 1
    told = [m for to, m in inbox.messages if to == ["wang@customer.example.cn"]
            and "一小时内已提交 2 件投诉" in m.get_payload(decode=True).decode()]
    assert len(told) == 1, [m["Subject"] for _, m in inbox.messages]
    # An hour after the first two complaints the sender may open one again.
    clock.advance(mail_limits.WINDOW + timedelta(seconds=1))
    imap.deliver(_message("王女士 <wang@customer.example.cn>", "新问题", "订单号：JD-8008 的灯不亮。"))
    assert _pass(system, imap, settings).complaint == 1
    assert _count(system, Contact) == 1 and _count(system, Complaint) == 4


def test_the_hourly_limit_of_nought_is_no_limit(system, imap):
    settings = replace(system.settings, mail_sender_hourly_limit=0)
    for n in range(3):
        imap.deliver(_message("王女士 <wang@customer.example.cn>", f"投诉 {n}", f"订单号：JD-20{n}0 坏了。"))
    assert _pass(system, imap, settings).complaint == 3
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(MailAttempt)) == 0  # filed: no count left
