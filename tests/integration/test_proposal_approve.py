"""Approving one replenishment proposal from several places at the same moment makes one set of
purchase orders (PostgreSQL: the run row is locked first and its decision moves by a
conditional UPDATE; the later approvals wait, then answer the purchase orders the first made)."""

from __future__ import annotations

from purchasing.models import PurchaseOrder, PurchaseOrderLine
from purchasing.proposal_models import ProposalDecision, ProposalLine, ReplenishmentRun
from purchasing.proposals import services
from purchasing.tests.proposal_fixtures import ProposalCity

from .threads import run_together


def test_approvals_at_once_make_one_set_of_purchase_orders(proposal_city: ProposalCity) -> None:
    run = services.replenishment_run_execute(
        run=services.replenishment_run_create(city=proposal_city.city)
    )
    buying = ProposalLine.objects.filter(run=run, quantity__gt=0)
    assert buying.exists(), run.message

    results = run_together(
        lambda i: sorted(o.pk for o in services.replenishment_run_approve(run=run)), threads=4
    )

    orders = PurchaseOrder.objects.filter(reference=run.reference)
    assert all(r == sorted(orders.values_list("pk", flat=True)) for r in results)
    assert orders.count() == len({ln.supplier_id for ln in buying})
    ordered = PurchaseOrderLine.objects.filter(purchase_order__in=orders)
    assert ordered.count() == buying.count()
    assert sum(ordered.values_list("quantity_ordered", flat=True)) == sum(
        buying.values_list("quantity", flat=True)
    )
    run.refresh_from_db()
    assert run.decision == ProposalDecision.APPROVED


def test_an_edit_racing_an_approval_is_in_or_refused(proposal_city: ProposalCity) -> None:
    """An edit and an approval of the same run queue on the run's lock: either the edit lands
    before (and the PO has its quantity) or it is refused after (the PO has the old one)."""
    run = services.replenishment_run_execute(
        run=services.replenishment_run_create(city=proposal_city.city)
    )
    line = ProposalLine.objects.filter(run=run, quantity__gt=0).order_by("id").first()
    assert line is not None
    new = line.quantity + 6

    def work(i: int) -> str:
        try:
            if i == 0:
                services.replenishment_run_approve(run=run)
            else:
                services.proposal_line_edit(line=line, quantity=new)
            return "ok"
        except services.ProposalAlreadyDecided:
            return "refused"

    results = run_together(work, threads=2)
    ordered = PurchaseOrderLine.objects.get(
        purchase_order__reference=run.reference, product_id=line.product_id
    ).quantity_ordered
    line.refresh_from_db()
    if results[1] == "ok":
        assert ordered == new == line.final_quantity
    else:
        assert ordered == line.quantity and line.edited_quantity is None
    assert ReplenishmentRun.objects.get(pk=run.pk).decision == ProposalDecision.APPROVED
