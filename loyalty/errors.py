"""Error codes of members, campaigns, coupons and redemptions, and the errors built from what
they are about. Every code has a sentence for people in ``staff/messages.py``."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

from omni.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from .models import Campaign


class LoyaltyErrorCode(StrEnum):
    CAMPAIGN_INVALID = "campaign_invalid"
    CAMPAIGN_NOT_ACTIVE = "campaign_not_active"
    CAMPAIGN_BUDGET_EXHAUSTED = "campaign_budget_exhausted"
    CAMPAIGN_ISSUE_CAP_REACHED = "campaign_issue_cap_reached"
    CAMPAIGN_NOT_OFFERED = "campaign_not_offered"
    MEMBER_LIMIT_REACHED = "member_limit_reached"
    MEMBER_PHONE_INVALID = "member_phone_invalid"
    MEMBER_PHONE_TAKEN = "member_phone_taken"
    UNKNOWN_MEMBER = "unknown_member"
    UNKNOWN_CAMPAIGN = "unknown_campaign"
    UNKNOWN_COUPON = "unknown_coupon"
    COUPON_CODE_MALFORMED = "coupon_code_malformed"
    COUPON_CODE_NOT_CANONICAL = "coupon_code_not_canonical"
    COUPON_CODE_FORGED = "coupon_code_forged"
    COUPON_CODE_TAMPERED = "coupon_code_tampered"
    COUPON_EXPIRED = "coupon_expired"
    COUPON_WRONG_STORE = "coupon_wrong_store"
    COUPON_ALREADY_USED = "coupon_already_used"
    COUPON_VOID = "coupon_void"
    COUPON_NOT_APPLICABLE = "coupon_not_applicable"
    COUPON_NOT_YOURS = "coupon_not_yours"
    CARD_CODE_REFUSED = "card_code_refused"
    OFFLINE_ALLOWANCE_EXCEEDED = "offline_allowance_exceeded"
    DISCREPANCY_RESOLVED = "discrepancy_resolved"


class CampaignInvalid(InvalidInput):
    """A campaign's rule or limits make no sense; ``detail["field"]`` names the field."""

    code: ClassVar[str] = LoyaltyErrorCode.CAMPAIGN_INVALID

    def __init__(self, field: str, message: Any, **params: Any) -> None:
        data = {"field": field, **params}
        super().__init__(message, detail=data, params=data)


class CampaignNotActive(Conflict):
    code: ClassVar[str] = LoyaltyErrorCode.CAMPAIGN_NOT_ACTIVE

    def __init__(self, campaign: Campaign) -> None:
        super().__init__(
            _("campaign %(campaign)s is %(status)s, not running now"),
            detail={"campaign": campaign.code, "status": campaign.status},
            params={"campaign": campaign.code, "status": campaign.status},
        )


class CampaignBudgetExhausted(Conflict):
    code: ClassVar[str] = LoyaltyErrorCode.CAMPAIGN_BUDGET_EXHAUSTED

    def __init__(self, campaign: Campaign) -> None:
        super().__init__(
            _("campaign %(campaign)s has spent its discount budget"),
            detail={"campaign": campaign.code, "budget": str(campaign.budget)},
            params={"campaign": campaign.code},
        )


class CampaignIssueCapReached(Conflict):
    code: ClassVar[str] = LoyaltyErrorCode.CAMPAIGN_ISSUE_CAP_REACHED

    def __init__(self, campaign: Campaign) -> None:
        super().__init__(
            _("campaign %(campaign)s has issued all %(cap)s of its coupons"),
            detail={"campaign": campaign.code, "issue_cap": campaign.issue_cap},
            params={"campaign": campaign.code, "cap": campaign.issue_cap},
        )


class CampaignNotOffered(Conflict):
    """The member is in the campaign's holdout group: the campaign is measured against them."""

    code: ClassVar[str] = LoyaltyErrorCode.CAMPAIGN_NOT_OFFERED

    def __init__(self, campaign: Campaign) -> None:
        super().__init__(
            _("campaign %(campaign)s is not offered to this member"),
            detail={"campaign": campaign.code},
            params={"campaign": campaign.code},
        )


class MemberLimitReached(Conflict):
    code: ClassVar[str] = LoyaltyErrorCode.MEMBER_LIMIT_REACHED

    def __init__(self, campaign: Campaign) -> None:
        super().__init__(
            _("this member has used campaign %(campaign)s %(limit)s times already"),
            detail={"campaign": campaign.code, "limit": campaign.per_member_limit},
            params={"campaign": campaign.code, "limit": campaign.per_member_limit},
        )


class MemberPhoneInvalid(InvalidInput):
    code: ClassVar[str] = LoyaltyErrorCode.MEMBER_PHONE_INVALID

    def __init__(self) -> None:
        super().__init__(
            _("a phone number is 6 to 20 digits, optionally after a +"),
            detail={"field": "phone"},
        )


class MemberPhoneTaken(Conflict):
    code: ClassVar[str] = LoyaltyErrorCode.MEMBER_PHONE_TAKEN

    def __init__(self, number: str) -> None:
        super().__init__(
            _("this phone number already belongs to member %(member)s"),
            detail={"member": number},
            params={"member": number},
        )


class UnknownMember(NotFound):
    code: ClassVar[str] = LoyaltyErrorCode.UNKNOWN_MEMBER

    def __init__(self) -> None:
        super().__init__(_("no such member"))


class UnknownCampaign(NotFound):
    code: ClassVar[str] = LoyaltyErrorCode.UNKNOWN_CAMPAIGN

    def __init__(self) -> None:
        super().__init__(_("no such campaign"))


class UnknownCoupon(NotFound):
    code: ClassVar[str] = LoyaltyErrorCode.UNKNOWN_COUPON

    def __init__(self) -> None:
        super().__init__(_("no such coupon"))


class CouponRefused(Conflict):
    """A coupon code refused; ``detail["coupon"]`` is the coupon id it claims, when it could be
    read. Each subclass is one reason, with its own code."""

    def __init__(
        self,
        message: Any,
        *,
        coupon: int | None = None,
        detail: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        data = dict(detail or {})
        if coupon is not None:
            data["coupon"] = coupon
        super().__init__(message, detail=data, params=params)


class CouponCodeMalformed(CouponRefused):
    code: ClassVar[str] = LoyaltyErrorCode.COUPON_CODE_MALFORMED
    http_status = 400

    def __init__(self) -> None:
        super().__init__(_("this is not a coupon code"))


class CouponCodeNotCanonical(CouponRefused):
    code: ClassVar[str] = LoyaltyErrorCode.COUPON_CODE_NOT_CANONICAL
    http_status = 400

    def __init__(self) -> None:
        super().__init__(_("this coupon code is not written the one way Omni prints it"))


class CouponCodeForged(CouponRefused):
    code: ClassVar[str] = LoyaltyErrorCode.COUPON_CODE_FORGED
    http_status = 400

    def __init__(self) -> None:
        super().__init__(_("this coupon code was not issued by Omni"))


class CouponCodeTampered(CouponRefused):
    code: ClassVar[str] = LoyaltyErrorCode.COUPON_CODE_TAMPERED
    http_status = 400

    def __init__(self, *, coupon: int) -> None:
        super().__init__(_("this coupon code was altered after it was issued"), coupon=coupon)


class CouponExpired(CouponRefused):
    code: ClassVar[str] = LoyaltyErrorCode.COUPON_EXPIRED

    def __init__(self, *, coupon: int, expired_at: int) -> None:
        super().__init__(
            _("this coupon has expired"), coupon=coupon, detail={"expired_at": expired_at}
        )


class CouponWrongStore(CouponRefused):
    code: ClassVar[str] = LoyaltyErrorCode.COUPON_WRONG_STORE

    def __init__(self, *, coupon: int, here: str) -> None:
        super().__init__(
            _("this coupon is not valid at %(store)s"),
            coupon=coupon,
            detail={"store": here},
            params={"store": here},
        )


class CouponAlreadyUsed(CouponRefused):
    code: ClassVar[str] = LoyaltyErrorCode.COUPON_ALREADY_USED

    def __init__(self, *, coupon: int) -> None:
        super().__init__(_("this coupon has been used"), coupon=coupon)


class CouponVoid(CouponRefused):
    code: ClassVar[str] = LoyaltyErrorCode.COUPON_VOID

    def __init__(self, *, coupon: int) -> None:
        super().__init__(_("this coupon was withdrawn"), coupon=coupon)


class CouponNotApplicable(CouponRefused):
    """The coupon is genuine but this order or sale does not qualify; ``detail["why"]`` is one
    of ``WHY``'s keys."""

    code: ClassVar[str] = LoyaltyErrorCode.COUPON_NOT_APPLICABLE

    WHY: ClassVar[dict[str, Any]] = {
        "channel": _("this coupon is not valid on this channel"),
        "city": _("this coupon is not valid in this city"),
        "store": _("this coupon is not valid at this store"),
        "window": _("this coupon's campaign is not running now"),
        "no_eligible_lines": _("nothing in this order qualifies for this coupon"),
        "free_item_missing": _("add the free item to the order to use this coupon"),
        "min_spend": _("the order does not reach the coupon's minimum spend of %(min_spend)s"),
        "nothing_left": _("the order has no amount left to discount"),
        "twice": _("the same coupon is given twice"),
    }

    def __init__(self, *, coupon: int, why: str, min_spend: Decimal | None = None) -> None:
        params = {"min_spend": str(min_spend)} if why == "min_spend" else None
        super().__init__(
            self.WHY[why], coupon=coupon, detail={"why": why, **(params or {})}, params=params
        )


class CouponNotYours(CouponRefused):
    code: ClassVar[str] = LoyaltyErrorCode.COUPON_NOT_YOURS

    def __init__(self, *, coupon: int) -> None:
        super().__init__(_("this coupon belongs to another member"), coupon=coupon)


class CardCodeRefused(Conflict):
    """A member-card code refused; ``detail["why"]``: malformed, not_canonical, forged,
    expired, revoked."""

    code: ClassVar[str] = LoyaltyErrorCode.CARD_CODE_REFUSED
    http_status = 400

    WHY: ClassVar[dict[str, Any]] = {
        "malformed": _("this is not a member card code"),
        "not_canonical": _("this member card code is not written the one way Omni shows it"),
        "forged": _("this member card code was not issued by Omni"),
        "expired": _("this member card code has expired; ask for the card to be shown again"),
        "revoked": _("this member card was replaced; ask for the new one"),
        "replayed": _("this member card code was used already"),
        "wrong_store": _("this member card code is not for this store"),
    }

    def __init__(self, why: str) -> None:
        super().__init__(self.WHY[why], detail={"why": why})


class OfflineAllowanceExceeded(Conflict):
    code: ClassVar[str] = LoyaltyErrorCode.OFFLINE_ALLOWANCE_EXCEEDED

    def __init__(self, *, store: str) -> None:
        super().__init__(
            _("%(store)s has used its offline coupon allowance for the day"),
            detail={"store": store},
            params={"store": store},
        )


class DiscrepancyResolved(Conflict):
    code: ClassVar[str] = LoyaltyErrorCode.DISCREPANCY_RESOLVED

    def __init__(self, discrepancy_id: int) -> None:
        super().__init__(
            _("this discrepancy was resolved already"), detail={"discrepancy": discrepancy_id}
        )
