"""The badges the tool issues (through the services, from real awards) pass Digital Bazaar's verifier,
offline, with their served status lists; a revoked one and a tampered one fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lti_tool import create_app
from lti_tool.db import Database
from lti_tool.db.records_models import Award
from lti_tool.services import badges, revocation
from tests import scenario
from tests.conftest import app_config
from tests.integration.test_ob3_independent_verifier import run_verifier, verifier  # noqa: F401 (fixture)


@pytest.fixture
def db(sqlite_url: str, tmp_path: Path) -> Iterator[Database]:
    """One database is enough here (the signing is the same on both; PostgreSQL's badge path is in
    test_records_lifecycle.py), and each node run takes a second."""
    app = create_app(app_config(sqlite_url, tmp_path, BASE_URL="https://tool.example.edu"))
    yield app.extensions["db"]
    app.extensions["db"].dispose()


def _served(db: Database, document: dict[str, Any]) -> dict[str, Any]:
    """What a verifier would fetch at the badge's status list URL."""
    url = document["credentialStatus"]["statusListCredential"]
    key_id, number = (int(p) for p in url.rsplit("/", 2)[1:])
    return {url: badges.status_list_credential(db, key_id, number)}


def test_issued_badges_verify_independently(db: Database, verifier: Path) -> None:  # noqa: F811
    c = scenario.course(db)
    learner, assessor = c.person("Zoë"), c.person("Ada", scenario.ASSESSOR)
    for key in c.map().stacks[0].credential_ids:
        scenario.earn(c, learner, assessor, key)
    with db.read() as session:
        awards = list(session.scalars(select(Award).order_by(Award.id)))
    credential, stack = awards[0], awards[-1]
    for award in (credential, stack):
        document = badges.badge(db, award.public_id)
        result = run_verifier(verifier, document, _served(db, document))
        assert result["verified"] is True, result
    tampered = {**badges.badge(db, stack.public_id), "name": "Working Memory"}
    assert run_verifier(verifier, tampered, _served(db, tampered))["verified"] is False
    revocation.revoke_credential(db, credential.public_id, "Overturned on appeal.")
    document = badges.badge(db, credential.public_id)
    result = run_verifier(verifier, document, _served(db, document))
    assert result["verified"] is False and result["revoked"] is True
