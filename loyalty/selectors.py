"""Reads of loyalty, scoped to the caller: marketing, planners and admins see every member,
campaign and discrepancy; store staff and channels find a member only by the full phone
number or the member number, and store staff see their own stores' discrepancies."""

from __future__ import annotations

from django.db.models import QuerySet

from omni.access import runs_campaigns, scope_to_locations
from omni.models import Role, User

from .errors import UnknownCampaign, UnknownMember
from .models import Campaign, Member, RedemptionDiscrepancy
from .services.members import phone_hash


def _members() -> QuerySet[Member]:
    return Member.objects.select_related("home_store", "joined_store", "joined_channel")


def member_search(
    *, user: User, phone: str | None = None, number: str | None = None
) -> QuerySet[Member]:
    """Members by full phone number and/or member number. Without either, only the roles that
    run campaigns get the whole list; anyone else gets nothing (no browsing of customers)."""
    members = _members()
    if phone:
        members = members.filter(phone_hash=phone_hash(phone))
    if number:
        members = members.filter(number=number)
    if not (phone or number) and not runs_campaigns(user):
        return members.none()
    return members


def member_visible(user: User, number: str) -> Member:
    member = _members().filter(number=number).first()
    if member is None or not (runs_campaigns(user) or user.role in (Role.STORE, Role.CHANNEL)):
        raise UnknownMember()
    return member


def _campaigns() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("free_product").prefetch_related(
        "products", "channels", "cities", "stores"
    )


def campaign_list(*, user: User, status: str | None = None) -> QuerySet[Campaign]:
    campaigns = _campaigns()
    if not runs_campaigns(user):
        return campaigns.none()
    if status:
        campaigns = campaigns.filter(status=status)
    return campaigns


def campaign_visible(user: User, code: str) -> Campaign:
    """A campaign by code: those who run campaigns see every one; channels and store staff
    see the one they name (to claim or redeem)."""
    campaign = _campaigns().filter(code=code).first()
    if campaign is None:
        raise UnknownCampaign()
    return campaign


def discrepancy_list(
    *, user: User, store: str | None = None, status: str | None = None
) -> QuerySet[RedemptionDiscrepancy]:
    cases = RedemptionDiscrepancy.objects.select_related("store")
    if not runs_campaigns(user):
        if user.role == Role.CHANNEL:
            return cases.none()
        cases = scope_to_locations(user, cases, "store")
    if store:
        cases = cases.filter(store__code=store)
    if status:
        cases = cases.filter(status=status)
    return cases
