"""E-mail intake against a real IMAP server (Dovecot, one per test process): new messages become complaints with their
attachments as evidence, a reply to the automatic reply becomes a contact, a message delivered twice is filed
once — also when the worker process is killed in the middle and every message is found unseen again."""
from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.complaints import mailbox, notifications
from engine.db import UnitOfWork
from engine.models import Complaint, Contact, Evidence, MailMessage, Notification, User
from tests.web.test_evidence import png
from tests.web.test_mail import smtp_server  # noqa: F401 (the local SMTP server fixture)
from tests.workers import prestarted
from web import mail

SECRET = "mail-test-secret"

pytestmark = pytest.mark.slow  # a real IMAP server and worker processes


def _message(sender: str, subject: str, body: str, *, attachment: tuple[str, bytes] | None = None,
             message_id: str | None = None, in_reply_to: str | None = None, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "complaints@shop.example.cn", subject
    message["Message-ID"] = message_id or make_msgid(domain="customer.example.cn")
    if in_reply_to:
        message["In-Reply-To"] = message["References"] = in_reply_to
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    if attachment:
        message.add_attachment(attachment[1], maintype="image", subtype="png", filename=attachment[0])
    return bytes(message)


FIRST = dict(sender="王女士 <wang@customer.example.cn>", subject="投诉：收到的电水壶底座裂了",
             body="订单号：JD-1001\n\n电水壶收到就发现底座有裂纹，不能用。请给我换一个。",
             attachment=("裂纹.png", png()), message_id="<first@customer.example.cn>")
OTHER = dict(sender="Mr Li <li@customer.example.cn>", subject="Courier never arrived",
             body="My parcel, order no. SH-2002, never arrived. The courier says it was delivered.")


def _count(system, model, *where) -> int:
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def _env(system, server):
    return dict(os.environ, DATABASE_URL=system.settings.database_url,
                COMPLAINTS_INSTANCE=str(system.settings.instance_dir), SECRET_KEY=SECRET, IMAP_URL=server.url,
                COMPLAINTS_ALLOW_CLOCK_OVERRIDE="1", COMPLAINTS_NOW=clock.now().isoformat())


def _once(system, server, log: Path) -> str:
    """`complaints mail-intake --once`, started as a fork of a process that has imported its code
    (tests/workers/prestarted.py): its output."""
    code, output = prestarted.run(["mail-intake", "--once"], _env(system, server), log)
    assert code == 0, output
    return output


def _pass(system, server) -> mailbox.Counts:
    """What `complaints mail-intake --once` does (connect, one pass, log out), without starting a process."""
    client = server.client()
    try:
        return mailbox.poll_once(system.db, system.settings, SECRET, client)
    finally:
        client.logout()


def _state(system):
    """(complaints, contacts, evidence files, recorded messages) — each counted once."""
    return (_count(system, Complaint), _count(system, Contact), _count(system, Evidence),
            _count(system, MailMessage))


def test_three_messages_and_a_duplicate_give_two_complaints_and_one_contact_across_a_killed_worker(
        system, imap, smtp_server, tmp_path):  # noqa: F811
    smtp_url, inbox = smtp_server
    imap.deliver(_message(**FIRST))
    imap.deliver(_message(**OTHER))
    imap.deliver(_message(**FIRST))  # the same message delivered twice (same Message-ID)
    worker = prestarted.Command(["mail-intake", "--poll", "0.2"], _env(system, imap), tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 60
        while _count(system, MailMessage) < 1:  # killed as soon as its first message is filed
            assert worker.poll() is None and time.monotonic() < deadline, worker.log.read_text()
            time.sleep(0.02)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    imap.mark_all_unseen()  # the worst case: every commit made, no \Seen flag set
    _pass(system, imap)  # the worker's pass, in this process: the command's own run is the last one below
    assert _state(system) == (2, 0, 1, 2) and imap.unseen() == 0
    with UnitOfWork(system.db, write=False) as uow:
        first, other = uow.session.scalars(select(Complaint).order_by(Complaint.customer_contact.desc()))
    assert first.channel == "email" and first.order_id == "JD-1001" and first.customer_name == "王女士"
    assert first.category == "product_quality" and "底座有裂纹" in first.description
    assert other.order_id == "SH-2002" and other.category == "logistics"

    # The automatic reply goes out through the outbox, in each customer's language, with a Message-ID …
    assert notifications.send_pending(system.db, smtp_url, "complaints@shop.example.cn",
                                      mail.renderer(system.settings)) == 2
    reply = next(m for to, m in inbox.messages if to == ["wang@customer.example.cn"])
    assert first.reference in reply["Subject"] and "/c/" in reply.get_payload(decode=True).decode()
    # … which the customer's answer names: a contact on the complaint, not a new one.
    imap.deliver(_message("王女士 <wang@customer.example.cn>", "Re: " + str(reply["Subject"]),
                          "补充一下：底座的裂纹在右侧。\n\n在 2026年11月23日 写道：\n> 我们已登记您的投诉",
                          in_reply_to=reply["Message-ID"]))
    _pass(system, imap)
    imap.mark_all_unseen()
    assert "0 complaint(s), 0 contact(s), 0 ignored, 0 refused, 4 already filed" in _once(system, imap,
                                                                                         tmp_path / "once.log")
    assert _state(system) == (2, 1, 1, 3)
    with UnitOfWork(system.db, write=False) as uow:
        (contact,) = uow.session.scalars(select(Contact))
        outcomes = sorted(uow.session.scalars(select(MailMessage.outcome)))
    assert contact.complaint_id == first.id and contact.channel == "email" and contact.recorded_by_id is None
    assert "右侧" in contact.summary and "我们已登记" not in contact.summary  # the quoted history is cut
    assert outcomes == ["complaint", "complaint", "contact"]


def test_a_repeat_by_mail_joins_the_open_complaint_and_automatic_mail_is_ignored(system, imap):
    settings = replace(system.settings, mail_sender="complaints@shop.example.cn")
    imap.deliver(_message(**FIRST))
    imap.deliver(_message("王女士 <wang@customer.example.cn>", "还是没人处理", "订单号：JD-1001 的水壶到底怎么处理？"))
    imap.deliver(_message("王女士 <wang@customer.example.cn>", "自动回复：休假中", "我在休假。",
                          Auto_Submitted="auto-replied"))
    imap.deliver(_message("complaints@shop.example.cn", "您的投诉", "loop"))
    # A reference in the subject from another address is not a contact: references are easy to guess.
    client = imap.client()
    try:
        counts = mailbox.poll_once(system.db, settings, SECRET, client)
        with UnitOfWork(system.db, write=False) as uow:
            reference = uow.session.scalar(select(Complaint.reference))
        imap.deliver(_message("stranger@elsewhere.example", f"Re: {reference}", "I want to see this complaint."))
        later = mailbox.poll_once(system.db, settings, SECRET, client)
    finally:
        client.logout()
    assert (counts.complaint, counts.contact, counts.ignored) == (1, 1, 2)
    assert (later.complaint, later.contact) == (1, 0), later
    assert _count(system, Complaint) == 2 and _count(system, Contact) == 1
    with UnitOfWork(system.db, write=False) as uow:
        told = uow.session.scalar(select(Notification).where(Notification.kind == "complaint_repeat"))
    assert told.email == "wang@customer.example.cn" and told.locale == "zh"


def test_a_photo_without_any_text_is_a_complaint_too(system, imap):
    imap.deliver(_message("王女士 <wang@customer.example.cn>", "", "", attachment=("照片.png", png())))
    client = imap.client()
    try:
        counts = mailbox.poll_once(system.db, system.settings, SECRET, client)
    finally:
        client.logout()
    assert (counts.complaint, counts.refused) == (1, 0)
    with UnitOfWork(system.db, write=False) as uow:
        complaint = uow.session.scalar(select(Complaint))
        (photo,) = uow.session.scalars(select(Evidence))
    assert "没有正文" in complaint.description and photo.complaint_id == complaint.id


def test_idle_wakes_the_worker_when_mail_arrives(system, imap):
    client = imap.client()
    woke = threading.Event()
    try:
        waiter = threading.Thread(target=lambda: mailbox.wait_for_mail(client, 20) and woke.set())
        started = time.monotonic()
        waiter.start()
        time.sleep(0.5)
        imap.deliver(_message(**OTHER))
        waiter.join(timeout=25)
        assert woke.is_set() and time.monotonic() - started < 10  # not the 20 s timeout
        assert mailbox.poll_once(system.db, system.settings, SECRET, client).complaint == 1
    finally:
        client.logout()


def test_the_mailbox_address_is_checked():
    assert mailbox.parse_url("imaps://c%40shop:p%2Fw@mail.example.cn/Complaints") == mailbox.Mailbox(
        host="mail.example.cn", port=993, tls=True, user="c@shop", password="p/w", folder="Complaints")
    for bad in ("pop3://u@host", "imap://host", ""):
        with pytest.raises(ValueError):
            mailbox.parse_url(bad)


def test_the_command_names_what_is_missing(system, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "IMAP_URL"}
    env.update(DATABASE_URL=system.settings.database_url, COMPLAINTS_INSTANCE=str(system.settings.instance_dir))
    code, missing = prestarted.run(["mail-intake", "--once"], env, tmp_path / "missing.log")
    assert code == 2 and "set IMAP_URL" in missing
    code, wrong = prestarted.run(["mail-intake", "--once"], dict(env, IMAP_URL="pop3://u@host"), tmp_path / "wrong.log")
    assert code == 2 and "imap:// or imaps://" in wrong


#: The mailbox's authorisation matrix: who may add to a complaint by e-mail. Each row: the sender, how the message
#: names the complaint (a reply to the automatic reply's Message-ID, to a member of staff's notification about it,
#: or the reference in the subject, else nothing) and what it must become. Outbox ids count up and references are
#: dated serials, so naming the complaint is no credential: only the customer's own address adds to it.
CUSTOMER, STRANGER, SENDER = "wang@customer.example.cn", "mallory@elsewhere.example", "complaints@shop.example.cn"
MAILBOX_MATRIX = [
    (CUSTOMER, "auto_reply", {}, "contact"),
    ("WANG@Customer.example.cn", "reference", {}, "contact"),
    (STRANGER, "auto_reply", {}, "complaint"),
    (STRANGER, "reference", {}, "complaint"),
    (STRANGER, "staff_notification", {}, "complaint"),
    (CUSTOMER, "staff_notification", {}, "complaint"),  # the customer never got that message: it names nothing
    (CUSTOMER, "auto_reply", {"Auto_Submitted": "auto-replied"}, "ignored"),
    (SENDER, "auto_reply", {}, "ignored"),
    (STRANGER, "nothing", {}, "complaint"),
    (CUSTOMER, "overflowing_id", {}, "complaint"),  # an id no 64-bit column holds names nothing (and fails nothing)
]


@pytest.mark.parametrize(("sender", "names", "headers", "outcome"), MAILBOX_MATRIX)
def test_only_the_customers_address_adds_to_a_complaint(system, imap, sender, names, headers, outcome):
    settings = replace(system.settings, mail_sender=SENDER)
    imap.deliver(_message(**FIRST))
    client = imap.client()
    try:
        assert mailbox.poll_once(system.db, settings, SECRET, client).complaint == 1
        with UnitOfWork(system.db) as uow:
            complaint = uow.session.scalar(select(Complaint))
            agent = uow.session.scalar(select(User).where(User.username == "agent1"))
            notifications.notify(uow.session, [agent], "customer_wrote", "matrix",
                                 {"reference": complaint.reference, "customer": "王女士"}, complaint.id)
            uow.commit()
        with UnitOfWork(system.db, write=False) as uow:
            outbox = {kind: uow.session.scalar(select(Notification.id).where(
                Notification.complaint_id == complaint.id, Notification.kind == kind))
                for kind in ("customer_link", "customer_wrote")}
        names_it = {"auto_reply": {"in_reply_to": notifications.outbox_message_id(outbox["customer_link"], SENDER)},
                    "staff_notification": {"in_reply_to": notifications.outbox_message_id(outbox["customer_wrote"],
                                                                                          SENDER)},
                    "reference": {"subject": f"Re: {complaint.reference}"}, "nothing": {},
                    "overflowing_id": {"in_reply_to": "<outbox.99999999999999999999@shop.example.cn>"}}[names]
        imap.deliver(_message(**{"sender": sender, "subject": "关于我的投诉", "body": "请把这张照片加到投诉里。",
                                 "attachment": ("照片.png", png()), **names_it, **headers}))
        later = mailbox.poll_once(system.db, settings, SECRET, client)
    finally:
        client.logout()
    assert getattr(later, outcome) == 1, later
    added = _count(system, Contact, Contact.complaint_id == complaint.id)
    evidence = _count(system, Evidence, Evidence.complaint_id == complaint.id)
    assert (added, evidence) == ((1, 2) if outcome == "contact" else (0, 1))
    assert _count(system, Complaint) == (2 if outcome == "complaint" else 1)
