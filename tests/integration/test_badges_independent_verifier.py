"""The badges the tool issues (through the services, from real awards) pass Digital Bazaar's verifier,
offline, with their served status lists (and, for an https issuer, its served profile); a revoked one and a
tampered one fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lti_tool import create_app
from lti_tool.db import Database
from lti_tool.db.records_models import Award
from lti_tool.services import badges, records_settings, revocation
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


@pytest.fixture
def https_db(sqlite_url: str, tmp_path: Path) -> Iterator[Database]:
    """The same with ``BADGE_ISSUER=https``; the records settings are put back afterwards."""
    before = records_settings.current()
    config = app_config(sqlite_url, tmp_path, BASE_URL="https://tool.example.edu", BADGE_ISSUER="https")
    app = create_app(config)
    yield app.extensions["db"]
    app.extensions["db"].dispose()
    records_settings.configure(before)


def _served(db: Database, document: dict[str, Any]) -> dict[str, Any]:
    """What a verifier would fetch: the badge's status list, and an https issuer's profile."""
    url = document["credentialStatus"]["statusListCredential"]
    if url.startswith(badges.issuer_status_list_url(0).rsplit("/", 1)[0] + "/"):
        return {
            url: badges.issuer_status_list_credential(db, int(url.rsplit("/", 1)[1])),
            badges.issuer_id(): badges.issuer_profile(db),
        }
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


def test_https_issuer_badges_verify_independently(https_db: Database, verifier: Path) -> None:  # noqa: F811
    db = https_db
    c = scenario.course(db)
    learner, assessor = c.person("Zoë"), c.person("Ada", scenario.ASSESSOR)
    for key in c.map().stacks[0].credential_ids:
        scenario.earn(c, learner, assessor, key)
    with db.read() as session:
        awards = list(session.scalars(select(Award).order_by(Award.id)))
    credential, stack = awards[0], awards[-1]
    first = badges.badge(db, credential.public_id)
    assert first["issuer"]["id"] == "https://tool.example.edu/badges/issuer"  # type: ignore[index]
    assert run_verifier(verifier, first, _served(db, first)) == {
        "verified": True,
        "revoked": False,
        "error": None,
    }
    # After a rotation the profile lists both keys: the old badge still verifies, the list is signed by the
    # new key, and a badge of the new key verifies too.
    badges.rotate_key(db)
    second = badges.badge(db, stack.public_id)
    assert second["proof"]["verificationMethod"] != first["proof"]["verificationMethod"]  # type: ignore[index]
    for document in (first, second):
        result = run_verifier(verifier, document, _served(db, document))
        assert result["verified"] is True, result
    # The profile must authorise the key for assertions (the library checks it), and must be there at all.
    served = _served(db, first)
    profile = served[badges.issuer_id()]
    served[badges.issuer_id()] = {**profile, "assertionMethod": profile["assertionMethod"][1:]}
    result = run_verifier(verifier, first, served)
    assert result["verified"] is False and "not authorized" in result["error"], result
    assert run_verifier(verifier, first, {})["verified"] is False
    tampered = {**second, "name": "Working Memory"}
    assert run_verifier(verifier, tampered, _served(db, tampered))["verified"] is False
    revocation.revoke_credential(db, credential.public_id, "Overturned on appeal.")
    result = run_verifier(verifier, first, _served(db, first))
    assert result["verified"] is False and result["revoked"] is True
