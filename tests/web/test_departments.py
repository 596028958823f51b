"""Departments the administrator manages (docs/ARCHITECTURE.md, "Departments"): added, renamed, deactivated and
reactivated in the browser and audited; read by every page, form and filter from the table; deactivating refused
while work still reaches the department; and a model refused when it routes to a department the table lacks or
has deactivated."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from engine.config import PROJECT_ROOT
from engine.db import UnitOfWork
from engine.errors import Code, InvalidInput, ModelCode
from engine.modelling import deployment
from engine.modelling.department_routes import routes
from engine.models import AuditEvent
from engine.people import departments
from engine.people import users as staff
from engine.workflow.deploy import read_bundle
from engine.workflow.model_xml import ModelInvalid
from tests.lifecycle import start, step
from tests.web.conftest import text_of

HAND_OVER = "forms/hand_over.schema.json"


def _add(login, code: str = "legal", zh: str = "法务部", en: str = "Legal"):
    return login("admin").post("/admin/departments/new", data={"code": code, "name_zh": zh, "name_en": en})


def _kinds(system) -> list[tuple[str, dict]]:
    with UnitOfWork(system.db, write=False) as uow:
        return [(e.kind, e.data) for e in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.kind.like("department_%")).order_by(AuditEvent.id))]


def _routing_to(code: str) -> dict[str, str]:
    """The shipped model whose hand-over form also offers `code`."""
    files = read_bundle(PROJECT_ROOT / "workflows")
    form = json.loads(files[HAND_OVER])
    field = form["properties"]["department"]
    field["enum"].append(code)
    field["x-enum-titles"].append("法务部")
    field["x-enum-titles-en"].append("Legal")
    return {**files, HAND_OVER: json.dumps(form, ensure_ascii=False, indent=2)}


def test_an_added_department_is_offered_named_renamed_and_audited(system, login):
    assert _add(login).status_code == 302
    admin = login("admin")
    listed = text_of(admin.get("/admin/departments"))
    assert re.search(r'data-department="legal">.*?法务部.*?<code>legal</code>', listed, re.S)
    new_user = text_of(admin.get("/admin/users/new"))
    assert '<option value="legal">法务部</option>' in new_user
    response = admin.post("/admin/users/new", data={"username": "lawyer1", "display_name": "王律", "role":
                                                    "department_head", "department": "legal", "email": "",
                                                    "password": "long-enough-1"})
    assert response.status_code == 302
    # the search filter, the reports' filter and the task filters offer it; the users' list names it
    assert '<option value="legal">法务部</option>' in text_of(login("cs_manager").get("/search"))
    assert 'value="legal"' in text_of(login("cs_manager").get("/reports"))
    assert admin.post("/admin/departments/legal", data={"name_zh": "法律事务部", "name_en": "Legal affairs"}
                      ).status_code == 302
    assert re.search(r'data-user="lawyer1">.*?法律事务部', text_of(admin.get("/admin/users")), re.S)
    assert [k for k, _ in _kinds(system)] == ["department_added", "department_renamed"]
    assert _kinds(system)[1][1] == {"department": "legal", "before": ["法务部", "Legal"],
                                    "after": ["法律事务部", "Legal affairs"]}
    assert "新增部门 法律事务部" in text_of(admin.get("/admin/record"))
    english = login("admin", locale="en")
    assert '<option value="legal">Legal affairs</option>' in text_of(english.get("/admin/users/new"))


def test_a_code_is_checked_and_taken_once(system, login):
    page = _add(login, code="Legal Dept")
    assert page.status_code == 422 and "请使用小写字母、数字和“_”" in text_of(page)
    page = _add(login, code="logistics")
    assert page.status_code == 422 and "部门 储运部 已存在。" in text_of(page)
    with UnitOfWork(system.db, write=False) as uow:
        assert departments.codes(uow.session) == ("logistics", "quality", "customer_service", "sales", "after_sales")


def test_deactivating_is_refused_while_heads_tasks_or_the_model_reach_the_department(system, login):
    cid = start(system).complaint_id
    step(system, cid, "judge_validity")
    step(system, cid, "hand_over")  # analyse_and_propose waits in the logistics head's lane
    with UnitOfWork(system.db) as uow, pytest.raises(InvalidInput) as refused:
        departments.set_active(uow, system.actor("admin"), "logistics", False)
    codes = [e.code for e in refused.value.errors["active"]]
    assert codes == [Code.DEPARTMENT_HAS_OPEN_TASKS, Code.DEPARTMENT_HAS_HEADS, Code.DEPARTMENT_ROUTED]
    assert refused.value.errors["active"][0].params == {"department": "logistics", "count": 1}
    page = login("admin").post("/admin/departments/logistics/active", data={"active": "0"})
    html = text_of(page)
    assert page.status_code == 422
    assert "储运部 还有 1 项未完成的任务" in html and "还有在用的部门经理" in html
    assert "仍把投诉转给 储运部（forms/hand_over.schema.json）" in html
    with UnitOfWork(system.db, write=False) as uow:
        assert "logistics" in departments.codes(uow.session, active_only=True)
    assert _kinds(system) == []


def test_an_inactive_department_is_not_offered_nor_chosen_for_new_users(system, login):
    _add(login)
    admin = login("admin")
    assert admin.post("/admin/users/new", data={"username": "lawyer1", "display_name": "王律", "role": "agent",
                                                "department": "legal", "email": "", "password": "long-enough-1"}
                      ).status_code == 302
    assert admin.post("/admin/departments/legal/active", data={"active": "0"}).status_code == 302
    assert 'value="legal"' not in text_of(admin.get("/admin/users/new"))
    with UnitOfWork(system.db) as uow, pytest.raises(InvalidInput) as refused:
        staff.create_user(uow, system.actor("admin"), "lawyer2", "agent", "long-enough-1", department="legal")
    assert refused.value.errors["department"][0].code == Code.DEPARTMENT_INACTIVE
    page = admin.post("/admin/users/new", data={"username": "lawyer2", "display_name": "李律", "role": "agent",
                                                "department": "legal", "email": "", "password": "long-enough-1"})
    assert page.status_code == 422
    # a user already in it keeps it: their page still offers it and saving other changes works
    with UnitOfWork(system.db, write=False) as uow:
        lawyer = next(u for u in staff.list_users(uow, system.actor("admin")) if u.username == "lawyer1")
    assert '<option selected value="legal">法务部</option>' in text_of(admin.get(f"/admin/users/{lawyer.id}"))
    assert admin.post(f"/admin/users/{lawyer.id}", data={"display_name": "王律师", "role": "agent",
                                                         "department": "legal", "email": ""}).status_code == 302
    assert admin.post("/admin/departments/legal/active", data={"active": "1"}).status_code == 302
    assert 'value="legal"' in text_of(admin.get("/admin/users/new"))
    assert [k for k, _ in _kinds(system)] == ["department_added", "department_deactivated", "department_activated"]


def test_a_model_routing_to_a_department_the_table_lacks_is_refused_until_the_admin_adds_it(system, login):
    files = _routing_to("legal")
    with UnitOfWork(system.db) as uow, pytest.raises(ModelInvalid) as refused:
        deployment.deploy_models(uow, system.actor("owner"), files)
    [problem] = refused.value.problems
    line = next(n for n, text in enumerate(files[HAND_OVER].splitlines(), start=1) if '"legal"' in text)
    assert (problem.file, problem.line, problem.element_id, problem.code) == (
        HAND_OVER, line, "department", ModelCode.ROUTES_TO_UNKNOWN_DEPARTMENT)
    assert problem.params["department"] == "legal"
    _add(login)
    with UnitOfWork(system.db) as uow:
        deployment.deploy_models(uow, system.actor("owner"), files)
    # now the current model routes to it: deactivating is refused
    page = login("admin").post("/admin/departments/legal/active", data={"active": "0"})
    assert page.status_code == 422 and "仍把投诉转给 法务部（forms/hand_over.schema.json）" in text_of(page)


def test_a_model_routing_to_an_inactive_department_is_refused(system, login):
    _add(login)
    assert login("admin").post("/admin/departments/legal/active", data={"active": "0"}).status_code == 302
    with UnitOfWork(system.db) as uow, pytest.raises(ModelInvalid) as refused:
        deployment.deploy_models(uow, system.actor("owner"), _routing_to("legal"))
    assert [p.code for p in refused.value.problems] == [ModelCode.ROUTES_TO_INACTIVE_DEPARTMENT]


def test_the_routing_table_s_outputs_are_found_with_their_line_and_rule():
    files = read_bundle(PROJECT_ROOT / "workflows")
    found = [r for r in routes(files) if r.path == "routing.dmn"]
    assert {r.department for r in found} == {"logistics", "quality", "customer_service", "sales", "after_sales"}
    first = found[0]
    assert first.element == "routing_product_quality_department"
    assert files["routing.dmn"].splitlines()[first.line - 1].strip().startswith('<outputEntry id="routing_product')

