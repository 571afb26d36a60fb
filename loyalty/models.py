"""Loyalty: members (found by a keyed hash of their phone, shown by its last four digits),
campaigns and their random holdout groups, signed coupons, the append-only discount ledger, and
what a store's till may accept while it is offline.

Counters that many checkouts move at once (a campaign's ``granted`` and ``issued``, a coupon's
status, a member's uses of a campaign, a store's offline allowance of the day) move only in
conditional UPDATEs checked by row count; the CHECK constraints below are the last line.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

# Ed25519 coupon codes list the stores they are good at; more than this would not fit a QR
# code a till camera reads easily (docs/loyalty.md, "Codes").
MAX_CODE_STORES = 16


class ConsentFlags(models.TextChoices):
    MARKETING = "marketing", "Marketing messages"
    SMS = "sms", "Text messages"
    ANALYSIS = "analysis", "Purchase analysis"


class Member(models.Model):
    """A customer who joined the loyalty programme. The phone number itself is not kept:
    ``phone_hash`` (HMAC-SHA256 under a key derived from the signing key) finds a member by the
    full number, ``phone_last4`` is all staff ever see."""

    number = models.CharField(max_length=16, unique=True, help_text="The member number.")
    phone_hash = models.CharField(max_length=64, unique=True, editable=False)
    phone_last4 = models.CharField(max_length=4)
    name = models.CharField(max_length=100, blank=True)
    home_store = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    joined_channel = models.ForeignKey(
        "network.Channel", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    joined_store = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    consent_marketing = models.BooleanField(default=False)
    consent_sms = models.BooleanField(default=False)
    consent_analysis = models.BooleanField(default=False)
    card_version = models.PositiveIntegerField(
        default=1, help_text="Raised to revoke every card code drawn so far (a lost phone)."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(phone_last4__regex=r"^[0-9]{4}$"), name="member_phone_last4_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} (…{self.phone_last4})"

    @property
    def masked_phone(self) -> str:
        return f"*******{self.phone_last4}"


class CampaignKind(models.TextChoices):
    PERCENT_OFF = "percent_off", "Percent off"
    AMOUNT_OFF = "amount_off", "Amount off"
    FREE_ITEM = "free_item", "A free item"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"


class Campaign(models.Model):
    """A discount rule, who and where it applies, and its limits.

    Eligibility: ``products`` and ``categories`` (SKU prefixes, e.g. ``FOODS_3``) name the lines
    the discount applies to (neither: every line); ``channels``, ``cities`` and ``stores`` name
    where it may be used (none: anywhere). ``granted`` is the discount currently granted (held
    on open orders or consumed), always ≤ ``budget``; ``issued`` counts coupons, ≤
    ``issue_cap`` when there is one."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=CampaignKind.choices)
    percent_off = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount_off = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    free_product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    min_spend = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    products = models.ManyToManyField("inventory.Product", blank=True, related_name="+")
    categories = models.JSONField(default=list, blank=True)
    channels = models.ManyToManyField("network.Channel", blank=True, related_name="+")
    cities = models.ManyToManyField("omni.City", blank=True, related_name="+")
    stores = models.ManyToManyField("inventory.Location", blank=True, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    per_member_limit = models.PositiveIntegerField(default=1)
    issue_cap = models.PositiveIntegerField(null=True, blank=True)
    issued = models.PositiveIntegerField(default=0)
    budget = models.DecimalField(max_digits=14, decimal_places=2)
    granted = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    holdout_share = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.100"), help_text="e.g. 0.100 = 10 %"
    )
    holdout_seed = models.BigIntegerField(
        help_text="The seed of the treated/holdout draw (recorded, so it can be reproduced)."
    )
    status = models.CharField(
        max_length=8, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="percent_off", percent_off__gt=0, percent_off__lte=100)
                    | Q(kind="amount_off", amount_off__gt=0)
                    | Q(kind="free_item", free_product__isnull=False)
                ),
                name="campaign_rule_valid",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="campaign_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(budget__gte=0), name="campaign_budget_nonnegative"),
            models.CheckConstraint(
                condition=Q(granted__gte=0) & Q(granted__lte=F("budget")),
                name="campaign_granted_within_budget",
            ),
            models.CheckConstraint(
                condition=Q(issue_cap__isnull=True) | Q(issued__lte=F("issue_cap")),
                name="campaign_issued_within_cap",
            ),
            models.CheckConstraint(
                condition=Q(min_spend__gte=0), name="campaign_min_spend_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(per_member_limit__gte=1), name="campaign_per_member_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(holdout_share__gte=0) & Q(holdout_share__lt=1),
                name="campaign_holdout_share_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def remaining_budget(self) -> Decimal:
        return self.budget - self.granted


class AssignmentGroup(models.TextChoices):
    TREATED = "treated", "Treated (issued the coupon)"
    HOLDOUT = "holdout", "Holdout (not issued)"


class CampaignAssignment(models.Model):
    """Which group a member is in for a campaign, drawn once: ``draw`` is a uniform number in
    [0, 1) computed from the campaign's seed and the member's id (so it does not depend on the
    order members were drawn in); the member is held out when ``draw < holdout_share``."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="assignments")
    group = models.CharField(max_length=8, choices=AssignmentGroup.choices)
    draw = models.FloatField()
    seed = models.BigIntegerField()
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "member"], name="campaignassignment_unique"
            ),
            models.CheckConstraint(
                condition=Q(draw__gte=0) & Q(draw__lt=1), name="campaignassignment_draw_unit"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "group"], name="assignment_campaign_group")]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.campaign_id}: {self.group}"


class MemberCampaignUse(models.Model):
    """How many of a campaign's coupons a member has on open orders or redeemed, across every
    channel: taken by one conditional UPDATE against the campaign's per-member limit."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="member_uses")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="campaign_uses")
    uses = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "member"], name="membercampaignuse_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} × {self.campaign_id}: {self.uses}"


class CouponSource(models.TextChoices):
    ISSUED = "issued", "Issued to a segment"
    CLAIMED = "claimed", "Claimed through a channel"
    PRINTED = "printed", "Printed in a batch"


class CouponStatus(models.TextChoices):
    ISSUED = "issued", "Issued: can be used"
    HELD = "held", "Held on an open order"
    REDEEMED = "redeemed", "Redeemed"
    VOID = "void", "Void"


class Coupon(models.Model):
    """One single-use coupon. Its code is an Ed25519 signature over (id, campaign, member,
    expiry, stores) drawn again from this row at any time (``loyalty.codes``)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="coupons")
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="coupons"
    )
    source = models.CharField(max_length=8, choices=CouponSource.choices)
    channel = models.ForeignKey(
        "network.Channel",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Claimed: the channel it was claimed through.",
    )
    batch = models.CharField(max_length=40, blank=True, help_text="Printed: the batch's name.")
    status = models.CharField(
        max_length=8, choices=CouponStatus.choices, default=CouponStatus.ISSUED
    )
    expires_at = models.DateTimeField()
    store_ids = models.JSONField(
        default=list, blank=True, help_text="Location ids signed into the code (empty: any)."
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The order holding or having redeemed it.",
    )
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_store = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["campaign", "status"], name="coupon_campaign_status"),
            models.Index(fields=["member", "campaign"], name="coupon_member_campaign"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="held") | Q(order__isnull=False), name="coupon_held_on_order"
            ),
            models.CheckConstraint(
                condition=~Q(status="redeemed") | Q(redeemed_at__isnull=False),
                name="coupon_redeemed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"coupon {self.pk} of {self.campaign_id}"


class EntryKind(models.TextChoices):
    GRANT = "grant", "Granted (held on an order or redeemed)"
    RELEASE = "release", "Released (order cancelled or expired)"
    CONSUME = "consume", "Consumed (paid or handed over)"


class DiscountEntry(models.Model):
    """The discount ledger: append-only. ``Campaign.granted`` = Σ grant − Σ release; a coupon
    is consumed at most once, except where an offline redemption was flagged a discrepancy."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="entries")
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="entries")
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=EntryKind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sale_reference = models.CharField(
        max_length=64, blank=True, help_text="A counter sale's receipt number at the till."
    )
    store = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    channel = models.ForeignKey(
        "network.Channel", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lines = models.JSONField(
        default=dict, blank=True, help_text="Per order line id: the discount on it."
    )
    offline = models.BooleanField(default=False)
    discrepancy = models.BooleanField(default=False)
    client_id = models.CharField(
        max_length=64, blank=True, help_text="Offline: the till's id of the redemption."
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "discount entries"
        indexes = [models.Index(fields=["campaign", "kind"], name="discountentry_campaign_kind")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="discountentry_amount_nonneg"),
            models.UniqueConstraint(
                fields=["coupon"],
                condition=Q(kind="consume", discrepancy=False),
                name="discountentry_one_consume_per_coupon",
            ),
            models.UniqueConstraint(
                fields=["store", "client_id", "kind"],
                condition=~Q(client_id=""),
                name="discountentry_offline_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} on coupon {self.coupon_id}"


class StoreOfflineAllowance(models.Model):
    """What a store's till may accept on the signature alone while offline, per day."""

    store = models.OneToOneField(
        "inventory.Location", on_delete=models.CASCADE, related_name="offline_allowance"
    )
    max_count_per_day = models.PositiveIntegerField(default=20)
    max_amount_per_day = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("500.00")
    )

    class Meta:
        ordering = ["store_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_amount_per_day__gte=0), name="offlineallowance_amount_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}: {self.max_count_per_day}/day"


class OfflineAllowanceUse(models.Model):
    """A store's offline redemptions of a day (the store's local date), counted against its
    allowance in one conditional UPDATE."""

    store = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["day", "store_id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "day"], name="offlineallowanceuse_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.day}: {self.count}"


class OfflineUpload(models.Model):
    """One redemption a till uploaded after being offline, keyed by the till's own id: the
    first upload inserts this row before anything else, so a retry racing it waits, then
    finds it and gets the same answer."""

    store = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    client_id = models.CharField(max_length=64)
    result = models.CharField(max_length=12)  # accepted | discrepancy
    reason = models.CharField(max_length=40, blank=True)
    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    discrepancy = models.ForeignKey(
        "RedemptionDiscrepancy", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "client_id"], name="offlineupload_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}:{self.client_id} {self.result}"


class DiscrepancyStatus(models.TextChoices):
    OPEN = "open", "Open: needs a person"
    RESOLVED = "resolved", "Resolved"


class RedemptionDiscrepancy(models.Model):
    """A coupon a till accepted offline that was also used elsewhere (or was refused online
    for another reason: void, over the allowance). Never silently accepted twice: a person
    decides."""

    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, null=True, blank=True, related_name="discrepancies"
    )
    entry = models.OneToOneField(
        DiscountEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="discrepancy_case",
    )
    store = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    client_id = models.CharField(max_length=64)
    code = models.CharField(max_length=400, help_text="The code the till accepted.")
    reason = models.CharField(max_length=40, help_text="The error code it was refused with.")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    sale_reference = models.CharField(max_length=64, blank=True)
    accepted_at = models.DateTimeField(help_text="When the till accepted it offline.")
    status = models.CharField(
        max_length=8, choices=DiscrepancyStatus.choices, default=DiscrepancyStatus.OPEN
    )
    note = models.CharField(max_length=255, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "client_id"], name="redemptiondiscrepancy_client_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"discrepancy {self.pk}: {self.reason}"
