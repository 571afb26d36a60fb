"""What a person reads when a page refuses, in a real browser at 412×915, in English and in
Chinese: a wrong item scanned on a pick list, a count below what is held for customers, a code
at the pickup counter that is not a pickup code. Each refusal is a sentence saying what happened
and what to do, in the page's language; the error's code is only in ``data-code`` (for support),
never in the text. Nothing moved: the folder's conftest checks the ledger after the test.

Screenshots: ``test-artifacts/screenshots/messages-<language>-<nn>-<step>.png``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from inventory.models import Location, Product
from inventory.services import stock_reserve
from network.models import Channel
from omni.models import User
from orders.services import LineIn, order_pay, order_place
from tests.factories import ReceiptFactory, StoreUserFactory, WarehouseUserFactory
from tests.helpers import level

from .test_browser import (  # noqa: F401
    NEAR_DC,
    SCREENSHOTS,
    TEA,
    Shots,
    browser,
    playwright,
    scan,
    tea,
    web,
)

pytestmark = pytest.mark.django_db(transaction=True)

CJK = re.compile(r"[\u4e00-\u9fff]")
CODES = ("wrong_item", "count_below_reserved", "pickup_code_malformed", "validation_error")

# What each refusal says, in each language (a part of the sentence that names what to do).
SAYS = {
    "en": {
        "wrong_item": "6900000000999 is not wanted at this stop.",
        "count_below_reserved": "You counted 1 of TEA-500, but 3 are held for customers here.",
        "pickup_code_malformed": "This is not a pickup code. Scan it again, or type it.",
    },
    "zh-hans": {
        "wrong_item": "此货位不需要 6900000000999。",
        "count_below_reserved": "您盘点到 TEA-500 1 件，但这里有 3 件已为顾客预留。",
        "pickup_code_malformed": "这不是取货码。请重新扫描或手动输入。",
    },
}


def _log_in(tab: Page, base: str, user: User, language: str, shot: Shots) -> None:
    tab.goto(f"{base}/staff/login/")
    tab.fill("input[name=username]", user.get_username())
    tab.fill("input[name=password]", f"pw-{user.get_username()}")
    tab.click("main button[type=submit]")
    tab.wait_for_url(f"{base}/staff/")
    if language == "zh-hans":
        tab.click("button[name=language][value=zh-hans]")
        tab.wait_for_selector('html[lang="zh-hans"]')
    shot("home")


def _read_refusal(tab: Page, selector: str, code: str, language: str) -> str:
    """The refusal's text as the person sees it, checked: a sentence in the language, no code
    anywhere in it, the code kept for support in ``data-code``/``data-result``."""
    tab.wait_for_selector(selector)
    said = tab.inner_text(selector)
    assert not any(c in said for c in CODES), said
    assert "_" not in said, said  # no identifier of any kind
    if language == "zh-hans":
        assert CJK.search(said), said
    assert SAYS[language][code] in said, said
    return said


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_refusals_are_sentences_in_the_pages_language(
    live_server: Any,
    browser: Browser,  # noqa: F811
    web: Channel,  # noqa: F811
    dc: Location,
    store: Location,
    tea: Product,  # noqa: F811
    language: str,
) -> None:
    base = live_server.url
    picker = WarehouseUserFactory.create(username="picker", locations=[dc])
    clerk = StoreUserFactory.create(username="clerk", locations=[store])
    ReceiptFactory.create(location=dc, lines={"TEA-500": 10})
    ReceiptFactory.create(location=store, lines={"TEA-500": 5})
    stock_reserve(
        product=tea, location=store, quantity=3, owner_type="counter_hold", owner_id="walk-in-1"
    )
    order, _ = order_place(
        channel=web,
        external_id="WEB-3001",
        mode="delivery",
        delivery=NEAR_DC,
        customer_name="Zhao Min",
        lines=[LineIn(product=tea, quantity=2)],
    )
    order_pay(order=order)

    context = browser.new_context(viewport={"width": 412, "height": 915}, locale="en-US")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    shot = Shots(tab, f"messages-{language}")

    # A wrong item on a pick list.
    _log_in(tab, base, picker, language, shot)
    tab.goto(f"{base}/staff/picking/")
    tab.click("button[name=action][value=create]")  # start the proposed wave
    tab.wait_for_selector("#pick-task")
    scan(tab, "6900000000999")
    _read_refusal(tab, "#pick-task .notice.error", "wrong_item", language)
    assert tab.get_attribute("#pick-task .notice.error", "data-code") == "wrong_item"
    assert tab.get_attribute("#pick-task", "data-units-picked") == "0"
    shot("wrong-item")
    scan(tab, TEA)  # the right one still counts after the refusal
    tab.wait_for_selector('#pick-task[data-units-picked="1"]')
    tab.click("header .logout button")
    tab.wait_for_url("**/staff/login/**")

    # A count below what is held for customers.
    _log_in(tab, base, clerk, language, shot)
    tab.goto(f"{base}/staff/count/")
    scan(tab, TEA)
    tab.wait_for_selector("input[name=counted][data-focus]")
    tab.keyboard.type("1")
    tab.keyboard.press("Enter")
    said = _read_refusal(tab, ".notice.error", "count_below_reserved", language)
    assert tab.get_attribute(".notice.error", "data-code") == "count_below_reserved"
    assert "release_holds" not in said
    shot("count-below-reserved")
    assert level(store, tea) == (5, 3)  # nothing counted, nothing released

    # A code at the pickup counter that is not a pickup code.
    tab.goto(f"{base}/staff/pickups/")
    tab.wait_for_selector("#handover")
    scan(tab, "123456")
    _read_refusal(tab, ".handover-result.refused", "pickup_code_malformed", language)
    assert tab.get_attribute(".handover-result.refused", "data-result") == "pickup_code_malformed"
    shot("pickup-code-refused")

    context.close()
