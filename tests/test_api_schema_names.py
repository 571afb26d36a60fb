"""Every schema of the API has a name of its own: two classes of one name become one component
of the OpenAPI document, and the replies of one of them then violate it."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from ninja import Schema

from omni.api import api

APPS = tuple(settings.PROJECT_APPS)


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


def test_no_two_schema_classes_share_a_name():
    api.get_openapi_schema()  # every router imported, every schema built
    by_name: dict[str, set[str]] = defaultdict(set)
    for cls in _subclasses(Schema):
        if cls.__module__.split(".")[0] in APPS:
            by_name[cls.__name__].add(f"{cls.__module__}.{cls.__qualname__}")
    shared = {name: sorted(where) for name, where in by_name.items() if len(where) > 1}
    assert not shared, shared


def test_the_receipt_reply_and_the_allocation_lines_are_their_own_components():
    components = api.get_openapi_schema()["components"]["schemas"]
    assert "quantity" in components["ReceiptLineOut"]["properties"]
    assert "packs" in components["AllocationLineOut"]["properties"]
    assert "LineOut" not in components
