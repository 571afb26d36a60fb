"""Flows that end in the scripted demo: the demo's allocation step on the test city, from
the run to the transfers received at the stores."""

from __future__ import annotations

from inventory.models import Transfer, TransferStatus
from tests.helpers import sell


def test_demo_step(allocation_setup) -> None:
    from demo.allocation import allocation_demo_step

    city, _dc, store, _store2, product = allocation_setup
    sell(store, product, 28)
    lines = allocation_demo_step(city.code)
    assert "optimal" in lines[0] and "fill rate 100.0%" in lines[1]
    assert Transfer.objects.get().status == TransferStatus.RECEIVED
