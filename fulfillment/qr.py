"""QR pictures of pickup codes (segno): SVG for pages and e-mails, PNG for apps and print."""

from __future__ import annotations

import io

import segno


def qr_svg(token: str, *, scale: int = 4) -> str:
    out = io.BytesIO()
    segno.make(token, error="m").save(out, kind="svg", scale=scale, xmldecl=False, border=2)
    return out.getvalue().decode()


def qr_png(token: str, *, scale: int = 6) -> bytes:
    out = io.BytesIO()
    segno.make(token, error="m").save(out, kind="png", scale=scale, border=2)
    return out.getvalue()
