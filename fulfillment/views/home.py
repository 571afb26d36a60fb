"""The staff home page: per role, the day's work with a figure or two."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from inventory.models import Reservation, ReservationStatus, Transfer, TransferStatus

from .common import Staff, staff_page
from .reserve import WALK_IN


@staff_page("home", needs_location=False)
def home(request: HttpRequest, staff: Staff) -> HttpResponse:
    arriving = holds = 0
    if staff.location is not None and staff.moves_stock:
        arriving = Transfer.objects.filter(
            destination=staff.location, status=TransferStatus.DISPATCHED
        ).count()
    if staff.location is not None and staff.serves_counter:
        holds = Reservation.objects.filter(
            location=staff.location,
            owner_type=WALK_IN,
            status=ReservationStatus.ACTIVE,
        ).count()
    return render(
        request,
        "staff/home.html",
        {"staff": staff, "arriving": arriving, "holds": holds},
    )
