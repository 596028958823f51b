"""Clicks that send the page elsewhere, waited for.

Playwright's click returns once the click is dispatched, not when the page it starts has loaded: a count or a
read straight after it can read the old page, and a `goto` straight after it can cancel the form's POST. Every
click that submits a form or follows a link and is followed by a read of the new page goes through `submit`."""
from __future__ import annotations

from playwright.sync_api import Locator, Page


def submit(page: Page, target: str | Locator) -> None:
    """Click `target` (a selector or a locator on `page`) and wait until the page it leads to has loaded."""
    with page.expect_navigation():
        (page.locator(target) if isinstance(target, str) else target).click()
