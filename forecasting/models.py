"""Demand history imported from files, forecast runs, and the forecasts they store.

Demand from Omni's own ledger (sale, ship and pickup moves, net of returns) is read from the
ledger when a run starts (see ``selectors.demand_history``); what was sold before Omni is
imported from CSV into ``DemandRecord``.

A run is split into chunks of series (``ForecastChunk``) that Celery workers do in parallel.
Its series rows are written under the run as each chunk goes; readers take only rows of the
latest **succeeded** run, and a run becomes succeeded (with its accuracy summary) in one
transaction, when its last chunk is done, so a half-written run is never served.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class DemandImport(models.Model):
    """One imported history file: who, when, what."""

    file_name = models.CharField(max_length=255)
    rows = models.PositiveIntegerField(help_text="Rows imported (new or replaced).")
    series = models.PositiveIntegerField(default=0)
    first_day = models.DateField(null=True, blank=True)
    last_day = models.DateField(null=True, blank=True)
    mapping = models.JSONField(default=dict, blank=True, help_text="The column/SKU/store mapping.")
    created_products = models.PositiveIntegerField(default=0)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Import {self.pk}: {self.file_name} ({self.rows} rows)"


class DemandRecord(models.Model):
    """Demand of one SKU at one location on one day, from an imported file. Importing the same
    day again replaces it."""

    product = models.ForeignKey("inventory.Product", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    quantity = models.FloatField()
    price = models.FloatField(null=True, blank=True, help_text="The unit price that day, if known.")
    promo = models.BooleanField(null=True, blank=True, help_text="On promotion that day, if known.")
    source = models.ForeignKey(DemandImport, on_delete=models.PROTECT, related_name="records")

    class Meta:
        ordering = ["product_id", "location_id", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "location", "day"], name="demandrecord_unique_day"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="demandrecord_quantity_nonnegative"
            ),
        ]
        indexes = [models.Index(fields=["location", "day"], name="demandrecord_location_day")]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} {self.day}: {self.quantity:g}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
ALL_CITIES = "*"


class ForecastRun(models.Model):
    """One forecast of every series of a city (or of all cities), as Celery jobs: its task
    splits it into chunks (``ForecastChunk``) that workers do in parallel."""

    city = models.ForeignKey(
        "omni.City", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    scope = models.CharField(
        max_length=32, help_text="The city's code, or '*' for all cities: one active run each."
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    horizon = models.PositiveSmallIntegerField()
    as_of = models.DateField(
        null=True, blank=True, help_text="The last day of history; forecasts start the day after."
    )
    requested_as_of = models.DateField(null=True, blank=True)
    candidates = models.JSONField(default=list, help_text="The models it may choose from.")
    quantiles = models.JSONField(default=list)
    options = models.JSONField(default=dict, blank=True, help_text="The engine's settings.")
    progress = models.FloatField(default=0, help_text="Percent done.")
    message = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True, help_text="Who is running it.")
    task_id = models.CharField(max_length=255, blank=True)
    series_total = models.PositiveIntegerField(default=0)
    series_done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True, help_text="Accuracy and hygiene.")
    error = models.TextField(blank=True)
    rerun_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reruns"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One queued or running run per city (and one for all cities) at a time.
            models.UniqueConstraint(
                fields=["scope"],
                condition=Q(status__in=["queued", "running"]),
                name="forecastrun_one_active_per_scope",
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=100),
                name="forecastrun_progress_percent",
            ),
            models.CheckConstraint(
                condition=Q(horizon__gte=1) & Q(horizon__lte=366),
                name="forecastrun_horizon_range",
            ),
        ]
        indexes = [models.Index(fields=["status", "scope"], name="forecastrun_status_scope")]

    def __str__(self) -> str:
        return f"Forecast run {self.pk} ({self.scope}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def first_day(self) -> date | None:
        return self.as_of + timedelta(days=1) if self.as_of else None


class ForecastSeries(models.Model):
    """The forecast of one SKU at one location in one run: a value and the quantiles for each
    day of the horizon, the model that made it and its backtest accuracy."""

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="series")
    product = models.ForeignKey("inventory.Product", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    model = models.CharField(
        max_length=32, help_text="blend, or the one model (or method) that made the forecast."
    )
    method = models.CharField(
        max_length=16, help_text="backtest, short_history (moving average) or idle (zero)."
    )
    weights = models.JSONField(
        default=dict, blank=True, help_text='The blend\'s weights: {"ets": 0.3, ...}.'
    )
    segment = models.CharField(
        max_length=16,
        blank=True,
        help_text="Whose weights: the series' demand class, or '*' (the run's global blend).",
    )
    window = models.JSONField(
        default=dict,
        blank=True,
        help_text='Totals over the first N days: {"14": {"total": ..., "q50": ..., ...}}.',
    )
    demand_class = models.CharField(max_length=16, blank=True)
    start = models.DateField(help_text="The first forecast day.")
    values = models.JSONField(help_text="The point forecast per day, from start.")
    quantiles = models.JSONField(help_text='{"q90": [per day, from start], ...}')
    rmsse = models.FloatField(null=True, blank=True)
    mase = models.FloatField(null=True, blank=True)
    bias = models.FloatField(null=True, blank=True)
    baseline_rmsse = models.FloatField(
        null=True, blank=True, help_text="Seasonal naive's backtest RMSSE on this series."
    )
    scores = models.JSONField(default=dict, blank=True, help_text="Each candidate's RMSSE.")
    history_days = models.PositiveIntegerField(default=0)
    last_sale = models.DateField(null=True, blank=True)
    open_orders = models.BooleanField(default=False)
    capped = models.JSONField(default=list, blank=True, help_text="Outlier days capped.")

    class Meta:
        ordering = ["run_id", "product_id", "location_id"]
        verbose_name_plural = "forecast series"
        constraints = [
            models.UniqueConstraint(
                fields=["run", "product", "location"], name="forecastseries_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "location", "run"], name="forecastseries_lookup"),
            models.Index(fields=["run", "location"], name="forecastseries_run_location"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} in run {self.run_id} ({self.model})"

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(len(self.values))]


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class ForecastChunk(models.Model):
    """A slice of a run's series that one worker forecasts: a contiguous range of the run's
    (product id, location id) pairs in that order. A chunk whose worker is lost is sent again;
    its attempts count the workers that took it."""

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField(help_text="1 to the run's number of chunks.")
    series = models.JSONField(help_text="[product id, location id] of each series, in order.")
    series_total = models.PositiveIntegerField()
    series_done = models.PositiveIntegerField(default=0, help_text="Series stored.")
    status = models.CharField(
        max_length=16, choices=ChunkStatus.choices, default=ChunkStatus.PENDING
    )
    progress = models.FloatField(default=0, help_text="Percent of this chunk done.")
    worker = models.CharField(max_length=255, blank=True, help_text="Who took it last.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Workers that took it.")
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When its task was sent.")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="The engine's summary.")

    class Meta:
        ordering = ["run_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="forecastchunk_unique"),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=100),
                name="forecastchunk_progress_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"Chunk {self.number} of forecast run {self.run_id} ({self.status})"
