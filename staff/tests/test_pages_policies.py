"""The planner's reorder policy page: classify, the ABC × XYZ grid, filters and paging, a row's
policy set by hand (htmx and plain form) and reverted; planners and admins only; a refusal is a
sentence on the page, never a 500."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import Location
from omni.models import User
from purchasing.models import ReorderPolicy
from purchasing.services import reorder_policies_classify
from purchasing.tests.fixtures import PolicySkus
from staff.views.policies import PER_PAGE
from tests.factories import ProductFactory
from tests.helpers import client_for

pytestmark = pytest.mark.django_db
PAGE = "/staff/purchasing/policies/"
HTMX = {"HX-Request": "true"}


def test_a_planner_classifies_and_sees_the_grid(
    planner: User, dc: Location, policy_skus: PolicySkus
) -> None:
    client = client_for(planner)
    empty = client.get(PAGE)
    assert empty.status_code == 200
    assert "No SKU here is classified yet" in empty.content.decode()
    done = client.post(f"{PAGE}classify/", {"location": "DC1"})
    assert done.status_code == 302 and done["Location"] == f"{PAGE}?location=DC1"
    text = client.get(done["Location"]).content.decode()
    assert "DC1 classified: 4 policies follow their class, 0 set by planners were kept." in text
    assert 'data-cell="AX"' in text and "84% of value" in text  # 5600 of 6700
    assert "Suggested for class AX" in text and "Service level 97%" in text
    assert "Min 13 · max 20" in text  # CL-LOW, CZ
    filtered = client.get(PAGE, {"location": "DC1", "abc": "C", "xyz": "Z"}).content.decode()
    assert 'data-sku="CL-LOW"' in filtered and 'data-sku="CL-HIGH"' not in filtered
    found = client.get(PAGE, {"location": "DC1", "q": "soy"}).content.decode()
    assert 'data-sku="CL-MID"' in found and 'data-sku="CL-LOW"' not in found


def test_a_planner_overrides_a_row_and_reverts_it(
    planner: User, dc: Location, policy_skus: PolicySkus
) -> None:
    reorder_policies_classify(location=dc)
    client = client_for(planner)
    url = f"{PAGE}DC1/CL-MID/"
    row = client.post(
        url,
        {"kind": "min_max", "min_quantity": "30", "max_quantity": "80", "review_days": "7"},
        headers=HTMX,
    )
    body = row.content.decode()
    assert row.status_code == 200 and body.lstrip().startswith("<tr")
    assert "Min 30 · max 80" in body and "Set by plan" in body and "Revert to the BY" in body
    policy = ReorderPolicy.objects.get(product=policy_skus.mid)
    assert policy.overridden and policy.set_by == planner

    bad = client.post(
        url,
        {"kind": "min_max", "min_quantity": "30", "max_quantity": "5", "review_days": "7"},
        headers=HTMX,
    )
    assert bad.status_code == 422
    assert 'data-code="reorder_policy_invalid"' in bad.content.decode()
    # what the planner typed stays in the open form, to correct
    assert '<details class="edit" open>' in bad.content.decode()
    assert 'name="max_quantity" min="0" inputmode="numeric" value="5"' in bad.content.decode()
    assert "max_quantity" in bad.content.decode()
    assert ReorderPolicy.objects.get(product=policy_skus.mid).max_quantity == 80

    back = client.post(f"{url}revert/", {"back": "location=DC1&abc=B"})
    assert back.status_code == 302 and back["Location"] == f"{PAGE}?location=DC1&abc=B"
    policy.refresh_from_db()
    assert not policy.overridden and policy.service_level == Decimal("0.93")
    assert "Back to the suggestion for its class." in client.get(back["Location"]).content.decode()


def test_a_plain_form_refusal_shows_the_list_with_the_sentence(
    planner: User, dc: Location, policy_skus: PolicySkus
) -> None:
    client = client_for(planner)
    bad = client.post(
        f"{PAGE}DC1/CL-HIGH/",
        {
            "kind": "service_level",
            "service_level": "1.5",
            "review_days": "7",
            "back": "location=DC1",
        },
    )
    assert bad.status_code == 422
    text = bad.content.decode()
    assert "Check “service_level” of the policy for CL-HIGH at DC1" in text
    assert not ReorderPolicy.objects.exists()
    typo = client.post(
        f"{PAGE}DC1/CL-HIGH/", {"kind": "min_max", "min_quantity": "many", "review_days": "7"}
    )
    assert typo.status_code == 422 and "Min (reorder at):" in typo.content.decode()
    assert not ReorderPolicy.objects.exists()
    nothing = client.post(f"{PAGE}DC1/CL-HIGH/revert/")
    assert nothing.status_code == 404 and "no reorder policy here yet" in nothing.content.decode()
    assert client.post(f"{PAGE}NOPE/CL-HIGH/revert/").status_code == 404
    assert client.get(PAGE, {"location": "NOPE"}).status_code == 404


def test_thousands_of_policies_are_paged(
    planner: User, dc: Location, policy_skus: PolicySkus
) -> None:
    extra = [ProductFactory.create(sku=f"ZZ-{n:03d}") for n in range(PER_PAGE + 10)]
    ReorderPolicy.objects.bulk_create(
        ReorderPolicy(product=p, location=dc, kind="service_level", service_level=Decimal("0.9"))
        for p in extra
    )
    client = client_for(planner)
    first = client.get(PAGE, {"location": "DC1"}).content.decode()
    assert first.count('data-sku="') == PER_PAGE
    assert f"Page 1 of 2 ({PER_PAGE + 10} policies)" in first
    second = client.get(PAGE, {"location": "DC1", "page": "2"}).content.decode()
    assert second.count('data-sku="') == 10


@pytest.mark.parametrize("who", ["store_user", "warehouse_user"])
def test_only_planners_and_admins(
    request: pytest.FixtureRequest, dc: Location, policy_skus: PolicySkus, who: str
) -> None:
    client = client_for(request.getfixturevalue(who))
    assert client.get(PAGE).status_code == 403
    assert client.post(f"{PAGE}classify/", {"location": "DC1"}).status_code == 403
    assert not ReorderPolicy.objects.exists()
