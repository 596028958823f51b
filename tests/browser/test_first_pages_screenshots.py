"""Each role's first page after sign-in, at a laptop's and a phone's width (issue 14): it shows the role's
waiting work with counts in the first screenful, fits without sideways scrolling, and it is photographed. With
SCREENSHOTS_DIR=docs/screenshots the pictures replace the README's.

On SQLite only (`one_backend`): the counts come from the same queries the desk's tests check on both
backends (tests/web/test_desk.py, tests/browser/test_desk.py); here it is the layout and the pictures."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from engine.complaints import deferrals, timers
from engine.db import UnitOfWork
from tests.browser.test_phone_and_print import sign_in
from tests.lifecycle import open_task, start, step

pytestmark = [pytest.mark.browser, pytest.mark.one_backend]

#: Each role's demo user, and the name its pictures have (as tests/browser/test_desk.py names them).
ROLES = {"agent1": "agent", "head_logistics": "department-head", "cs_manager": "cs-manager",
         "gm": "general-manager", "owner": "process-owner", "admin": "admin"}
WIDTHS = {"1366": {"width": 1366, "height": 860}, "390": {"width": 390, "height": 844}}
#: The counts each role's first page must show for the work `_waiting_work` leaves (tile: at least), beside
#: its unread notifications.
WAITING = {"agent1": {"mine": 1, "overdue": 1}, "head_logistics": {"unclaimed": 1, "overdue": 1},
           "cs_manager": {"approvals": 1, "escalated": 1}, "gm": {"approvals": 1, "deferrals": 1},
           "owner": {"incidents": 0, "older": 0}, "admin": {"overdue": 1, "incidents": 0}}
#: A screenshot larger than this is not "small" any more (the README shows twelve of them).
MAX_BYTES = 400_000


def _waiting_work(system, clock) -> None:
    """Work waiting for every role: new complaints, proposals, an approval, a sign-off, a deferral request,
    and deadlines passed."""
    start(system, customer_name="李先生", description="快递三天没有更新物流信息")
    start(system, customer_name="赵女士", category="product_quality", level="very_dissatisfied",
          description="收到的电饭煲无法加热")
    proposal = start(system, customer_name="陈先生", level="major", description="包裹外箱破损，商品摔坏").complaint_id
    step(system, proposal, "judge_validity")
    step(system, proposal, "hand_over")
    approval = start(system, customer_name="孙女士", description="发票抬头错误").complaint_id
    for expect in ("judge_validity", "hand_over", "analyse_and_propose"):
        step(system, approval, expect)
    signing = start(system, customer_name="周先生", description="退货运费未退").complaint_id
    for expect in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution",
                   "follow_up"):
        step(system, signing, expect)
    deferred = start(system, customer_name="吴女士", description="电话无人接听").complaint_id
    with UnitOfWork(system.db) as uow:
        deferrals.request_deferral(uow, system.actor("agent1"), open_task(system, deferred).id,
                                   "顾客电话关机，明天再联系", clock.now() + timedelta(days=1))
    clock.advance(timedelta(minutes=35))  # first responses and hand-overs overdue
    timers.run_due(system.db)


def test_each_roles_first_page_at_both_widths(system, live_server, browser, frozen_clock, tmp_path):
    _waiting_work(system, frozen_clock)
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    for user, role in ROLES.items():
        context = browser.new_context(locale="zh-CN", viewport=WIDTHS["1366"])
        page = sign_in(context, live_server, user)
        for name, viewport in WIDTHS.items():
            page.set_viewport_size(viewport)
            page.reload()  # the first page as it comes at this width, not one laid out at another
            page.evaluate("() => document.fonts.ready.then(() => true)")  # images are in by `load`, fonts by this
            assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), \
                (user, name)
            tiles = page.locator(".tiles")
            box = tiles.bounding_box()
            assert box is not None and box["y"] < viewport["height"], (user, name)  # seen without scrolling
            for tile, least in {**WAITING[user], "unread": 0}.items():
                count = page.locator(f'.tiles [data-tile="{tile}"] strong')
                assert count.is_visible() and int(count.inner_text()) >= least, (user, name, tile)
            picture = folder / f"first-page-{role}-{name}.png"
            page.screenshot(path=str(picture))
            assert 0 < picture.stat().st_size <= MAX_BYTES, (picture, picture.stat().st_size)
        context.close()
