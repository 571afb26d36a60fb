"""The staff home page: per role, the day's work with a figure or two."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from fulfillment.models import PickList, PickListStatus
from fulfillment.selectors import orders_to_pack, pickup_queue, waiting_to_pick
from inventory.models import Transfer, TransferStatus
from orders.models import OrderStatus
from orders.selectors import hold_tickets_held
from staff.views.common import Staff, staff_page
from staff.views.routing import store_capacity_today, waiting_count


@staff_page("home", needs_location=False)
def home(request: HttpRequest, staff: Staff) -> HttpResponse:
    arriving = holds = open_pick_lists = waiting = to_pack = pickups_ready = to_prepare = 0
    if staff.location is not None:
        open_pick_lists = PickList.objects.filter(
            location=staff.location, status=PickListStatus.OPEN
        ).count()
        waiting = waiting_to_pick(staff.location)
    if staff.location is not None and staff.moves_stock:
        arriving = Transfer.objects.filter(
            destination=staff.location, status=TransferStatus.DISPATCHED
        ).count()
        to_pack = orders_to_pack(staff.location)
    if staff.location is not None and staff.serves_counter:
        holds = hold_tickets_held(store=staff.location).count()
        statuses = list(
            pickup_queue(user=staff.user, store_id=staff.location.pk)
            .prefetch_related(None)
            .values_list("status", flat=True)
        )
        pickups_ready = statuses.count(OrderStatus.READY_FOR_PICKUP)
        to_prepare = sum(
            1 for s in statuses if s in (OrderStatus.RESERVED, OrderStatus.BACKORDERED)
        )
    # The orders-a-day capacity of the location the user works at; planners see every city's
    # on the routing page, and how many orders wait for stock on its tile.
    works_here = staff.location is not None and staff.user.works_at(staff.location)
    store_capacity = store_capacity_today(staff.location) if works_here else []
    waiting_for_stock = waiting_count() if staff.reads_everything else 0
    return render(
        request,
        "staff/home.html",
        {
            "staff": staff,
            "arriving": arriving,
            "holds": holds,
            "open_pick_lists": open_pick_lists,
            "waiting_to_pick": waiting,
            "to_pack": to_pack,
            "pickups_ready": pickups_ready,
            "pickups_to_prepare": to_prepare,
            "store_capacity": store_capacity,
            "waiting_for_stock": waiting_for_stock,
        },
    )
