"""A timer's failed firing is stored as its code, params and technical detail (`engine.complaints.stored_failures`)
and worded where it is shown: the incident page in the page's language, the API in the request's; rows stored
as plain text before stay readable (docs/MODELLING.md, "When a model fails while it runs")."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import update

from engine import clock
from engine.complaints import incidents
from engine.complaints.stored_failures import (
    MAX_TEXT,
    StoredFailure,
    crashed_text,
    failure_text,
    read_failure,
    stored_text,
)
from engine.db import UnitOfWork
from engine.errors import Code
from engine.models import MailAttempt, Timer
from engine.workflow.failures import Cause, StepFailed
from tests.api.conftest import api, token  # noqa: F401
from tests.web.conftest import text_of
from tests.web.test_error_codes import ENGLISH
from tests.web.test_incidents import incident  # noqa: F401
from web import messages


def test_a_model_failure_is_stored_as_its_code_params_and_detail():
    failed = StepFailed("check", Cause(Code.RUN_UNDEFINED_NAME, {"name": "amount", "line": 3},
                                       "NameError: name 'amount' is not defined"))
    stored = failure_text(failed)
    assert json.loads(stored) == {"code": Code.STEP_FAILED_AT, "detail": "NameError: name 'amount' is not defined",
                                  "params": {"element": "check", "reason": Code.RUN_UNDEFINED_NAME,
                                             "name": "amount", "line": 3}}
    found = read_failure(stored)
    assert found is not None and (found.code, found.detail) == (Code.STEP_FAILED_AT, failed.detail)
    assert messages.render(found.code, found.params, messages.in_locale("zh")) == (
        "流程模型在元素 check 处运行出错：名称 amount 未定义（投诉的变量中没有它）。出错位置：脚本第 3 行。")


def test_any_other_failure_is_named_by_its_type_and_the_text_stays_within_the_column():
    stored = failure_text(RuntimeError("邮件中继 \"down\" " * 500))
    assert len(stored) <= MAX_TEXT
    found = read_failure(stored)
    assert found is not None and (found.code, found.params) == (Code.TIMER_FAILED, {"kind": "RuntimeError"})
    assert found.detail and found.detail.startswith("RuntimeError: 邮件中继")
    zh = messages.render(found.code, found.params, messages.in_locale("zh"))
    assert zh == "定时器触发失败（错误类型 RuntimeError）。"


@pytest.mark.parametrize("text", ["note_warning: ZeroDivisionError: integer division or modulo by zero",
                                  "{not json", '{"no": "code"}'])
def test_a_row_stored_as_plain_text_is_shown_as_it_is(text):
    assert read_failure(text) == StoredFailure(None, text=text)
    assert read_failure(None) is None and read_failure("") is None


def test_the_chinese_incident_page_and_api_word_the_reason(system, login, api, incident):  # noqa: F811
    cid, failed = incident
    cell = text_of(login("owner", "zh").get("/incidents")).split(f'data-incident="{failed[0].id}"')[1]
    cell = cell.split("</tr>")[0]
    assert "定时器触发失败（错误类型 KeyError）。" in cell and "技术细节" in cell
    assert not ENGLISH.search(cell.split("<details")[0]), cell
    [listed, *_] = [i for i in api("owner").get("/api/v1/incidents", headers={"Accept-Language": "zh"}).json
                    if i["id"] == failed[0].id]
    assert listed["reason"] == "定时器触发失败（错误类型 KeyError）。"
    assert (listed["reason_code"], listed["reason_params"]) == (Code.TIMER_FAILED, {"kind": "KeyError"})
    assert "KeyError" in listed["detail"]
    english = api("owner").get("/api/v1/incidents").json
    assert english[0]["reason"].startswith("Firing the timer failed")


def test_an_older_plain_text_row_is_still_listed(system, login, incident):  # noqa: F811
    cid, failed = incident
    with UnitOfWork(system.db) as uow:
        uow.session.execute(update(Timer).where(Timer.id == failed[0].id).values(last_error="judge: KeyError: 'x'"))
        uow.commit()
    with UnitOfWork(system.db, write=False) as uow:
        [row] = [i for i in incidents.incidents(uow) if i.id == failed[0].id]
    assert row.failure == StoredFailure(None, text="judge: KeyError: 'x'")
    assert "judge: KeyError: &#39;x&#39;" in text_of(login("owner", "zh").get("/incidents"))


def test_an_attempt_the_worker_never_finished_is_worded_in_the_page_language(system, login, incident):  # noqa: F811
    cid, failed = incident
    with UnitOfWork(system.db) as uow:
        uow.session.execute(update(Timer).where(Timer.id == failed[0].id)
                            .values(last_error=crashed_text(5, 5)))
        uow.commit()
    assert read_failure(crashed_text(5, 5)) == StoredFailure(Code.TIMER_CRASHED, {"n": 5, "max": 5})
    cell = text_of(login("owner", "zh").get("/incidents")).split(f'data-incident="{failed[0].id}"')[1]
    cell = cell.split("</tr>")[0]
    assert "第 5 次尝试（最多 5 次）未完成" in cell
    # The retry form's CSRF token is random letters: it sometimes looks like English words.
    assert not ENGLISH.search(re.sub(r"<input [^>]*>", "", cell)), cell
    assert "Attempt 5 of 5 did not finish" in text_of(login("owner", "en").get("/incidents"))


def test_a_mail_incident_is_worded_in_the_page_language(system, login):
    now = clock.now()
    with UnitOfWork(system.db) as uow:
        uow.session.add(MailAttempt(message_id="<m1@customer.example.cn>", sender="wang@customer.example.cn",
                                    subject="破损", status="incident", attempts=3, next_attempt_at=now,
                                    first_attempt_at=now, failed_at=now,
                                    last_error=stored_text(Code.MAIL_CRASHED, {"n": 3, "max": 3})))
        uow.commit()
    page = text_of(login("admin", "zh").get("/incidents"))
    assert "第 3 次尝试（最多 3 次）未完成：处理此邮件时工作进程中止" in page
    assert "did not finish" not in page
    assert "Attempt 3 of 3 did not finish: the worker stopped while filing the message" in text_of(
        login("admin", "en").get("/incidents"))
