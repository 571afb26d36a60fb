"""Every string a staff member can see is in the one catalogue (``staff/locale``) and translated
to Simplified Chinese; the pages and the service messages speak the language asked for, and
the API answers in English unless the request asks otherwise.

The catalogue test runs Django's ``makemessages`` (Debian's ``gettext``: ``xgettext``,
``msgmerge``, ``msgfmt``) over a copy of the sources, so it never writes into the tree.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from allocation import services as allocation_services
from inventory.models import Location, Product
from inventory.services import stock_receive
from omni.models import City, User
from orders.routing import REASONS, Why
from orders.services import DeliveryPoint, LineIn, order_place
from staff.views.routing_words import REASON_TEXT, reason_text

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "staff" / "locale" / "zh_Hans" / "LC_MESSAGES"
# What makemessages skips: not staff-facing (tests, benchmarks) or not ours.
IGNORED = [".venv", "var", "tests", "bench"]
# Also left out of the copy: nothing in them is ever extracted.
NOT_COPIED = [".*", "__pycache__", "*.egg-info", "build", "docs", "test-artifacts", "*.po", "*.mo"]

Key = tuple[str, str]  # (msgctxt, msgid); an empty context is none


# --------------------------------------------------------------------------- a tiny .po reader


def _unquote(text: str) -> str:
    return ast.literal_eval(text)


@dataclass(frozen=True)
class Entry:
    flags: list[str]
    msgstr: str | list[str]  # a list for a plural entry

    @property
    def untranslated(self) -> bool:
        strings = self.msgstr if isinstance(self.msgstr, list) else [self.msgstr]
        return not all(strings)


def read_po(path: Path) -> dict[Key, Entry]:
    """The entries of a .po file (obsolete ``#~`` ones left out): per (context, msgid) its
    flags and its msgstr (a list for a plural entry); the header (empty msgid) is skipped."""
    entries: dict[Key, Entry] = {}
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        fields: dict[str, str] = {}
        flags: list[str] = []
        current = None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags += [f.strip() for f in line[2:].split(",")]
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and current is not None:
                fields[current] += _unquote(line)
            elif line.strip():
                key, _, rest = line.partition(" ")
                current = key
                fields[key] = _unquote(rest)
        if "msgid" not in fields or not fields["msgid"]:
            continue
        plural = sorted(k for k in fields if k.startswith("msgstr["))
        entries[(fields.get("msgctxt", ""), fields["msgid"])] = Entry(
            flags=flags,
            msgstr=[fields[k] for k in plural] if plural else fields.get("msgstr", ""),
        )
    return entries


# --------------------------------------------------------------------------- the catalogue


def _need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} is missing: install Debian's gettext package (.ci/run does)")
    return found


def _extract(tmp: Path) -> dict[Key, Entry]:
    """Run makemessages over a copy of the sources, as a developer runs it from the root."""
    src = tmp / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(*IGNORED, *NOT_COPIED),
    )
    # The copy's own settings, so the catalogue is written into the copy whatever the import
    # path says about where ``omni`` lives.
    (src / "translation_check_settings.py").write_text(
        "from pathlib import Path\n"
        "from omni.settings.base import *  # noqa: F403\n"
        'LOCALE_PATHS = [Path(__file__).resolve().parent / "staff" / "locale"]\n'
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "translation_check_settings",
        "OMNI_VAR_DIR": str(tmp / "var"),
        "PYTHONPATH": str(src),
    }
    command = [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete"]
    command += [f"--ignore={pattern}" for pattern in IGNORED]
    done = subprocess.run(command, cwd=src, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    fresh = src / "staff" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    assert fresh.exists(), done.stdout + done.stderr
    return read_po(fresh)


def test_the_catalogue_has_every_string_of_the_sources_translated(tmp_path: Path) -> None:
    _need("xgettext")
    msgfmt = _need("msgfmt")
    produced = _extract(tmp_path)
    committed = read_po(CATALOGUE / "django.po")

    assert len(produced) > 500  # the extraction found the project's strings at all
    missing = sorted(set(produced) - set(committed))
    assert not missing, (
        f"{len(missing)} string(s) not in staff/locale (run makemessages and translate them):"
        f" {missing[:20]}"
    )
    untranslated = sorted(k for k, e in committed.items() if e.untranslated)
    assert not untranslated, f"untranslated: {untranslated[:20]}"
    fuzzy = sorted(k for k, e in committed.items() if "fuzzy" in e.flags)
    assert not fuzzy, f"fuzzy (check and clear the flag): {fuzzy[:20]}"
    stale = sorted(set(committed) - set(produced))
    assert not stale, f"no source says these any more (makemessages --no-obsolete): {stale[:20]}"

    checked = subprocess.run(
        [msgfmt, "--check", "-o", os.devnull, str(CATALOGUE / "django.po")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


def test_the_compiled_catalogue_matches_the_po_file() -> None:
    with (CATALOGUE / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
    for (context, msgid), entry in read_po(CATALOGUE / "django.po").items():
        key = f"{context}\x04{msgid}" if context else msgid
        msgstr = entry.msgstr
        if isinstance(msgstr, list):
            assert [compiled[(key, n)] for n in range(len(msgstr))] == msgstr, msgid
        else:
            assert compiled.get(key) == msgstr, f"{msgid!r}: run compilemessages"


def test_one_locale_directory_for_the_whole_project() -> None:
    assert [Path(p) for p in settings.LOCALE_PATHS] == [ROOT / "staff" / "locale"]
    found = [
        path.relative_to(ROOT)
        for path in ROOT.rglob("locale")
        if path.is_dir() and not any(part in (".venv", "var", "build") for part in path.parts)
    ]
    assert found == [Path("staff/locale")]


# --------------------------------------------------------------------------- routing reasons


SAMPLE_PARAMS = {
    "node": "S01",
    "km": "2.5",
    "others": 2,
    "nodes": ["DC1", "S02"],
    "count": 2,
    "limit": 2,
    "max_splits": 1,
    "why": Why("not_enough_stock"),
    "sku": "SKU-1",
    "quantity": 3,
    "rule": "stay_in_city",
    "city": "sh",
    "customer_city": "hz",
    "kind": "store",
    "kinds": ["store"],
    "low": "5",
    "high": "30",
    "note": Why("capacity_used", {"used": 4, "limit": 4, "service": "pickup"}),
    "used": 4,
    "service": "pickup",
}


def test_the_pages_word_every_reason_of_the_router() -> None:
    assert set(REASON_TEXT) == set(REASONS)
    for code, template in REASONS.items():
        fields = set(re.findall(r"{(\w+)}", template))
        why = Why(code, {name: SAMPLE_PARAMS[name] for name in fields})
        stored = why.as_dict()
        with translation.override("en"):
            assert reason_text(stored) == str(why), code
        with translation.override("zh-hans"):
            chinese = reason_text(stored)
            assert chinese and chinese != str(why), code
    # A decision recorded before reasons had codes is shown as it was recorded.
    assert reason_text(None, "as recorded") == "as recorded"


# --------------------------------------------------------------------------- pages


def chinese_client(user: User) -> Client:
    """A staff member who chose 简体中文 with the pages' language switch."""
    client = Client()
    client.force_login(user)
    switched = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/staff/"})
    assert switched.status_code == 302
    return client


def page(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def test_a_planner_reads_the_forecast_pages_in_chinese(planner: User, city: City, store) -> None:
    from forecasting.models import ForecastRun

    run = ForecastRun.objects.create(
        city=city, scope=city.code, horizon=28, message="reading demand history"
    )
    client = chinese_client(planner)
    runs = page(client, "/staff/forecasts/")
    assert "预测任务" in runs and "开始一次运行" in runs and "Forecast runs" not in runs
    assert "排队中" in runs  # the run's status
    detail = page(client, f"/staff/forecasts/{run.pk}/")
    assert f"预测任务 {run.pk}" in detail and "正在读取需求历史" in detail
    assert "reading demand history" not in detail
    # Without the switch the same page is English.
    english = Client()
    english.force_login(planner)
    assert "Forecast runs" in page(english, "/staff/forecasts/")


def test_a_planner_reads_the_allocation_pages_in_chinese(
    planner: User, city: City, dc: Location, store: Location
) -> None:
    run = allocation_services.allocation_run_create(city=city)
    client = chinese_client(planner)
    runs = page(client, "/staff/allocations/")
    assert "配货任务" in runs and "待审核" in runs and "排队中" in runs
    assert "Allocation runs" not in runs and "Pending review" not in runs
    detail = page(client, f"/staff/allocations/{run.pk}/")
    assert f"配货任务 {run.pk}" in detail and "审核结果" in detail


def test_a_refusal_of_a_service_is_shown_in_chinese_on_a_store_page(
    store_user: User, store: Location, product: Product
) -> None:
    stock_receive(location=store, lines=[(product, 1)])
    customer = {"customer_name": "Li Lei", "customer_phone": "13800000000", "hours": 4}
    client = chinese_client(store_user)
    client.post("/staff/reserve/", {"code": "SKU-1", "quantity": 3})  # on the ticket
    refused = client.post("/staff/reserve/hold/", customer).content.decode()
    assert "hold_ticket_short" in refused
    assert "未预留任何商品：S01 的 SKU-1 只有 1 件可用，而预留单需要 3 件" in refused
    english = Client()
    english.force_login(store_user)
    assert "Nothing was held: only 1 × SKU-1 is free at S01 and the ticket asks for 3" in (
        english.post("/staff/reserve/hold/", customer).content.decode()
    )


def test_the_routing_page_gives_the_reason_in_chinese(planner: User, web, product) -> None:
    dc = Location.objects.get(code="DC1")
    stock_receive(location=dc, lines=[(product, 5)])
    order, _ = order_place(
        channel=web,
        external_id="zh-1",
        mode="delivery",
        lines=[LineIn(product=product, quantity=2, unit_price=Decimal("1"))],
        delivery=DeliveryPoint(latitude=30.18, longitude=120.26),
    )
    assert order.sourcing_reason.startswith("one node serves the whole order: DC1")
    body = page(chinese_client(planner), f"/staff/orders/{order.pk}/routing/")
    assert "由一个节点满足整单：DC1" in body
    assert "one node serves the whole order" not in body


# --------------------------------------------------------------------------- the API


def test_the_api_answers_in_english_unless_the_request_asks_for_chinese(
    api, warehouse_user: User, dc: Location, product: Product
) -> None:
    stock_receive(location=dc, lines=[(product, 1)])
    body = {"location": "DC1", "lines": [{"sku": "SKU-1", "quantity": 4}]}
    client = api(warehouse_user)

    english = client.post("/api/v1/reservations", body)
    assert english.status_code == 409
    assert english.json() == {
        "code": "insufficient_stock",
        "message": "only 1 of SKU-1 available at DC1, 4 requested",
        "detail": {"lines": [{"sku": "SKU-1", "location": "DC1", "requested": 4, "available": 1}]},
    }

    client.headers["Accept-Language"] = "zh-hans"
    chinese = client.post("/api/v1/reservations", body)
    assert chinese.status_code == 409
    assert chinese.json() == {
        **english.json(),
        "message": "DC1 的 SKU-1 只有 1 件可用，需要 4 件",
    }
    # The language is the request's: the next request without the header is English again.
    del client.headers["Accept-Language"]
    assert client.post("/api/v1/reservations", body).json()["message"] == english.json()["message"]
