"""schemathesis against the served OpenAPI document: every operation of a center's API,
called with generated input by a token that may write, answers without a server error,
with a status, content type, headers and body that the document states."""

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.api import bearer, issue_token
from tests.world import World

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
#: Who calls each part of the API: the role whose data it is, so that the cases reach the
#: endpoints' work and not only their refusals.
CALLER = {"api_reviews": "reviewer", "api_portfolio": "officer", "api_agreements": "admin"}
#: The document's parts (tags: a blueprint's title) by blueprint.
TAGS = {"Calls": "api_calls", "Proposals": "api_proposals", "Reviews": "api_reviews",
        "Portfolio": "api_portfolio", "Agreements": "api_agreements"}
#: Generated cases per operation.
EXAMPLES = 30


@pytest.fixture()
def tokens(app: Flask, world: World) -> dict[str, dict[str, str]]:
    return {role: bearer(issue_token(app, world.a, world.a.emails[role]))
            for role in ("applicant", "reviewer", "officer", "admin")}


def test_every_operation_keeps_to_the_document(app: Flask, world: World, tokens) -> None:
    schema = schemathesis.openapi.from_wsgi(f"/{world.a.slug}/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    assert set(TAGS) <= {tag["name"] for tag in schema.raw_schema["tags"]}
    for operation in operations:
        blueprint = TAGS.get((operation.definition.raw.get("tags") or [""])[0], "")
        _cases(operation, tokens[CALLER.get(blueprint, "applicant")])()


def _cases(operation, headers: dict[str, str]):  # noqa: ANN001, ANN202
    """A hypothesis test calling ``operation`` with generated cases."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case) -> None:  # noqa: ANN001
        case.call_and_validate(headers=headers, checks=CHECKS)

    return call
