"""The warehouse floor at volume, on PostgreSQL: does a picker's work cost the same whatever the
size of the wave?

Not a test: it prints figures and, for each, the ratio of a 2,000-line wave to a 50-line wave
measured in the same run on the same database (1.0 means the cost does not grow with the
wave). Each run lays out a fresh DC (bins, a home bin per SKU, stock) with 2,050 transfer lines
waiting (410 transfers of 5 lines: each a tote), then:

* wave creation  - ``pick_wave_create`` of one 2,000-line wave and one 50-line wave, and
                   ``pick_wave_plan`` (the preview) over what waits;
* progress       - ``selectors.pick_progress`` (the handheld's current stop), server time;
* scan (service) - ``services.pick_task_scan`` round trip, one unit per scan;
* scan (API)     - ``POST /api/v1/pick-lists/{id}/scans`` through Django's test client (the
                   whole request: session, middleware, JSON), and ``GET .../progress``.

More sections (the handheld page's bytes and server time) plug in by adding a function to
``SECTIONS``: it gets the ``Floor`` and returns rows of (name, small figure, large figure).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni_bench_floor python bench/floor.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omni_bench_floor")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings.base")

from bench.postgres import ensure_database, setup_django  # noqa: E402

if TYPE_CHECKING:
    from django.test import Client

    from fulfillment.models import PickList
    from inventory.models import Location, Product
    from omni.models import User

SKUS = 2050
LINES_PER_TRANSFER = 5
UNITS_PER_LINE = 3
LARGE, SMALL = 2000, 50


@dataclass
class Floor:
    """What every section measures on: the two waves (50 and 2,000 lines), a warehouse user
    working at the DC and a logged-in test client."""

    dc: Location
    small: PickList
    large: PickList
    user: User
    client: Client
    wave_seconds: dict[str, float]


Row = tuple[str, float, float]  # (figure, 50-line wave, 2,000-line wave)
Section = Callable[[Floor, int], list[Row]]


def _products() -> list[Product]:
    from inventory.models import Product

    skus = [f"FLOOR-{n:05d}" for n in range(SKUS)]
    existing = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    Product.objects.bulk_create(
        [
            Product(sku=s, name=f"Floor item {s}", barcode=f"69{n:011d}")
            for n, s in enumerate(skus)
            if s not in existing
        ]
    )
    return list(Product.objects.filter(sku__in=skus).order_by("sku"))


def build() -> Floor:
    """A fresh DC and store for this run (codes carry the time), bins and home bins for every
    SKU, stock, 410 approved transfers waiting; then a 50-line wave and a 2,000-line wave."""
    from django.test import Client

    from fulfillment import services as fulfil
    from inventory import services
    from inventory.models import LocationKind
    from omni.models import City, Role, User

    run = time.strftime("%H%M%S")
    city, _ = City.objects.get_or_create(
        code="floor", defaults={"name": "Floor", "latitude": 30.2, "longitude": 120.2}
    )
    dc = services.location_save(
        code=f"FLOOR-DC-{run}", name="Floor DC", kind=LocationKind.WAREHOUSE, city=city
    )
    store = services.location_save(
        code=f"FLOOR-S-{run}", name="Floor store", kind=LocationKind.STORE, city=city
    )
    products = _products()
    services.bins_lay_out(location=dc, zones=["A", "B"], aisles=10, bays=26, levels=4)
    services.home_bins_assign(location=dc, products=products)
    services.stock_receive(location=dc, lines=[(p, 10) for p in products], supplier="bench")
    started = time.perf_counter()
    for start in range(0, SKUS, LINES_PER_TRANSFER):
        chunk = products[start : start + LINES_PER_TRANSFER]
        services.transfer_approve(
            transfer=services.transfer_create(
                source=dc, destination=store, lines=[(p, UNITS_PER_LINE) for p in chunk]
            )
        )
    took = time.perf_counter() - started
    print(f"  {SKUS // LINES_PER_TRANSFER} transfers approved in {took:.1f} s")
    user = User.objects.filter(username="floor-bench").first()
    if user is None:
        user = User.objects.create_user(username="floor-bench", password="x", role=Role.WAREHOUSE)
    user.locations.add(dc)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    fulfil.pick_wave_plan(location=dc, limits=fulfil.WaveLimits.none())
    seconds["plan (all 2,050 lines waiting)"] = time.perf_counter() - started
    started = time.perf_counter()
    small = fulfil.pick_wave_create(
        location=dc, limits=fulfil.WaveLimits(orders=None, lines=SMALL, units=None)
    )
    seconds["small"] = time.perf_counter() - started
    started = time.perf_counter()
    large = fulfil.pick_wave_create(
        location=dc, limits=fulfil.WaveLimits(orders=None, lines=LARGE, units=None)
    )
    seconds["large"] = time.perf_counter() - started
    assert (small.lines_count, large.lines_count) == (SMALL, LARGE), (small, large)
    client = Client()
    client.force_login(user)
    return Floor(dc=dc, small=small, large=large, user=user, client=client, wave_seconds=seconds)


def _timed(work: Callable[[], Any], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _p(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def _pair(name: str, small: list[float], large: list[float]) -> list[Row]:
    return [
        (f"{name} p50 (ms)", _p(small, 50), _p(large, 50)),
        (f"{name} p95 (ms)", _p(small, 95), _p(large, 95)),
    ]


def section_waves(floor: Floor, rounds: int) -> list[Row]:
    s = floor.wave_seconds
    print(f"  wave plan over everything waiting: {s['plan (all 2,050 lines waiting)']:.2f} s")
    return [("wave creation (s)", s["small"], s["large"])]


def section_progress(floor: Floor, rounds: int) -> list[Row]:
    from fulfillment import selectors
    from fulfillment.models import PickList

    def progress(wave: PickList) -> Callable[[], Any]:
        return lambda: selectors.pick_progress(PickList.objects.get(pk=wave.pk))

    return _pair(
        "progress (service)",
        _timed(progress(floor.small), rounds),
        _timed(progress(floor.large), rounds),
    )


def _next_item(wave: PickList) -> str:
    from fulfillment import selectors

    task = selectors.pick_progress(wave).current
    assert task is not None, "the wave ran out of units; lower --rounds"
    return task.product.barcode or task.product.sku


def section_scan_service(floor: Floor, rounds: int) -> list[Row]:
    from fulfillment import services

    def scan(wave: PickList) -> list[float]:
        samples = []
        for _ in range(rounds):
            item = _next_item(wave)
            started = time.perf_counter()
            services.pick_task_scan(
                pick_list=wave, scan_id=uuid.uuid4(), scanned=item, actor=floor.user
            )
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    return _pair("scan (service)", scan(floor.small), scan(floor.large))


def section_scan_api(floor: Floor, rounds: int) -> list[Row]:
    def scan(wave: PickList) -> list[float]:
        samples = []
        url = f"/api/v1/pick-lists/{wave.pk}/scans"
        for _ in range(rounds):
            body = {"scan_id": str(uuid.uuid4()), "scan": _next_item(wave)}
            started = time.perf_counter()
            response = floor.client.post(url, body, content_type="application/json")
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content[:300]
        return samples

    def progress(wave: PickList) -> list[float]:
        url = f"/api/v1/pick-lists/{wave.pk}/progress"
        return _timed(lambda: floor.client.get(url), rounds)

    return _pair("scan (API)", scan(floor.small), scan(floor.large)) + _pair(
        "progress (API)", progress(floor.small), progress(floor.large)
    )


SECTIONS: list[Section] = [section_waves, section_progress, section_scan_service, section_scan_api]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=40,
        help="samples per figure (at most 70: the small wave has 150 units)",
    )
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])
    setup_django()
    print("building the floor (fresh DC, 2,050 SKUs in bins, 410 transfers waiting)…")
    floor = build()
    rows: list[Row] = []
    for section in SECTIONS:
        rows.extend(section(floor, args.rounds))
    print(f"\n{'figure':<28} {'50 lines':>10} {'2,000 lines':>12} {'ratio':>7}")
    for name, small, large in rows:
        ratio = large / small if small else float("nan")
        print(f"{name:<28} {small:>10.2f} {large:>12.2f} {ratio:>7.2f}")


if __name__ == "__main__":
    main()
