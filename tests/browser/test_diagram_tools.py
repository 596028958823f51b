"""The process diagram on the complaint page is readable (issue 14): it opens centred on the current task at
a readable size, zooms in and out, fits the whole model and goes full screen.

On SQLite only (`one_backend`): what is checked is bpmn-js drawing and moving the diagram in the browser,
which the database behind the page cannot change."""
from __future__ import annotations

import pytest

from tests.browser.test_phone_and_print import sign_in
from tests.lifecycle import start, step

pytestmark = [pytest.mark.browser, pytest.mark.one_backend]


def _zoom(page) -> float:
    # bpmn-js's viewport group carries the scale in its transform matrix.
    return page.evaluate("""() => {
      const m = document.querySelector('#diagram .viewport').transform.baseVal.consolidate().matrix;
      return m.a; }""")


def _centre_of(page, selector: str) -> tuple[float, float, dict]:
    return page.evaluate("""(sel) => {
      const box = document.querySelector('#diagram').getBoundingClientRect();
      const r = document.querySelector(sel).getBoundingClientRect();
      return [r.x + r.width / 2 - box.x, r.y + r.height / 2 - box.y, {w: box.width, h: box.height}]; }""", selector)


@pytest.mark.parametrize("width", [1366, 390])
def test_the_diagram_opens_on_the_current_task_and_zooms(system, live_server, browser, width):
    cid = start(system).complaint_id
    step(system, cid, "judge_validity")
    step(system, cid, "hand_over")
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
    page = sign_in(context, live_server, "head_logistics")
    page.goto(f"{live_server}/complaints/{cid}")
    page.wait_for_selector('#diagram[data-ready="1"]')
    current = '#diagram g.djs-element.current[data-element-id="analyse_and_propose"]'
    x, y, box = _centre_of(page, current)
    assert abs(x - box["w"] / 2) < box["w"] * 0.1 and abs(y - box["h"] / 2) < box["h"] * 0.1, (x, y, box)
    opened = _zoom(page)
    assert opened >= 0.4  # readable, not the whole model squeezed into the box
    assert page.get_attribute("#diagram .diagram-zoomIn", "aria-label") == "放大"
    page.click("#diagram .diagram-zoomIn")
    assert _zoom(page) == pytest.approx(opened * 1.25, rel=0.01)
    page.click("#diagram .diagram-zoomOut")
    page.click("#diagram .diagram-zoomOut")
    assert _zoom(page) < opened
    page.click("#diagram .diagram-fit")
    fitted = _zoom(page)
    page.click("#diagram .diagram-current")
    assert _zoom(page) > fitted
    page.click("#diagram .diagram-fullScreen")
    page.wait_for_function("document.fullscreenElement && document.fullscreenElement.id === 'diagram'")
    page.click("#diagram .diagram-fullScreen")
    page.wait_for_function("!document.fullscreenElement")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    context.close()


def test_no_two_labels_of_the_shipped_model_overlap(system, live_server, browser):
    cid = start(system).complaint_id
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = sign_in(context, live_server, "agent1")
    page.goto(f"{live_server}/complaints/{cid}")
    page.wait_for_selector('#diagram[data-ready="1"]')
    page.click("#diagram .diagram-fit")
    boxes = page.evaluate("""() => Array.from(document.querySelectorAll('#diagram g.djs-element')).map(g => {
        const t = g.querySelector('text'); if (!t || !t.textContent.trim()) return null;
        const r = t.getBoundingClientRect();
        return [g.dataset.elementId, r.left, r.top, r.right, r.bottom]; }).filter(Boolean)""")
    assert len(boxes) > 100  # every task, event, gateway and named flow has its label
    overlapping = [(a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                   if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]]
    assert overlapping == []
    context.close()


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_the_diagram_speaks_the_page_language(system, live_server, browser, locale):
    from tests.web.test_language_purity import chinese_in, english_in

    cid = start(system).complaint_id
    context = browser.new_context(locale="zh-CN" if locale == "zh" else "en-US",
                                  viewport={"width": 1366, "height": 900})
    page = sign_in(context, live_server, "agent1")
    page.goto(f"{live_server}/complaints/{cid}")
    page.wait_for_selector('#diagram[data-ready="1"]')
    # Each label, its wrapped lines (tspans) joined by a space; by element id.
    shown = dict(page.eval_on_selector_all("#diagram g.djs-element[data-element-id]", """gs => gs.map(g => [
        g.dataset.elementId, Array.from(g.querySelectorAll('text tspan')).map(t => t.textContent).join(' ')])"""))
    labels = [text for text in shown.values() if text.strip()]
    assert len(labels) > 100
    names = {key: text.replace(" ", "") if locale == "zh" else text for key, text in shown.items()}
    if locale == "zh":
        assert english_in(labels, set()) == set()
        assert names["gm_review"] == "总经理审阅签字" and names["judge_validity"] == "判断投诉是否成立"
    else:
        assert chinese_in(labels, set()) == set()
        assert names["judge_validity"] == "Judge validity"
    context.close()
