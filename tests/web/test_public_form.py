"""The public complaint form (/complain): no sign-in, Chinese by default, one intake use case behind it,
every typed field kept when refused, robots and floods turned away, repeats joined to the open complaint."""
from __future__ import annotations

import io
import re
from dataclasses import replace
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from engine import clock
from engine.complaints import notifications
from engine.db import UnitOfWork
from engine.models import Classification, Complaint, Contact, Evidence, Notification
from tests.web.conftest import make_app, text_of
from tests.web.test_evidence import png
from tests.web.test_mail import smtp_server  # noqa: F401 (the local SMTP server fixture)
from web import mail

FORM = {
    "customer_contact": "138 0013 8000",
    "customer_name": "王女士",
    "order_id": "JD-20261201-77",
    "description": "快递一直没收到，物流信息三天没有更新。",
    "demand": "换一台新的",
}


def _count(system, model) -> int:
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def _complaints(system) -> list[Complaint]:
    with UnitOfWork(system.db, write=False) as uow:
        return list(uow.session.scalars(select(Complaint).order_by(Complaint.id)))


def _post(client, files=(), lang=None, **fields):
    data = {**FORM, **fields, "files": [(io.BytesIO(content), name) for name, content in files]}
    url = "/complain" + (f"?lang={lang}" if lang else "")
    return client.post(url, data=data, content_type="multipart/form-data")


def test_the_form_is_chinese_by_default_and_english_on_request(app):
    client = app.test_client()
    page = text_of(client.get("/complain", headers={"Accept-Language": "en"}))
    assert "提交投诉" in page and 'name="website"' in page and 'name="csrf_token"' in page
    assert "<script>" not in page  # the CSP allows no inline script
    english = text_of(client.get("/complain?lang=en"))
    assert "File a complaint" in english and "Phone or e-mail" in english


def test_a_photo_and_no_category_start_a_classified_web_complaint(system, app):
    client = app.test_client()
    response = _post(client, files=[("破损.png", png())])
    assert response.status_code == 302 and response.headers["Location"].endswith("/complain/done")
    done = text_of(client.get("/complain/done"))
    (complaint,) = _complaints(system)
    assert complaint.reference in done and "/c/" in done
    assert client.get("/complain/done").status_code == 302  # shown once: a reload goes back to the form
    assert complaint.channel == "web" and complaint.created_by_id is None and complaint.owner_id is None
    assert complaint.category == "logistics" and complaint.level == "dissatisfied"
    with UnitOfWork(system.db, write=False) as uow:
        (stored,) = uow.session.scalars(select(Evidence).where(Evidence.complaint_id == complaint.id))
        suggestion = uow.session.scalar(select(Classification))
        reply = uow.session.scalar(select(Notification).where(Notification.kind == "customer_link"))
    assert stored.kind == "png" and stored.uploaded_by_id is None
    assert suggestion.applied and suggestion.category == "logistics" and suggestion.department == "logistics"
    assert {m["word"] for m in suggestion.matched} == {"快递", "没收到", "物流"}
    assert reply.locale == "zh" and reply.email is None  # a phone number: the link is shown, not mailed
    status = text_of(client.get(complaint_link(done)))
    assert complaint.reference in status


def complaint_link(page: str) -> str:
    return re.search(r'href="https?://[^/"]+(/c/[^"]+)"', page).group(1)


def test_a_category_the_customer_chose_is_kept_and_the_suggestion_only_shown(system, app):
    assert _post(app.test_client(), category="invoice").status_code == 302
    (complaint,) = _complaints(system)
    with UnitOfWork(system.db, write=False) as uow:
        suggestion = uow.session.scalar(select(Classification))
    assert complaint.category == "invoice" and suggestion.category == "logistics" and not suggestion.applied


def test_a_refused_form_keeps_every_typed_field_and_asks_for_the_files_again(system, app):
    client = app.test_client()
    response = _post(client, files=[("a.png", png())], customer_contact="not a contact", demand="",
                     category="logistics", lang="en")
    page = text_of(response)
    assert response.status_code == 422 and _count(system, Complaint) == 0 and _count(system, Evidence) == 0
    for name in ("customer_name", "order_id"):
        assert f'value="{FORM[name]}"' in page
    assert 'value="not a contact"' in page and FORM["description"] in page
    assert '<option value="logistics" selected>' in page
    assert "please choose them again" in page and "This field is required." in page
    assert "Not in the expected format." in page


def test_a_field_sent_twice_does_not_hide_the_other_fields_errors(system, app):
    data = MultiDict([*{**FORM, "customer_contact": ""}.items(), ("customer_name", "王女士")])
    response = app.test_client().post("/complain?lang=en", data=data)
    page = text_of(response)
    assert response.status_code == 422 and _count(system, Complaint) == 0
    for name in ("customer_name", "customer_contact"):
        assert re.search(rf'<div class="field has-error">\s*<label for="{name}"', page), name
    assert "This field is required." in page


def test_a_file_of_the_wrong_type_is_named(system, app):
    page = text_of(_post(app.test_client(), files=[("run.exe", b"MZ\x90\x00" + b"\x00" * 60)], lang="en"))
    assert "run.exe" in page and _count(system, Complaint) == 0


def test_a_file_over_the_staff_uploads_size_is_named(system):
    system.settings = replace(system.settings, evidence_max_bytes=1000)
    response = _post(make_app(system).test_client(), files=[("big.png", png() + b"0" * 1000)])
    assert response.status_code == 422 and "big.png：文件超过 1000 B" in text_of(response)
    assert _count(system, Complaint) == 0 and _count(system, Evidence) == 0


def test_too_many_files_are_refused(system, app):
    response = _post(app.test_client(), files=[(f"{i}.png", png()) for i in range(6)], lang="en")
    assert response.status_code == 422 and "At most 5 items." in text_of(response)


def test_a_filled_hidden_field_records_nothing(system, app):
    response = _post(app.test_client(), website="http://spam.example", lang="en")
    assert response.status_code == 422 and "not accepted" in text_of(response)
    assert _count(system, Complaint) == 0


def test_fields_the_form_does_not_have_are_ignored(system, app):
    assert _post(app.test_client(), level="crisis", channel="phone", received_at="2026-11-01T00:00").status_code == 302
    (complaint,) = _complaints(system)
    assert complaint.level == "dissatisfied" and complaint.channel == "web" and complaint.received_at == clock.now()


def test_the_form_needs_its_csrf_token(system):
    client = make_app(system, csrf=True).test_client()
    assert _post(client).status_code == 400 and _count(system, Complaint) == 0
    page = client.get("/complain").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert _post(client, csrf_token=token).status_code == 302 and _count(system, Complaint) == 1


def test_a_repeat_about_the_same_order_joins_the_open_complaint(system, app):
    client = app.test_client()
    assert _post(client).status_code == 302
    client.get("/complain/done")
    again = _post(client, files=[("more.png", png())], customer_contact="+86 13800138000",
                  description="还是没有人联系我", lang="en")
    assert again.status_code == 302
    page = text_of(client.get("/complain/done"))
    (complaint,) = _complaints(system)
    assert "Added to your complaint" in page and complaint.reference in page
    # Knowing a customer's phone number and order id must not hand anyone the link to their complaint.
    assert "/c/" not in page and "the link you were given" in page and "sent the link" not in page
    with UnitOfWork(system.db, write=False) as uow:
        (contact,) = uow.session.scalars(select(Contact))
        files = list(uow.session.scalars(select(Evidence).where(Evidence.complaint_id == complaint.id)))
        told = uow.session.scalar(select(Notification).where(Notification.kind == "complaint_repeat"))
    assert contact.complaint_id == complaint.id and contact.recorded_by_id is None and contact.channel == "web"
    assert "还是没有人联系我" in contact.summary and len(files) == 1
    assert told.locale == "en" and told.params["reference"] == complaint.reference and told.email is None
    assert _post(client, order_id="OTHER-1").status_code == 302 and len(_complaints(system)) == 2


def test_the_limits_answer_with_a_page_of_their_own(system):
    app = make_app(system)
    app.config.update(PUBLIC_FORM_CONTACT_LIMIT="2 per hour", PUBLIC_FORM_ADDRESS_LIMIT="4 per hour")
    client = app.test_client()
    assert _post(client, lang="en").status_code == 302
    assert _post(client, order_id="B-2").status_code == 302
    limited = _post(client, order_id="C-3")  # a third time about the same contact within the hour
    assert limited.status_code == 429 and "Too many submissions" in text_of(limited)
    assert _post(client, customer_contact="139 0000 1111", order_id="D-4").status_code == 302
    # The address's limit: four posts an hour, whichever contact they name (the refused one may count or not).
    codes = [_post(client, customer_contact=f"137 0000 222{i}", order_id=f"E-{i}").status_code for i in range(2)]
    assert codes[-1] == 429 and len(_complaints(system)) == 3 + codes.count(302) <= 4


def test_the_automatic_reply_is_mailed_once_in_the_customers_language(system, app, smtp_server):  # noqa: F811
    url, inbox = smtp_server
    assert _post(app.test_client(), customer_contact="Kunde@Example.cn", lang="en").status_code == 302
    render = mail.renderer(system.settings)
    assert notifications.send_pending(system.db, url, "complaints@example.cn", render) == 1
    assert notifications.send_pending(system.db, url, "complaints@example.cn", render) == 0
    ((recipients, message),) = inbox.messages
    (complaint,) = _complaints(system)
    body = message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")
    assert recipients == ["Kunde@Example.cn"] and complaint.reference in message["Subject"]
    assert "/c/" in body and "within 30 minutes" in body and complaint.reference in body
    assert message["Message-ID"].startswith("<outbox.")


def test_staff_intake_keeps_a_suggestion_too(system):
    from tests.lifecycle import start

    start(system)
    with UnitOfWork(system.db, write=False) as uow:
        suggestion = uow.session.scalar(select(Classification))
    assert suggestion is not None and not suggestion.applied


def test_a_repeat_of_a_phoned_in_complaint_joins_it_and_its_agent_is_told(system, app):
    from tests.lifecycle import INTAKE, start

    recorded = start(system)  # agent1 recorded it from a phone call: agent1 owns the case
    again = _post(app.test_client(), customer_contact="+86 138-0000-0000", order_id=INTAKE["order_id"],
                  description="电话里说好的换货还没到")
    assert again.status_code == 302 and len(_complaints(system)) == 1
    with UnitOfWork(system.db, write=False) as uow:
        told = uow.session.scalar(select(Notification).where(Notification.kind == "customer_wrote"))
        agent = system.actor("agent1")
    assert told.user_id == agent.id and told.complaint_id == recorded.complaint_id
    subject, body = mail.render(told.kind, told.params, "zh", ZoneInfo("Asia/Shanghai"))
    assert recorded.reference in subject and "顾客甲" in body


def test_a_repeat_is_found_through_the_customer_record_and_its_merged_duplicates(system, app):
    from engine.complaints import customers
    from tests.lifecycle import INTAKE, start

    phoned = start(system)  # the customer record of 13800000000
    client = app.test_client()
    assert _post(client, customer_contact="jia@example.cn", order_id="OTHER-9").status_code == 302
    with UnitOfWork(system.db, write=False) as uow:
        by_phone = customers.find(uow.session, customers.keys_of(INTAKE["customer_contact"]))
        by_mail = customers.find(uow.session, customers.keys_of("jia@example.cn"))
    with UnitOfWork(system.db) as uow:  # the same person: the desk merges the two records
        customers.merge(uow, system.actor("cs_manager"), by_phone.id, by_mail.id)
    again = _post(client, customer_contact="JIA@example.cn", order_id=INTAKE["order_id"], description="还没处理")
    assert again.status_code == 302 and len(_complaints(system)) == 2
    page = text_of(client.get("/complain/done"))  # the link goes to the address given, not onto the page
    assert "我们已把链接再次发送到您的电子邮箱" in page and "/c/" not in page
    with UnitOfWork(system.db, write=False) as uow:
        (contact,) = uow.session.scalars(select(Contact))
    assert contact.complaint_id == phoned.complaint_id
