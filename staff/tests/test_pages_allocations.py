"""The planner's allocation pages: start a run, read its outcome and chart, approve (transfers,
once) or reject; planners and admins only; a refused decision is a message, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from allocation import services
from allocation.models import AllocationRun, RunDecision, RunStatus
from inventory.models import Location, Product, Transfer, TransferStatus
from omni.models import City
from tests.factories import ChannelUserFactory
from tests.helpers import client_for, sell

pytestmark = pytest.mark.django_db
PAGES = "/staff/allocations/"


@pytest.fixture
def setup(allocation_setup: tuple[City, Location, Location, Location, Product]) -> City:
    city, _dc, store, _store2, product = allocation_setup
    sell(store, product, 28)  # store 1 has a need, store 2 none
    return city


def finished_run(city: City) -> AllocationRun:
    run = services.allocation_run_create(city=city)
    return services.allocation_run_execute(run=run)


def test_a_planner_starts_a_run_reads_it_and_approves_it_once(
    setup, planner, django_capture_on_commit_callbacks
) -> None:
    client = client_for(planner)
    page = client.get(PAGES)
    assert page.status_code == 200 and "Start a run" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            PAGES, {"city": setup.code, "service_level": 0.9, "time_limit": 30, "method": "auto"}
        )
    run = AllocationRun.objects.get()
    assert started.status_code == 302 and started["Location"] == f"{PAGES}{run.pk}/"
    assert run.status == RunStatus.OPTIMAL and run.created_by == planner

    listing = client.get(PAGES).content.decode()
    assert f"#{run.pk}" in listing and "Optimal" in listing and "100.0%" in listing

    text = client.get(f"{PAGES}{run.pk}/").content.decode()
    assert "<svg" in text and f"allocation run {run.pk}" in text  # the chart's label
    assert 'id="stores"' in text and "S01 Store 1" in text and 'id="skus"' in text
    assert "SKU-1" in text and "moving_average" in text
    assert 'hx-trigger="every 2s"' not in text  # finished: no polling
    assert f"{PAGES}{run.pk}/approve/" in text and "Transfers created" not in text

    approved = client.post(f"{PAGES}{run.pk}/approve/")
    assert approved.status_code == 302
    transfer = Transfer.objects.get()
    assert transfer.status == TransferStatus.APPROVED and transfer.destination.code == "S01"
    text = client.get(f"{PAGES}{run.pk}/").content.decode()
    assert "Transfers created" in text and f"T{transfer.pk}" in text
    assert f"{PAGES}{run.pk}/approve/" not in text  # decided: no buttons

    again = client.post(f"{PAGES}{run.pk}/approve/")
    assert again.status_code == 409
    assert "allocation_already_decided" in again.content.decode()
    assert Transfer.objects.count() == 1
    run.refresh_from_db()
    assert run.decision == RunDecision.APPROVED and run.decided_by == planner


def test_a_planner_rejects_a_run_and_nothing_moves(setup, admin_user) -> None:
    run = finished_run(setup)
    client = client_for(admin_user)
    rejected = client.post(f"{PAGES}{run.pk}/reject/")
    assert rejected.status_code == 302
    run.refresh_from_db()
    assert run.decision == RunDecision.REJECTED
    assert not Transfer.objects.exists()
    late = client.post(f"{PAGES}{run.pk}/approve/")
    assert late.status_code == 409 and "allocation_already_decided" in late.content.decode()
    assert not Transfer.objects.exists()


def test_a_timed_out_run_has_no_approve_button_and_cannot_be_approved(setup, planner) -> None:
    run = services.allocation_run_create(city=setup)
    AllocationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.TIMEOUT, progress=100, message="no plan within the time limit"
    )
    client = client_for(planner)
    text = client.get(f"{PAGES}{run.pk}/").content.decode()
    assert "Timed out without a plan" in text and "no plan within the time limit" in text
    assert f"{PAGES}{run.pk}/approve/" not in text and "<svg" not in text
    answer = client.post(f"{PAGES}{run.pk}/approve/")
    assert answer.status_code == 409 and "allocation_no_plan" in answer.content.decode()
    assert not Transfer.objects.exists()
    run.refresh_from_db()
    assert run.decision == RunDecision.PENDING


def test_a_queued_run_polls_its_progress_panel(setup, planner) -> None:
    run = services.allocation_run_create(city=setup)
    client = client_for(planner)
    text = client.get(f"{PAGES}{run.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in text and f"{PAGES}{run.pk}/progress/" in text
    assert f"{PAGES}{run.pk}/approve/" not in text
    panel = client.get(f"{PAGES}{run.pk}/progress/", {"active": 1})
    assert panel.status_code == 200 and 'hx-trigger="every 2s"' in panel.content.decode()
    services.allocation_run_execute(run=run)
    done = client.get(f"{PAGES}{run.pk}/progress/", {"active": 1}, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"


def test_the_chart_is_an_svg_image(setup, planner) -> None:
    run = finished_run(setup)
    chart = client_for(planner).get(f"{PAGES}{run.pk}/chart.svg")
    assert chart.status_code == 200 and chart["Content-Type"] == "image/svg+xml"
    assert chart.content.startswith(b"<svg") and b"S01" in chart.content


def test_store_staff_and_channels_get_403_and_strangers_the_login(setup, store_user) -> None:
    run = finished_run(setup)
    for user in (store_user, ChannelUserFactory.create(username="shop")):
        client = client_for(user)
        assert client.get(PAGES).status_code == 403
        assert client.get(f"{PAGES}{run.pk}/").status_code == 403
        assert client.post(f"{PAGES}{run.pk}/approve/").status_code == 403
    assert not Transfer.objects.exists()
    anonymous = Client().get(f"{PAGES}{run.pk}/")
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_an_unknown_run_is_a_404_page(planner, db) -> None:
    assert client_for(planner).get(f"{PAGES}999999/").status_code == 404
