"""Badges with an https issuer (``BADGE_ISSUER=https``) through the services and HTTP, on SQLite and
PostgreSQL: the issuer id and verification methods, the served profile that lists every key (retired ones
too), the issuer's status list, and switching modes (new badges only)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from sqlalchemy import select

from lti_tool import create_app
from lti_tool.config import Settings
from lti_tool.db import Database
from lti_tool.db.records_models import Award
from lti_tool.records.ob3 import did_key, signing, status_list
from lti_tool.services import badges, records_settings, revocation
from lti_tool.services.errors import NotFound
from tests import scenario
from tests.conftest import app_config

BASE = "https://tool.example.edu"
ISSUER = f"{BASE}/badges/issuer"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app in https mode; the records settings it configured are put back afterwards."""
    before = records_settings.current()
    application = create_app(app_config(database_url, tmp_path, BASE_URL=BASE, BADGE_ISSUER="https"))
    yield application
    application.extensions["db"].dispose()
    records_settings.configure(before)


def _stack(db: Database) -> tuple[Award, Award]:
    """A learner's first credential award and their stack award."""
    c = scenario.course(db)
    learner, assessor = c.person("Zoë"), c.person("Ada", scenario.ASSESSOR)
    for key in c.map().stacks[0].credential_ids:
        scenario.earn(c, learner, assessor, key)
    with db.read() as session:
        awards = list(session.scalars(select(Award).where(Award.user_id == learner).order_by(Award.id)))
    return awards[0], awards[-1]


def _number(document: dict[str, Any]) -> int:
    return int(document["credentialStatus"]["statusListCredential"].rsplit("/", 1)[1])


def test_https_badges_name_the_served_profile_and_its_status_list(db: Database) -> None:
    credential, stack = _stack(db)
    first = badges.badge(db, credential.public_id)
    [key] = badges.keys(db)
    multibase = key.did.removeprefix("did:key:")
    assert first["issuer"] == {
        "id": ISSUER,
        "type": ["Profile"],
        "name": "Micro-credential Stacks",
        "url": BASE,
    }
    assert first["proof"]["verificationMethod"] == f"{ISSUER}#key-{multibase}"  # type: ignore[index]
    entry: dict[str, str] = first["credentialStatus"]  # type: ignore[assignment]
    assert entry["statusListCredential"] == f"{BASE}/badges/status/issuer/{credential.id // badges.LIST_SIZE}"
    assert entry["statusListIndex"] == str(credential.id % badges.LIST_SIZE)
    resolve = badges.resolve_key(db)
    assert signing.verify(first, resolve)
    assert not signing.verify({**first, "name": "Something else"}, resolve)
    assert not signing.verify(first, did_key.resolve_did_key)  # the key is only in the profile

    listing = badges.issuer_status_list_credential(db, _number(first))
    assert listing["issuer"] == ISSUER and listing["id"] == entry["statusListCredential"]
    assert signing.verify(listing, resolve)
    assert status_list.revoked_in(listing) == set()
    revocation.revoke_credential(db, credential.public_id, "Overturned on appeal.")
    listing = badges.issuer_status_list_credential(db, _number(first))
    assert status_list.revoked_in(listing) == {credential.id % badges.LIST_SIZE, stack.id % badges.LIST_SIZE}


def test_the_profile_lists_every_key_and_old_badges_verify_after_rotation(db: Database) -> None:
    credential, stack = _stack(db)
    old = badges.badge(db, credential.public_id)
    badges.rotate_key(db)
    new = badges.badge(db, stack.public_id)
    retired, current = badges.keys(db)
    assert retired.retired_at is not None and current.retired_at is None
    methods = [f"{ISSUER}#key-{k.did.removeprefix('did:key:')}" for k in (retired, current)]
    assert old["proof"]["verificationMethod"] == methods[0]  # type: ignore[index]
    assert new["proof"]["verificationMethod"] == methods[1]  # type: ignore[index]

    profile = badges.issuer_profile(db)
    assert profile["id"] == ISSUER and profile["type"] == ["Profile"]
    assert [m["id"] for m in profile["verificationMethod"]] == methods  # type: ignore[attr-defined]
    assert {m["type"] for m in profile["verificationMethod"]} == {"Multikey"}  # type: ignore[attr-defined]
    assert {m["controller"] for m in profile["verificationMethod"]} == {ISSUER}  # type: ignore[attr-defined]
    assert profile["assertionMethod"] == methods

    resolve = badges.resolve_key(db)
    assert signing.verify(old, resolve) and signing.verify(new, resolve)
    # One list for the issuer, now signed by the current key (a verifier finds it in the profile too).
    listing = badges.issuer_status_list_credential(db, _number(old))
    assert listing["proof"]["verificationMethod"] == methods[1]  # type: ignore[index]
    assert signing.verify(listing, resolve)
    # A key the database does not hold is not the issuer's, whatever the method says.
    stranger = Ed25519PrivateKey.generate()
    unsigned = {k: v for k, v in old.items() if k != "proof"}
    forged = signing.sign(
        unsigned,
        stranger,
        verification_method=f"{ISSUER}#key-{did_key.public_key_multibase(stranger.public_key())}",
        created="2025-01-01T00:00:00Z",
    )
    assert not signing.verify(forged, resolve)


def test_switching_modes_changes_new_badges_only(db: Database) -> None:
    credential, stack = _stack(db)
    https_mode = records_settings.current()
    records_settings.configure(replace(https_mode, badge_issuer="did:key"))
    before = badges.badge(db, credential.public_id)
    records_settings.configure(https_mode)
    after = badges.badge(db, stack.public_id)
    assert before["issuer"]["id"].startswith("did:key:z6Mk")  # type: ignore[index]
    assert after["issuer"]["id"] == ISSUER  # type: ignore[index]
    assert badges.badge(db, credential.public_id) == before  # kept as signed
    resolve = badges.resolve_key(db)
    assert signing.verify(before, resolve) and signing.verify(after, resolve)
    # The did:key badge's own list is still served, by its key, under its did:key.
    url: str = before["credentialStatus"]["statusListCredential"]  # type: ignore[index]
    key_id, number = (int(p) for p in url.rsplit("/", 2)[1:])
    old_list = badges.status_list_credential(db, key_id, number)
    assert old_list["issuer"] == before["issuer"]["id"]  # type: ignore[index]
    assert signing.verify(old_list, did_key.resolve_did_key)


def test_the_profile_and_lists_are_served(client: Any, db: Database) -> None:
    credential, _ = _stack(db)
    document = client.get(f"/records/{credential.public_id}/badge.json").get_json()
    profile = client.get("/badges/issuer")
    assert profile.status_code == 200 and profile.headers["Access-Control-Allow-Origin"] == "*"
    assert profile.get_json() == badges.issuer_profile(db)
    listing = client.get(document["credentialStatus"]["statusListCredential"].removeprefix(BASE))
    assert listing.status_code == 200, listing.get_data(as_text=True)
    assert signing.verify(listing.get_json(), badges.resolve_key(db))
    assert client.get("/badges/status/issuer/16385").status_code == 404
    # The did:key lists are numbered from 0 as well.
    key_id = badges.keys(db)[0].id
    assert client.get(f"/badges/status/{key_id}/0").status_code == 200


def test_the_status_list_of_an_issuer_without_keys_is_unknown(db: Database) -> None:
    with pytest.raises(NotFound):
        badges.issuer_status_list_credential(db, 0)


@pytest.mark.parametrize(("value", "mode"), [(None, "did:key"), ("https", "https"), (" HTTPS ", "https")])
def test_the_setting(tmp_path: Path, value: str | None, mode: str) -> None:
    overrides = {"BADGE_ISSUER": value} if value else {}
    assert Settings.from_env(tmp_path, overrides).badge_issuer == mode


def test_a_wrong_setting_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="BADGE_ISSUER must be did:key or https"):
        Settings.from_env(tmp_path, {"BADGE_ISSUER": "did:web"})
