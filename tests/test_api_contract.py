"""The API's contract with its clients, checked on the schema it publishes.

Every operation documents each error status it can answer, with the one error shape (the rules
are in docs/api.md, "Errors"; ``omni.api.error_statuses`` applies them), the error table of
docs/api.md names every status the schema documents, and every query filter and body goes
through the base schemas that hold the input limits (``omni.schemas``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ninja.params.models import ParamModel
from pydantic import BaseModel

from omni.api import api
from omni.schemas import InputSchema, QuerySchema

pytestmark = pytest.mark.django_db

UNSAFE = {"post", "put", "patch", "delete"}
ERROR_REF = "#/components/schemas/ErrorOut"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "api.md"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return api.get_openapi_schema()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def expected_errors(method: str, operation: dict[str, Any]) -> set[int]:
    """The design (docs/api.md), read from what the schema says the operation takes."""
    where = {p["in"] for p in operation.get("parameters", [])}
    has_body = "requestBody" in operation
    unsafe = method in UNSAFE
    expected = set()
    if has_body or "path" in where:
        expected.add(400)  # malformed body, NUL in the path, bad Idempotency-Key
    if operation.get("security"):
        expected |= {401, 403}
    if where or has_body:
        expected |= {404, 422}
    if unsafe or "path" in where:
        expected.add(409)
    if unsafe:
        expected.add(413)
    return expected


def test_the_schema_served_is_the_one_checked(client: Any) -> None:
    served = client.get("/api/openapi.json")
    assert served.status_code == 200
    assert served.json()["paths"].keys() == api.get_openapi_schema()["paths"].keys()


def test_every_operation_documents_its_errors_with_the_error_shape(
    schema: dict[str, Any],
) -> None:
    missing, wrong_shape = [], []
    for method, path, operation in operations(schema):
        documented = {int(status) for status in operation["responses"]}
        lacking = expected_errors(method, operation) - documented
        if lacking:
            missing.append(f"{method.upper()} {path}: {sorted(lacking)}")
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                ref = response["content"]["application/json"]["schema"].get("$ref")
                if ref != ERROR_REF:
                    wrong_shape.append(f"{method.upper()} {path} {status}: {ref}")
    assert not missing, "\n".join(missing)
    assert not wrong_shape, "\n".join(wrong_shape)


def test_the_rules_match_what_operations_answer(schema: dict[str, Any]) -> None:
    """A few operations of each shape, as a client sees them in the schema."""

    def statuses(method: str, path: str) -> set[int]:
        answered = {int(s) for s in schema["paths"][path][method]["responses"] if int(s) >= 400}
        # the web server's own refusals (a request line or headers too long) are on every one
        assert {414, 431} <= answered
        return answered - {414, 431}

    # a list: bad filters are 422, a role may be refused, a filter may name nothing
    assert statuses("get", "/api/v1/orders") == {401, 403, 404, 422}
    assert statuses("get", "/api/v1/forecast-runs") == {401, 403, 404, 422}
    # an object by its path
    assert statuses("get", "/api/v1/transfers/{transfer_id}") == {400, 401, 403, 404, 409, 422}
    # a write with a body
    assert statuses("post", "/api/v1/receipts") == {400, 401, 403, 404, 409, 413, 422}
    # operations that declare more than their shape: a run not finished yet; refused codes
    assert 409 in statuses("get", "/api/v1/forecasts")
    assert 429 in statuses("post", "/api/v1/pickup/redeem")
    assert 429 in statuses("post", "/api/v1/pickup/redeem-short-code")


def test_the_docs_error_table_names_every_documented_status(schema: dict[str, Any]) -> None:
    text = DOCS.read_text()
    table = text[text.index("## Errors") :].split("\n## ")[0]
    in_docs = {int(s) for s in re.findall(r"^\| (\d{3}) \|", table, flags=re.M)}
    in_schema = {
        int(status)
        for _, _, operation in operations(schema)
        for status in operation["responses"]
        if int(status) >= 400
    }
    assert in_schema <= in_docs, sorted(in_schema - in_docs)


def _models(annotation: Any) -> list[type[BaseModel]]:
    found = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for arg in getattr(annotation, "__args__", ()):
        found.extend(_models(arg))
    return found


def test_every_filter_and_body_holds_the_input_limits() -> None:
    """A query filter is a QuerySchema and a body an InputSchema (whose validators refuse
    control characters, integers beyond 64 bits, non-finite numbers and dates out of range);
    only path parameters are ninja's own (a path with NUL is refused before any view)."""
    loose = []
    for bound in api._get_bound_routers():
        for path, view in bound.path_operations.items():
            for operation in view.operations:
                for model in operation.signature.models:
                    assert issubclass(model, ParamModel)
                    source = model.__ninja_param_source__
                    if source == "path":
                        continue
                    base = InputSchema if source == "body" else QuerySchema
                    for name, field in model.model_fields.items():
                        inner = _models(field.annotation)
                        if not inner or not all(issubclass(m, base) for m in inner):
                            loose.append(f"{path} {source} {name}: {field.annotation}")
    assert not loose, "\n".join(loose)
