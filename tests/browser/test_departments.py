"""Departments in Chromium (docs/ARCHITECTURE.md, "Departments"): the administrator adds a department with its
Chinese and English names, and the user form offers it at once — no code change, no restart."""
from __future__ import annotations

import re

import pytest

from tests.browser.test_desk import events, sign_in

pytestmark = pytest.mark.browser


def test_an_admin_adds_a_department_that_the_user_form_then_offers(system, live_server, pages):
    page = pages.open()
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/departments")
    page.click("a.button.primary")  # 新增部门
    page.wait_for_url(re.compile(r"/admin/departments/new$"))
    page.fill("input[name=code]", "legal")
    page.fill("input[name=name_zh]", "法务部")
    page.fill("input[name=name_en]", "Legal")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/admin/departments$"))
    assert "法务部" in page.locator('tr[data-department="legal"]').inner_text()

    page.goto(f"{live_server}/admin/users/new")
    offered = page.locator("select[name=department] option").all_inner_texts()
    assert "法务部" in offered and offered.index("法务部") == len(offered) - 1
    page.select_option("select[name=department]", "legal")
    assert page.locator("select[name=department]").input_value() == "legal"
    assert [e.data["department"] for e in events(system, "department_added")] == ["legal"]
