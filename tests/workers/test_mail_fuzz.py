"""The mailbox fuzzed: hostile and broken messages put into a real IMAP server (Dovecot) and read by
the intake worker's pass. Whatever arrives — NULs and control characters in encoded headers, lying charsets, no
sender or no Message-ID, forged In-Reply-To ids, attachments with hostile names and types, bytes that are barely
a message — each message is filed exactly once (a complaint, a contact, ignored or refused), nothing is left
unseen to fail again on every pass, and every stored evidence row names a file that exists."""
from __future__ import annotations

import base64
from dataclasses import replace
from email.message import EmailMessage

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from engine.complaints import evidence, mailbox
from engine.db import UnitOfWork
from engine.models import Complaint, Evidence, MailMessage
from tests.conftest import examples
from tests.web.test_evidence import png

SECRET = "mail-fuzz-secret"

pytestmark = pytest.mark.slow  # a real IMAP server

#: Text with what breaks storage and parsing: NUL and other control characters, CJK, right-to-left marks.
HOSTILE_CHARS = st.sampled_from(["\x00", "\x01", "\x1b", "\u202e", "\ufeff", "\r", "\n", "\t", "订", "单", "号",
                                 "：", "<", ">", "@", "=", "?", " ", "a", "Z", "9", "-", "'", '"', ";"])
TEXT = st.text(st.one_of(HOSTILE_CHARS, st.characters(codec="utf-8")), max_size=60)
ADDRESS = st.one_of(
    st.just("wang@customer.example.cn"), st.just(""), st.just("mailer-daemon@example.org"),
    st.builds("{}@{}.example".format, st.from_regex(r"[a-z0-9.+_-]{1,20}", fullmatch=True),
              st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True)),
    TEXT)
MESSAGE_ID = st.one_of(st.none(), st.just("<same@customer.example.cn>"), TEXT,
                       st.integers(0, 10**30).map("<outbox.{}@shop.example.cn>".format),
                       st.sampled_from([2**31, 2**63, 2**64, 10**18]).map("<outbox.{}@shop.example.cn>".format))
ATTACHMENT = st.tuples(
    st.one_of(TEXT.map(lambda name: name.replace("\r", "").replace("\n", "")),  # the email package refuses them
              st.sampled_from(["../../etc/passwd", "照片.png", "a" * 300 + ".png", ".png", "x.exe", "x.PNG"])),
    st.sampled_from([("image", "png"), ("application", "octet-stream"), ("text", "html"), ("image", "jpeg")]),
    st.one_of(st.binary(max_size=200), st.just(png())))


def _line(value: str | bytes) -> bytes:
    """A header value written raw: 8-bit as it comes, without the line breaks and NULs no header line can hold."""
    raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    return raw.replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"")


def _encoded(value: str) -> bytes:
    """A header value as a mail client would send it: an RFC 2047 word hides NULs and line breaks from the
    parser (decoded, they reach the intake as they are)."""
    return b"=?utf-8?b?" + base64.b64encode(value.encode("utf-8", "surrogatepass")) + b"?="


@st.composite
def structured(draw) -> bytes:
    """A message as a (careless or hostile) mail client builds it: headers written by hand (the email package
    would refuse or re-fold them), body and attachments by the email package."""
    headers = []
    name, address = draw(TEXT), draw(ADDRESS)
    headers.append(b"From: " + (_encoded(name) + b" <" + _encoded(address) + b">" if draw(st.booleans())
                                else _encoded(address)))
    headers.append(b"Subject: " + _encoded(draw(TEXT)))
    if (message_id := draw(MESSAGE_ID)) is not None:
        headers.append(b"Message-ID: " + (_encoded(message_id) if draw(st.booleans()) else _line(message_id)))
    if (reply_to := draw(MESSAGE_ID)) is not None:
        headers.append(b"In-Reply-To: " + _line(reply_to))
    if draw(st.booleans()):
        headers.append(b"Auto-Submitted: " + draw(st.sampled_from([b"auto-replied", b"no", b"NO", b""])))
    message = EmailMessage()
    body = draw(st.text(st.one_of(HOSTILE_CHARS, st.characters(codec="utf-8")), max_size=400))
    charset = draw(st.sampled_from(["utf-8", "gb18030"])) if _encodable(body, "gb18030") else "utf-8"
    message.set_content(body, subtype=draw(st.sampled_from(["plain", "html"])), charset=charset)
    for filename, (maintype, subtype), content in draw(st.lists(ATTACHMENT, max_size=2)):
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    if message.is_multipart():
        message.set_boundary("=_fuzz_3f9a_=")  # the email package would draw one with `random`
    return b"\r\n".join(headers) + b"\r\n" + bytes(message).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _encodable(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


@st.composite
def raw(draw) -> bytes:
    """Bytes that are barely a message: a few headers, a charset that lies, anything after (no NUL: IMAP forbids
    it in a literal, and the server refuses such an APPEND)."""
    charset = draw(st.sampled_from([b"utf-8", b"gb2312", b"x-unknown", b"utf-7", b""]))
    head = (b"From: " + _line(draw(ADDRESS)) + b"\r\nSubject: " + _line(draw(st.binary(max_size=40)))
            + b"\r\nContent-Type: text/plain; charset=" + charset
            + b"\r\nContent-Transfer-Encoding: "
            + draw(st.sampled_from([b"8bit", b"base64", b"quoted-printable", b"x"]))
            + b"\r\n\r\n")
    return (head + draw(st.binary(max_size=300))).replace(b"\x00", b"").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _count(system, model) -> int:
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def test_every_message_is_filed_once_whatever_it_holds(system, imap):
    # Drawn senders repeat on a frozen clock: the per-sender limit (tested on its own) would refuse the rest.
    unlimited = replace(system.settings, mail_sender_hourly_limit=0)
    client = imap.client()
    try:
        @settings(max_examples=examples(25))
        @given(batch=st.lists(st.one_of(structured(), raw()), min_size=1, max_size=3))
        def file_batch(batch: list[bytes]) -> None:
            client.uid("STORE", "1:*", "+FLAGS", "(\\Deleted)")  # what an example before left
            client.expunge()
            before = _count(system, MailMessage)
            for message in batch:
                note(repr(message[:600]))
                imap.deliver(message)
            counts = mailbox.poll_once(system.db, unlimited, SECRET, client)
            # Nothing failed: a failed message would stay unseen and fail again on every pass.
            assert imap.unseen() == 0, counts
            assert counts.complaint + counts.contact + counts.ignored + counts.refused + counts.seen == len(batch)
            assert _count(system, MailMessage) == before + len(batch) - counts.seen
            # Once filed, never again: the same messages unseen again are all "already filed".
            imap.mark_all_unseen()
            again = mailbox.poll_once(system.db, unlimited, SECRET, client)
            assert (again.complaint, again.contact, again.ignored, again.refused) == (0, 0, 0, 0), again

        file_batch()
    finally:
        client.logout()
    with UnitOfWork(system.db, write=False) as uow:
        complaints = list(uow.session.scalars(select(Complaint)))
        files = list(uow.session.scalars(select(Evidence)))
    assert all(c.channel == "email" for c in complaints)
    folder = evidence.evidence_folder(system.settings)
    assert files and all((folder / f.id).read_bytes() and (folder / f.id).stat().st_size == f.size for f in files)
