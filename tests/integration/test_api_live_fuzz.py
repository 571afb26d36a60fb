"""Schemathesis against the live server: gunicorn (2 workers) on PostgreSQL, over HTTP, as an
admin, a store clerk and a channel's integration, each with its own API token.

The database holds a small city as it runs: a DC and two stores live for ship and pickup, ten
SKUs in stock, orders of three channels (delivery, pickup, counter; held, paid, ready for pickup,
picked and packed), transfers in every state, pick lists, a routing profile, a manual hold, an
allocation run and a queued forecast run. Half the path parameters name one of those, half are
whatever schemathesis makes up. Every operation of the OpenAPI schema is driven by every
identity, in the coverage phase (the schema's boundaries, valid and not), the fuzzing phase
(generated input, valid and not) and the stateful phase (links schemathesis infers). No answer
may be a 5xx; every answer must match the schema (its status is documented, its body, content
type and headers are the documented ones); a request the schema forbids must be refused.

The run is bounded by its budget (``MAX_EXAMPLES`` per operation and phase), not by a clock:
the three identities run side by side. Per identity it prints the
operations covered, the cases sent, the server errors, the schema violations and the invalid
requests accepted (with the failing operations, and schemathesis' own report, which reproduces
each failure with curl). The ledger invariants are checked on the same database afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Model
from django.utils import timezone

from allocation import services as allocation_services
from allocation.models import AllocationRun
from bench.gunicorn import free_port, log_tail, start_gunicorn, stop_gunicorn, wait_until_answering
from forecasting import services as forecasting_services
from forecasting.models import ForecastRun
from fulfillment import services as fulfillment_services
from fulfillment.errors import NothingToPick
from fulfillment.models import Package, PickLine, PickList
from fulfillment.tests.fixtures import pick_all
from inventory import services as stock_services
from inventory.invariants import assert_invariants
from inventory.models import Location, Product, Reservation, Transfer
from network.models import Channel, ChannelKind, RoutingProfile
from omni.celery import app as celery_app
from omni.models import City, User
from omni.services import api_token_create
from orders.models import Order, OrderMode
from tests.factories import (
    NEAR_DC,
    NEAR_S01,
    AdminFactory,
    ChannelFactory,
    OrderFactory,
    PickupOrderFactory,
    ProductFactory,
    RoutingProfileFactory,
)
from tests.helpers import database_url

# Cases per operation and phase. 70 operations x 3 identities: about four minutes in all.
MAX_EXAMPLES = int(os.environ.get("OMNI_FUZZ_EXAMPLES", "10"))
SEED = 20260101  # one seed: a failure found once is found again by the next run
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
]
# How schemathesis names a failure of ``not_a_server_error`` and of ``negative_data_rejection``;
# every other failure of these checks is an answer the schema does not describe.
SERVER_ERROR = "ServerError"
INVALID_ACCEPTED = "AcceptedNegativeData"


@dataclass
class Run:
    """What one identity's run found, read from schemathesis' JSON report."""

    identity: str
    operations_selected: int
    operations_tested: int
    cases: int
    server_errors: int
    schema_violations: int
    invalid_accepted: int
    seconds: float
    failures: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    output: str = ""

    def line(self) -> str:
        return (
            f"{self.identity:>8}: {self.operations_tested}/{self.operations_selected} operations, "
            f"{self.cases} cases, {self.server_errors} server errors, "
            f"{self.schema_violations} schema violations, "
            f"{self.invalid_accepted} invalid requests accepted ({self.seconds:.0f} s)"
        )


@dataclass
class Shop:
    """The users the API is driven as, and the path parameters of the things that exist (half
    the cases name one of them, the other half whatever schemathesis makes up)."""

    users: dict[str, User]
    ids: dict[str, list[Any]]

    def config(self, path: Path) -> Path:
        """A schemathesis config file of those parameters."""
        lines = []
        for name, values in self.ids.items():
            lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
        lines.append("[parameters]")
        lines += [
            f'"path.{name}" = {{ dictionary = "{name}", probability = 0.5 }}' for name in self.ids
        ]
        # Invalid input may also be refused by the web server before the API reads it: a request
        # line or headers too long (414, 431, in the error shape, documented on every operation).
        refusals = [400, 401, 403, 404, 405, 406, 409, 413, 414, 415, 422, 428, 429, 431]
        lines += [
            "",
            "[checks.negative_data_rejection]",
            f"expected-statuses = {json.dumps([str(status) for status in refusals])}",
        ]
        path.write_text("\n".join(lines) + "\n")
        return path


def ids(model: type[Model]) -> list[int]:
    return list(model._default_manager.values_list("pk", flat=True))


def stock(location: Location, products: list[Product], units: int) -> None:
    stock_services.stock_receive(location=location, lines=[(p, units) for p in products])


@pytest.fixture
def shop(
    live_city: City,
    dc: Location,
    store: Location,
    store2: Location,
    product: Product,
    product2: Product,
    web: Channel,
    pos: Channel,
    store_user: User,
) -> Shop:
    """The city as it runs (see the module's docstring)."""
    products = [product, product2] + [
        ProductFactory.create(sku=f"SKU-{n}", price=n * 3, barcode=f"69000000001{n:02d}")
        for n in range(3, 11)
    ]
    ProductFactory.create(sku="SKU-OFF", active=False)
    stock(dc, products, 500)
    stock(store, products, 40)
    stock(store2, products[:5], 20)
    mini = ChannelFactory.create(
        code="mini", kind=ChannelKind.MINI_PROGRAM, city=live_city, serves=[store, store2, dc]
    )
    RoutingProfileFactory.create(channel=mini, city=live_city, rules=["keep_together"])

    # Orders of three channels: held, paid, sourced at the DC, a pickup ready, a counter sale.
    for n in range(4):
        OrderFactory.create(
            channel=web,
            external_id=f"web-{n}",
            lines={products[n]: 2, products[n + 1]: 1},
            delivery=NEAR_DC if n % 2 else NEAR_S01,
            paid=n < 2,
        )
    OrderFactory.create(channel=mini, external_id="mini-1", lines={products[5]: 3}, paid=True)
    OrderFactory.create(
        channel=mini,
        external_id="mini-promised",
        lines={products[6]: 1},
        promised_at=timezone.now() + timedelta(days=1),
    )
    ready = PickupOrderFactory.create(
        channel=web, external_id="web-pickup-ready", store=store, lines={products[2]: 1}, paid=True
    )
    PickupOrderFactory.create(
        channel=web, external_id="web-pickup", store=store2, lines={products[3]: 2}
    )
    OrderFactory.create(
        channel=pos,
        external_id="pos-1",
        mode=OrderMode.STORE_SALE,
        store=store,
        lines={products[4]: 1},
    )
    pick_list = fulfillment_services.pickup_prepare(order=ready)
    for line in pick_list.lines.select_related("product"):
        fulfillment_services.pick_line_confirm(
            pick_line=line, scanned=line.product.sku, quantity=line.quantity
        )
    fulfillment_services.pickup_mark_ready(order=ready)

    # Transfers in every state, then a wave at the DC (approved transfer lines, held orders).
    for state in ("draft", "approved", "dispatched", "received"):
        transfer = stock_services.transfer_create(
            source=dc,
            destination=store,
            lines=[(products[7], 4), (products[8], 2)],
            reference=f"T-{state}",
        )
        if state != "draft":
            stock_services.transfer_approve(transfer=transfer)
        if state in ("dispatched", "received"):
            stock_services.transfer_dispatch(transfer=transfer)
        if state == "received":
            stock_services.transfer_receive(transfer=transfer)
    stock_services.transfer_approve(
        transfer=stock_services.transfer_create(
            source=dc, destination=store2, lines=[(products[9], 5)]
        )
    )
    wave = fulfillment_services.pick_wave_create(location=dc)
    pick_all(wave)
    # a parcel of a delivery order picked at the DC
    picked = wave.lines.exclude(allocation=None).values_list("allocation__line__order", flat=True)
    fulfillment_services.package_create(order=Order.objects.get(pk=picked[0]), location=dc)
    for location in (store, store2):
        with contextlib.suppress(NothingToPick):
            fulfillment_services.pick_wave_create(location=location)
    stock_services.stock_reserve(
        product=products[0], location=store, quantity=2, owner_type="manual", owner_id="shelf"
    )
    allocation_services.allocation_run_execute(
        run=allocation_services.allocation_run_create(city=live_city)
    )
    forecasting_services.forecast_run_start(city=live_city, enqueue=False)

    admin = AdminFactory.create(username="fuzz-admin")
    assert web.user is not None
    return Shop(
        users={"admin": admin, "store": store_user, "channel": web.user},
        ids={
            "order_id": ids(Order),
            "transfer_id": ids(Transfer),
            "reservation_id": ids(Reservation),
            "pick_list_id": ids(PickList),
            "line_id": ids(PickLine),
            "package_id": ids(Package),
            "profile_id": ids(RoutingProfile),
            "run_id": sorted({*ids(ForecastRun), *ids(AllocationRun)}),
            "sku": list(Product.objects.values_list("sku", flat=True)),
            "code": list(Location.objects.values_list("code", flat=True))
            + list(Channel.objects.values_list("code", flat=True)),
        },
    )


@pytest.fixture
def server(shop: Shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """gunicorn, 2 workers, on the test database (committed: ``transactional_db``) and the
    suite's Redis; stopped before the tables are flushed. Its port."""
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.REDIS_URL:
        pytest.fail("needs REDIS_URL (a real broker): run it with make test-integration")
    monkeypatch.setenv("DATABASE_URL", database_url())
    monkeypatch.setenv("REDIS_URL", settings.REDIS_URL)
    port = free_port()
    with (tmp_path / "gunicorn.log").open("w+b") as log:
        process = start_gunicorn(port, workers=2, threads=1, log=log)
        try:
            wait_until_answering(process, port, "/api/openapi.json")
            yield port
        finally:
            stop_gunicorn(process)
            print(f"gunicorn log (tail):\n{log_tail(log, 3000)}")
    # Jobs the run queued (forecast runs, allocation runs, routing retries) run nowhere.
    celery_app.control.purge()


def count(failures: list[dict[str, Any]], *kinds: str) -> int:
    """Failures of those kinds (all of them without one)."""
    return sum(f["count"] for f in failures if not kinds or f["type"] in kinds)


@dataclass
class Fuzzing:
    """One identity's ``st run``, started."""

    identity: str
    process: subprocess.Popen[str]
    report: Path


def schema_file(port: int, path: Path) -> Path:
    """The server's OpenAPI schema, fetched once into ``path``: the three runs read it from the
    file instead of asking the server for it together (on a slow machine, three schema builds
    at once on two workers outlast schemathesis' 10 s limit for loading a schema)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json", timeout=120) as got:
        path.write_bytes(got.read())
    return path


def fuzz_start(identity: str, user: User, port: int, config: Path, schema: Path) -> Fuzzing:
    """``st run`` over every operation as ``user``, in the background."""
    report_dir = config.parent
    _, token = api_token_create(user=user, name=f"fuzz {identity}")
    report = report_dir / f"{identity}.json"
    command = [
        str(Path(sys.executable).with_name("st")),
        "--no-color",
        "--config-file",
        str(config),
        "run",
        str(schema),
        "--url",
        f"http://127.0.0.1:{port}",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        os.environ.get("OMNI_FUZZ_CHECKS", ",".join(CHECKS)),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--mode",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "2",
        "--request-timeout",
        "60",
        "--continue-on-failure",
        "--suppress-health-check",
        "all",
        "--output-truncate",
        "false",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        cwd=report_dir,
    )
    return Fuzzing(identity, process, report)


def fuzz_finish(fuzzing: Fuzzing) -> Run:
    """Waits for the run; what its JSON report says."""
    identity, report = fuzzing.identity, fuzzing.report
    output, _ = fuzzing.process.communicate()
    (report.parent / f"{identity}.txt").write_text(output)
    if not report.exists():
        pytest.fail(f"schemathesis wrote no report ({identity}):\n{output[-5000:]}")
    document = json.loads(report.read_text())
    failures = document["failures"]
    return Run(
        identity=identity,
        operations_selected=document["operations"]["selected"],
        operations_tested=document["operations"]["tested"],
        cases=document["test_cases"]["generated"],
        server_errors=count(failures, SERVER_ERROR),
        schema_violations=count(failures) - count(failures, SERVER_ERROR, INVALID_ACCEPTED),
        invalid_accepted=count(failures, INVALID_ACCEPTED),
        seconds=document["running_time"],
        failures=failures,
        errors=document["errors"],
        output=output,
    )


def test_no_server_error_and_no_schema_violation(shop: Shop, server: int, tmp_path: Path) -> None:
    config = shop.config(tmp_path / "schemathesis.toml")
    schema = schema_file(server, tmp_path / "openapi.json")
    # The three identities at once: on two cores one run leaves half the machine idle, and
    # the server answering them side by side is the server as it runs.
    started = [
        fuzz_start(identity, user, server, config, schema) for identity, user in shop.users.items()
    ]
    runs = [fuzz_finish(fuzzing) for fuzzing in started]
    # What the run did through the API (orders cancelled, transfers received, counts...) left
    # the ledger consistent; the suite's autouse fixture checks it again before the flush.
    assert_invariants()

    print("\nschemathesis against gunicorn on PostgreSQL (ledger invariants hold afterwards):")
    for run in runs:
        print(run.line())
        for failure in run.failures:
            print(
                f"  {failure['type']}: {failure['title']} x{failure['count']} "
                f"in {', '.join(failure['operations'])}"
            )
        for error in run.errors:
            print(f"  error: {error['title']} x{error['count']}")
    broken = [run for run in runs if run.failures or run.errors]
    for run in broken:
        print(f"\n---- schemathesis output as {run.identity} (all of it: {tmp_path}) ----")
        print(run.output[-20000:])
    assert all(run.operations_tested == run.operations_selected for run in runs), [
        run.line() for run in runs
    ]
    assert not broken, [run.line() for run in broken]
