from __future__ import annotations

import io
import re

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from inventory import services
from inventory.invariants import assert_invariants
from inventory.models import StockLevel, StockMove
from omni.models import ApiToken
from orders.models import Order

pytestmark = pytest.mark.django_db


def test_every_admin_page_opens(admin_client, dc, product):
    services.stock_receive(location=dc, lines=[(product, 3)])
    for model in admin.site._registry:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert admin_client.get(url).status_code == 200, url


def test_ledger_and_stock_levels_are_read_only_in_admin(admin_client, dc, product):
    services.stock_receive(location=dc, lines=[(product, 3)])
    move = StockMove.objects.get()
    level = StockLevel.objects.get()
    assert admin_client.get(reverse("admin:inventory_stockmove_add")).status_code == 403
    assert admin_client.get(reverse("admin:inventory_stocklevel_add")).status_code == 403
    page = admin_client.get(reverse("admin:inventory_stockmove_change", args=[move.pk]))
    assert page.status_code == 200 and b'name="quantity"' not in page.content
    assert (
        admin_client.post(
            reverse("admin:inventory_stocklevel_change", args=[level.pk]), {"on_hand": 99}
        ).status_code
        == 403
    )
    assert (
        admin_client.post(
            reverse("admin:inventory_stockmove_delete", args=[move.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert StockLevel.objects.get().on_hand == 3


def test_token_created_in_admin_is_shown_once_and_works(admin_client, store_user):
    response = admin_client.post(
        reverse("admin:omni_apitoken_add"), {"user": store_user.pk, "name": "scanner"}, follow=True
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    raw = next(word for m in shown for word in m.split() if word.startswith("omni_"))
    token = ApiToken.objects.get(name="scanner")
    assert raw.startswith(token.prefix) and raw not in token.key_hash
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/stock-levels").status_code == 200
    admin_client.post(
        reverse("admin:omni_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert api.get("/api/v1/stock-levels").status_code == 401


def test_api_token_command_creates_and_revokes(store_user):
    out = io.StringIO()
    call_command(
        "api_token", "create", store_user.username, "script", stdout=out, stderr=io.StringIO()
    )
    raw = out.getvalue().strip()
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    assert client.get("/api/v1/locations").status_code == 200
    call_command("api_token", "revoke", raw[:11], stdout=io.StringIO())
    assert client.get("/api/v1/locations").status_code == 401
    with pytest.raises(CommandError):
        call_command("api_token", "create", "nobody", "x", stdout=io.StringIO())


def test_inventory_verify_passes_then_names_drift(dc, product):
    services.stock_receive(location=dc, lines=[(product, 5)])
    out = io.StringIO()
    call_command("inventory_verify", stdout=out)
    assert "OK" in out.getvalue()
    StockLevel.objects.filter(product=product, location=dc).update(on_hand=4)
    out = io.StringIO()
    with pytest.raises(CommandError, match="violation"):
        call_command("inventory_verify", stdout=out)
    assert f"location={dc.pk} product={product.pk}" in out.getvalue()


def test_demo_loads_the_pilot_city_and_keeps_the_books(db):
    out = io.StringIO()
    call_command("demo", "--seed", "7", stdout=out)
    text = out.getvalue()
    assert "Hangzhou" in text and "store8" in text and "OK" in text
    assert StockLevel.objects.filter(location__code="HZ-DC1").count() >= 500
    assert re.search(r"orders lost or waiting without a\s+│\s+0\s", text)
    busy = [o for o in Order.objects.filter(external_id__startswith="busy")]
    parked = [o for o in busy if o.sourcing["decisions"][0].get("outcome") == "parked"]
    assert parked and any(o.status == "reserved" for o in parked)  # filled when stock came
    assert all(o.sourcing_reason for o in busy if o.waiting_since is not None)
    assert re.search(r"parked when placed\s+│\s+[1-9]", text)  # the busy hour parks some
    # A second day on the same data, with a smaller busy hour.
    call_command("demo", "--seed", "8", "--busy-volume", "2", stdout=io.StringIO())
    assert_invariants()
