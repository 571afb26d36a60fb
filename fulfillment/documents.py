"""The paper of a package, drawn with reportlab: the packing slip that goes in the box (A4) and
the shipping label stuck on it (100 × 150 mm, the common thermal label), its tracking number as
a Code128 barcode.

Both are read-only drawings of what the database holds. Text in the staff member's language
comes from the catalogue; text that is not plain ASCII (a customer's name or address in Chinese,
say) is set in reportlab's built-in Chinese CID font, so no font file ships with Omni. Pages are
written uncompressed: a slip is a few kilobytes either way, and its text stays searchable.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from .models import Package, ShippingService
from .selectors import package_number

LATIN, LATIN_BOLD, CJK = "Helvetica", "Helvetica-Bold", "STSong-Light"
LABEL_SIZE = (100 * mm, 150 * mm)

_fonts_ready = False


def _fonts() -> None:
    global _fonts_ready
    if not _fonts_ready:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK))
        _fonts_ready = True


def _font(text: str, bold: bool = False) -> str:
    if text.isascii():
        return LATIN_BOLD if bold else LATIN
    return CJK


def _text(canvas: Canvas, x: float, y: float, text: str, size: float, bold: bool = False) -> None:
    canvas.setFont(_font(text, bold), size)
    canvas.drawString(x, y, text)


def _right(canvas: Canvas, x: float, y: float, text: str, size: float, bold: bool = False) -> None:
    canvas.setFont(_font(text, bold), size)
    canvas.drawRightString(x, y, text)


def _wrap(text: str, width: float, size: float) -> list[str]:
    """Lines of ``text`` no wider than ``width`` points (by words, or by characters for text
    without spaces, as Chinese addresses are)."""
    font = _font(text)
    words = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current}{joiner}{word}" if current else word
        if pdfmetrics.stringWidth(candidate, font, size) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _canvas(buffer: io.BytesIO, size: tuple[float, float], title: str) -> Canvas:
    _fonts()
    canvas = Canvas(buffer, pagesize=size, pageCompression=0, invariant=1)
    canvas.setTitle(title)
    canvas.setAuthor("Omni")
    return canvas


def _package(package: Package) -> Package:
    return Package.objects.select_related("order", "location__city", "packed_by").get(pk=package.pk)


def _contents(package: Package) -> list[tuple[str, str, int]]:
    """(SKU, name, units) of the package, by SKU."""
    units: dict[tuple[str, str], int] = {}
    for line in package.lines.select_related("allocation__line__product"):
        product = line.allocation.line.product
        key = (product.sku, product.name)
        units[key] = units.get(key, 0) + line.quantity
    return [(sku, name, q) for (sku, name), q in sorted(units.items())]


def _order_number(package: Package) -> str:
    return _("Order %(id)s (%(ext)s)") % {"id": package.order_id, "ext": package.order.external_id}


def packing_slip_pdf(package: Package) -> bytes:
    """A4: the order, the customer and delivery address, each item and its units in this
    package and in the order, "package n of m", who packed it and when."""
    package = _package(package)
    order = package.order
    number = package_number(package)
    buffer = io.BytesIO()
    title = _("Packing slip") + f" {package.pk}"
    canvas = _canvas(buffer, A4, title)
    width, height = A4
    left, y = 20 * mm, height - 25 * mm
    _text(canvas, left, y, _("Packing slip"), 20, bold=True)
    _text(
        canvas,
        width - 80 * mm,
        y,
        _("Package %(n)s of %(of)s") % {"n": number.n, "of": number.of},
        14,
        bold=True,
    )
    y -= 12 * mm
    _text(canvas, left, y, _order_number(package), 13, bold=True)
    y -= 6 * mm
    placed = timezone.localtime(order.created_at)
    _text(canvas, left, y, _("Placed on %(when)s") % {"when": f"{placed:%Y-%m-%d %H:%M}"}, 10)
    y -= 10 * mm
    _text(canvas, left, y, _("Deliver to"), 10, bold=True)
    y -= 5 * mm
    for line in [
        order.customer_name,
        order.customer_phone,
        *_wrap(order.delivery_address, 90 * mm, 11),
    ]:
        if line:
            _text(canvas, left, y, line, 11)
            y -= 5 * mm
    ship_from = package.location
    x2, y2 = width / 2 + 10 * mm, height - 47 * mm
    _text(canvas, x2, y2, _("Shipped from"), 10, bold=True)
    y2 -= 5 * mm
    for line in [ship_from.name, ship_from.code, ship_from.city.name if ship_from.city else ""]:
        if line:
            _text(canvas, x2, y2, line, 11)
            y2 -= 5 * mm
    y = min(y, y2) - 8 * mm
    ordered = {ln.product.sku: ln.quantity for ln in order.lines.select_related("product")}
    _text(canvas, left, y, _("SKU"), 10, bold=True)
    _text(canvas, left + 40 * mm, y, _("Item"), 10, bold=True)
    _right(canvas, width - 45 * mm, y, _("In this package"), 10, bold=True)
    _right(canvas, width - 20 * mm, y, _("Ordered"), 10, bold=True)
    y -= 2 * mm
    canvas.line(left, y, width - 20 * mm, y)
    y -= 6 * mm
    total = 0
    for sku, name, units in _contents(package):
        if y < 40 * mm:
            canvas.showPage()
            y = height - 25 * mm
        _text(canvas, left, y, sku, 11, bold=True)
        for i, part in enumerate(_wrap(name, 80 * mm, 11)):
            _text(canvas, left + 40 * mm, y - i * 5 * mm, part, 11)
        _right(canvas, width - 45 * mm, y, str(units), 11, bold=True)
        _right(canvas, width - 20 * mm, y, str(ordered.get(sku, "")), 11)
        total += units
        y -= max(1, len(_wrap(name, 80 * mm, 11))) * 5 * mm + 3 * mm
    canvas.line(left, y + 1 * mm, width - 20 * mm, y + 1 * mm)
    y -= 5 * mm
    _text(canvas, left, y, _("%(units)s units in this package") % {"units": total}, 11, bold=True)
    y -= 12 * mm
    packed_by = package.packed_by.get_username() if package.packed_by else "—"
    when = timezone.localtime(package.closed_at or package.created_at)
    _text(
        canvas,
        left,
        y,
        _("Packed by %(who)s on %(when)s") % {"who": packed_by, "when": f"{when:%Y-%m-%d %H:%M}"},
        10,
    )
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _service_label(service: str) -> str:
    labels = {
        ShippingService.STANDARD: _("Standard"),
        ShippingService.EXPRESS: _("Express"),
        ShippingService.SAME_DAY: _("Same day"),
    }
    return str(labels.get(ShippingService(service), service)) if service else ""


def _block(canvas: Canvas, x: float, y: float, lines: Iterable[str], size: float) -> float:
    for line in lines:
        if line:
            _text(canvas, x, y, line, size)
            y -= size * 1.3
    return y


def shipping_label_pdf(package: Package) -> bytes:
    """100 × 150 mm: carrier and service, the tracking number as a Code128 barcode and in
    text, ship from and ship to, the order number, "package n of m" and the weight."""
    package = _package(package)
    order = package.order
    number = package_number(package)
    buffer = io.BytesIO()
    canvas = _canvas(buffer, LABEL_SIZE, _("Shipping label") + f" {package.pk}")
    width, height = LABEL_SIZE
    left, right = 5 * mm, width - 5 * mm
    y = height - 11 * mm
    carrier = package.carrier or _("Own courier")
    _text(canvas, left, y, carrier, 16, bold=True)
    service = _service_label(package.service)
    if service:
        canvas.setFont(_font(service, True), 12)
        canvas.drawRightString(right, y, service)
    y -= 4 * mm
    canvas.line(left, y, right, y)
    tracking = package.tracking_number or str(package.pk)
    barcode = Code128(tracking, barHeight=22 * mm, barWidth=0.42 * mm, humanReadable=False)
    if barcode.width > right - left:  # a long number: narrower bars, still within the label
        barcode = Code128(
            tracking,
            barHeight=22 * mm,
            barWidth=(right - left) / barcode.width * 0.42 * mm,
            humanReadable=False,
        )
    y -= 26 * mm
    barcode.drawOn(canvas, (width - barcode.width) / 2, y)
    y -= 5 * mm
    canvas.setFont(LATIN_BOLD, 12)
    canvas.drawCentredString(width / 2, y, tracking)
    y -= 4 * mm
    canvas.line(left, y, right, y)
    y -= 6 * mm
    _text(canvas, left, y, _("Ship to"), 9, bold=True)
    y -= 6 * mm
    to_lines = [
        order.customer_name,
        order.customer_phone,
        *_wrap(order.delivery_address, 88 * mm, 12),
    ]
    y = _block(canvas, left, y, to_lines, 12)
    y -= 2 * mm
    canvas.line(left, y, right, y)
    y -= 5 * mm
    _text(canvas, left, y, _("Ship from"), 9, bold=True)
    y -= 5 * mm
    location = package.location
    city = location.city.name if location.city else ""
    y = _block(canvas, left, y, [f"{location.name} ({location.code})", city], 10)
    y -= 1 * mm
    canvas.line(left, y, right, y)
    y -= 7 * mm
    _text(canvas, left, y, _order_number(package), 12, bold=True)
    y -= 9 * mm
    _text(
        canvas,
        left,
        y,
        _("Package %(n)s of %(of)s") % {"n": number.n, "of": number.of},
        18,
        bold=True,
    )
    if package.weight_grams:
        weight = f"{package.weight_grams / 1000:.2f} kg"
        canvas.setFont(LATIN_BOLD, 14)
        canvas.drawRightString(right, y, weight)
    canvas.setFont(LATIN, 7)
    canvas.drawString(left, 4 * mm, f"Omni · {package.pk}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
