"""Schemathesis against the office pull API, from the OpenAPI document the app serves: requests generated
from the document (valid ones and, for the parameters, invalid ones) with a live token and records in the
database, on SQLite and PostgreSQL. No response may be a server error or break the document's schema,
status codes or content types; every refused request is a documented 400/401."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lti_tool import create_app
from lti_tool.services import office_tokens
from tests.conftest import app_config
from tests.office_records import records_in, write_offices

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]


@pytest.fixture
def office_app(database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    offices = write_offices(tmp_path / "offices")
    app = create_app(app_config(database_url, tmp_path, OFFICES_DIR=str(offices)))
    db = app.extensions["db"]
    records = records_in(db, app.extensions["offices"])
    start = datetime(2026, 12, 1, tzinfo=UTC)
    names = ["Zoë Ångström", 'O\'Brien, "Mae"', "=cmd|' /C calc'!A0", "李小龍", "Ada\nLovelace"]
    for i, name in enumerate(names):
        user = records.educator(name, licence=f"{i:07d}")
        records.record("nc-dpi", user, at=start + timedelta(days=i))
        records.record(
            "nc-dpi", user, at=start + timedelta(days=i, hours=1), revoke_at=start + timedelta(days=9)
        )
        records.record("nv-ccsd", user, at=start)
    token = office_tokens.create_token(db, "nc-dpi", app.extensions["offices"]).token
    yield app, token
    db.dispose()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_pull_api_keeps_to_its_openapi_document(office_app: tuple[Flask, str], mode: GenerationMode) -> None:
    # Each operation driven with hypothesis directly: schemathesis' pytest loaders (from_fixture) do not run
    # under pytest 9, and the app needs this test's database anyway.
    app, token = office_app
    schema = schemathesis.openapi.from_wsgi("/api/offices/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # from_wsgi leaves out the document's own path (test_office_api checks it is served).
    assert "/records" in {op.path for op in operations}
    statuses: dict[str, set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
            statuses.setdefault(case.operation.path, set()).add(response.status_code)

        run()
    # The run reached records (not only refusals), and invalid parameters were refused as documented.
    assert 200 in statuses["/records"]
    if mode is GenerationMode.NEGATIVE:
        assert 400 in statuses["/records"]
