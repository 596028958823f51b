"""The customer's link as staff hand it over (copy, QR code, e-mail through the outbox), the customer's own
404 for a bad link, and evidence shown in the page by file name (issue 14)."""
from __future__ import annotations

from sqlalchemy import select

from engine.db import UnitOfWork
from engine.models import Evidence, Notification
from tests.lifecycle import start
from tests.web.test_evidence import PDF, _upload, png


def text_of(response) -> str:
    # The staff navigation is being extended by another change at the same time; the customer's pages are
    # checked for untranslated strings by tests/web/test_language_purity.py.
    return response.get_data(as_text=True)


def _outbox(system, cid: int) -> list[Notification]:
    with UnitOfWork(system.db, write=False) as uow:
        return list(uow.session.scalars(select(Notification).where(
            Notification.complaint_id == cid, Notification.kind == "customer_link").order_by(Notification.id)))


def test_the_link_page_copies_draws_a_qr_code_and_mails_the_link(system, login):
    cid = start(system, customer_contact="kunde@example.com").complaint_id
    agent = login("agent1")
    page = text_of(agent.get(f"/complaints/{cid}/customer-link"))
    link = page.split('id="customer-link" class="link-text" value="')[1].split('"')[0]
    assert link.startswith(system.settings.public_base_url + "/c/")
    assert 'data-copy="#customer-link"' in page and "复制" in page
    assert "kunde@example.com" in page
    qr = agent.get(f"/complaints/{cid}/customer-link/qr.svg")
    assert qr.status_code == 200 and qr.headers["Content-Type"].startswith("image/svg+xml")
    assert qr.data.lstrip().startswith(b"<svg") and b"<script" not in qr.data
    assert "sandbox" in qr.headers["Content-Security-Policy"]
    before = len(_outbox(system, cid))
    sent = agent.post(f"/complaints/{cid}/customer-link/email", data={"locale": "en"})
    assert sent.status_code == 302
    mails = _outbox(system, cid)
    assert len(mails) == before + 1
    assert mails[-1].email == "kunde@example.com" and mails[-1].locale == "en"
    assert mails[-1].params["link"] == link
    assert "kunde@example.com" in text_of(agent.get(f"/complaints/{cid}/customer-link"))  # the flash says where


def test_a_telephone_contact_gets_no_e_mail_button_and_a_post_is_refused(system, login):
    cid = start(system).complaint_id  # 13800000000
    agent = login("agent1")
    assert "customer-link/email" not in text_of(agent.get(f"/complaints/{cid}/customer-link"))
    before = len(_outbox(system, cid))
    response = agent.post(f"/complaints/{cid}/customer-link/email", follow_redirects=True)
    assert "不是电子邮件地址" in text_of(response)
    assert len(_outbox(system, cid)) == before


def test_a_bad_customer_link_is_the_customers_own_404_in_their_language(app):
    customer = app.test_client()
    customer.get("/c/x?lang=en")
    for method, url in (("get", "/c/not-a-token"), ("post", "/c/not-a-token/survey"), ("get", "/c/a/b/c")):
        page = getattr(customer, method)(url, headers={"Accept-Language": "en"})
        html = text_of(page)
        assert page.status_code == 404, url
        assert "This link does not work" in html and "Back to my tasks" not in html, url
        assert "我的任务" not in html and 'class="top"' not in html, url
    zh = customer.get("/c/broken?lang=zh")
    assert zh.status_code == 404 and "此链接无效" in text_of(zh)


def test_evidence_is_named_and_previewed_inline_only_for_safe_kinds(system, login):
    cid = start(system).complaint_id
    agent = login("agent1")
    assert _upload(agent, cid, ("破损.png", png()), ("合同.pdf", PDF), ("chat.txt", "通话".encode())).status_code == 302
    with UnitOfWork(system.db, write=False) as uow:
        rows = {e.original_name: e.id for e in uow.session.scalars(select(Evidence))}
    page = text_of(agent.get(f"/complaints/{cid}"))
    assert f'<img src="/evidence/{rows["破损.png"]}/view"' in page
    assert f'<iframe src="/evidence/{rows["合同.pdf"]}/view"' in page
    assert rows["破损.png"] not in page.replace(f"/evidence/{rows['破损.png']}", "")  # never the id as text
    image = agent.get(f"/evidence/{rows['破损.png']}/view")
    assert image.headers["Content-Type"] == "image/png" and image.headers["Content-Disposition"].startswith("inline")
    assert image.headers["X-Content-Type-Options"] == "nosniff" and image.headers["X-Frame-Options"] == "DENY"
    assert "sandbox" in image.headers["Content-Security-Policy"]
    pdf = agent.get(f"/evidence/{rows['合同.pdf']}/view")
    assert pdf.headers["Content-Disposition"].startswith("inline")
    assert "frame-ancestors 'self'" in pdf.headers["Content-Security-Policy"]
    assert pdf.headers["X-Frame-Options"] == "SAMEORIGIN"
    text = agent.get(f"/evidence/{rows['chat.txt']}/view")  # not a kind shown in the page: a download
    assert text.headers["Content-Disposition"].startswith("attachment")
    assert "frame-ancestors 'none'" in text.headers["Content-Security-Policy"]
