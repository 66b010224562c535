"""schemathesis probes /api/v1 against its own OpenAPI document, through the ASGI app: with an editor's API
token, no request (however odd) gets a 5xx, and every answer matches the document (status, content type,
body); without credentials, or with a wrong token, every route answers 401 or 403.

(schemathesis' pytest plugin does not run under pytest 9, so the operations are walked here, each with its
own hypothesis strategy.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from publisher.db import session_scope
from publisher.models.base import utcnow
from publisher.services.subscribers import subscribe
from publisher.web.app import create_app
from tests.support.consent import add_post, make_list
from tests.support.editors import ADMIN, make_api_token, make_editor

ANSWERS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def operations(settings):
    """A list (#1) with a reader and a post to send, so the probes meet real rows as well as missing ones."""
    with session_scope() as session:
        mailing_list = make_list(session, name="news")
        add_post(session, mailing_list, "A post", at=utcnow() - timedelta(hours=1))
        subscribe(session, mailing_list, email="reader@example.com", confirmed=True)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app()).include(path_regex="^/api/v1/")
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 25  # every route of the API is probed
    return found


def _probe(operation, examples: int, check) -> None:
    @given(case=operation.as_strategy())
    @hypothesis_settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))
    def run(case):
        check(case)

    run()


def test_no_request_breaks_the_api_or_its_document(operations):
    token = make_api_token(make_editor(ADMIN))
    seen: dict[str, set[int]] = {}

    def answered(case):
        answer = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=ANSWERS)
        seen.setdefault(f"{case.method} {case.path}", set()).add(answer.status_code)

    for operation in operations:
        _probe(operation, 15, answered)
    # The probes reached real work, not only refusals: most routes answered 2xx at least once.
    succeeded = [route for route, statuses in seen.items() if any(200 <= s < 300 for s in statuses)]
    assert len(succeeded) >= len(seen) // 2, seen


def test_without_credentials_every_route_refuses(operations):
    def refused(case):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            answer = case.call(headers=headers)
            assert answer.status_code in (401, 403), (case.method, case.formatted_path, answer.status_code)

    for operation in operations:
        _probe(operation, 3, refused)
