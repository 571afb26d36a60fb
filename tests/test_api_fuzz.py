"""Schemathesis drives every operation of the OpenAPI schema with generated input, valid and
not: no answer may be a 5xx, every error has the shape, and the ledger stays consistent."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from inventory import services
from inventory.invariants import assert_invariants
from omni.services import api_token_create
from omni.wsgi import application
from tests.factories import AdminFactory

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.fixture
def token(dc, store, product, product2) -> str:
    services.stock_receive(location=dc, lines=[(product, 50), (product2, 50)])
    services.stock_receive(location=store, lines=[(product, 5)])
    admin = AdminFactory.create(username="fuzz-admin")
    _, raw = api_token_create(user=admin, name="fuzz")
    return raw


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_server_errors(case, token):
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"code", "message", "detail"}, body
    assert_invariants()
