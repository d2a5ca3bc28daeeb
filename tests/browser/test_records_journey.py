"""In Chromium: from the fifth earned Executive Function credential to the downloaded certificate, the
public verification page, the signed badge, and the record received by a licensure office's endpoint.

The office is a local receiver on 127.0.0.1 that checks the HMAC signature (tests/records_receiver.py); the
outbox is drained by the same timer ``lti-tool serve`` runs in embedded mode.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from lti_tool.cli.serve import start_outbox_timer
from lti_tool.config import REPO_ROOT
from lti_tool.db.models import Context, User
from lti_tool.records.ob3 import did_key, signing
from tests import scenario
from tests.browser.conftest import serving
from tests.browser.test_evidence_journey import launch
from tests.office_push_support import OFFICE, SECRET_ENV, write_offices
from tests.records_receiver import running_receiver

pytestmark = pytest.mark.browser

SECRET = "office-shared-secret-for-the-journey"
EF = "executive-function"
SCREENSHOT = Path("/tmp/records-page.png")


def _course(server: Any) -> scenario.Course:
    db = server.app.extensions["db"]
    with db.read() as session:
        context = session.scalars(select(Context).where(Context.course_key == "learning-differences")).first()
        assert context is not None
        user = session.scalars(select(User).where(User.name == "Lee Learner")).one()
        return scenario.Course(db, context.id, user.platform_id, "learning-differences"), user.id  # type: ignore[return-value]


def test_fifth_credential_to_certificate_verification_and_office(
    browser: Any, sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with running_receiver(SECRET) as receiver:
        offices = tmp_path / "offices"
        shutil.copytree(REPO_ROOT / "licensure_offices", offices)
        write_offices(offices, receiver.url)
        with serving(sqlite_template, tmp_path, OFFICES_DIR=str(offices)) as server:
            stop = start_outbox_timer(server.app, every=0.3)
            try:
                _journey(browser, server, receiver)
            finally:
                stop.set()


def _journey(browser: Any, server: Any, receiver: Any) -> None:
    learner = launch(browser, server, "learner (Lee Learner)")
    assessor = launch(browser, server, "assessor (Ada Assessor)")
    c, lee = _course(server)  # type: ignore[misc]
    with c.db.read() as session:
        ada = session.scalars(select(User.id).where(User.name == "Ada Assessor")).one()
    keys = list(c.map().stack(EF).credential_ids)
    for key in keys[:4]:
        scenario.earn(c, lee, ada, key)

    # The educator confirms their details and consents to the office before the stack is complete.
    learner.get_by_role("link", name="My records").click()
    learner.wait_for_url(re.compile(r"/learn/records"))
    assert "No CEUs yet" in learner.inner_text("main")
    learner.fill("#legal_name", "Zoë Ångström-Núñez")
    learner.fill("#state", "NC")
    learner.fill("#licence_number", "NC-1234567")
    learner.get_by_role("button", name="Save and confirm").click()
    learner.wait_for_load_state()
    assert "Tick the box" in learner.locator("#confirm-error").inner_text()
    assert learner.locator("#confirm").get_attribute("aria-describedby") == "confirm-error"
    learner.check("#confirm")
    learner.get_by_role("button", name="Save and confirm").click()
    learner.wait_for_load_state()
    assert "saved and confirmed" in learner.inner_text("main")
    learner.locator(f'li[data-office="{OFFICE}"]').get_by_role("button").click()
    learner.wait_for_load_state()
    assert "Consent recorded" in learner.inner_text("main")

    # The fifth credential is earned in the assessor's browser.
    scenario.complete_evidence(c, lee, keys[4])
    assessor.goto(assessor.url.split("?")[0])
    assessor.locator("table.queue tbody tr").first.get_by_role("link", name="Review").click()
    assessor.wait_for_url(re.compile(r"/assess/submissions/\d+"))
    criteria = assessor.locator("fieldset.criterion")
    rubric = c.map().credential(keys[4]).rubric
    for i, criterion in enumerate(rubric.criteria):
        criteria.nth(i).locator(f"input[value={criterion.passing_level}]").check()
    assessor.get_by_role("button", name="Record decision").click()
    assessor.wait_for_load_state()
    assert "Earned" in assessor.locator("h1").inner_text()

    # The office's endpoint receives the signed record, once.
    deadline = time.monotonic() + 20
    while not receiver.records and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(receiver.records) == 1 and receiver.bad_signatures == 0
    record = next(iter(receiver.records.values()))
    assert record["educator"] == {
        "legal_name": "Zoë Ångström-Núñez",
        "state": "NC",
        "licence_number": "NC-1234567",
    }
    assert record["award"]["key"] == EF and record["office_units"]["amount"] == "1.0"
    record_id = record["record_id"]

    # The learner's records page has the record, its office units and the downloads.
    learner.goto(
        server.url + "/learn/records" + ("?" + learner.url.split("?", 1)[1] if "?" in learner.url else "")
    )
    card = learner.locator(f'article[data-record="{record_id}"]')
    assert "1.0 CEU" in card.inner_text() and "Executive Function" in card.inner_text()
    assert "1.0 renewal credit" in card.locator(f'tr[data-office="{OFFICE}"]').inner_text()
    learner.screenshot(path=str(SCREENSHOT), full_page=True)  # for people checking the page by eye
    with learner.expect_download() as download_info:
        card.get_by_role("link", name="Download certificate (PDF)").click()
    pdf = Path(download_info.value.path()).read_bytes()
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Zoë Ångström-Núñez" in text and record_id in text and "Executive Function" in text
    linkedin = card.get_by_role("link", name="Add to LinkedIn profile").get_attribute("href") or ""
    assert linkedin.startswith("https://www.linkedin.com/profile/add?") and record_id in linkedin

    # The verification page is public (a fresh browser, no session) and shows nothing private.
    stranger = browser.new_context().new_page()
    stranger.goto(f"{server.url}/records/{record_id}")
    assert stranger.locator("[data-status]").get_attribute("data-status") == "valid"
    body = stranger.inner_text("main")
    assert "Zoë Ångström-Núñez" in body and "Executive Function" in body
    assert "NC-1234567" not in body and "@" not in body
    badge = json.loads(stranger.request.get(f"{server.url}/records/{record_id}/badge.json").text())
    assert "OpenBadgeCredential" in badge["type"] and signing.verify(badge, did_key.resolve_did_key)
    stranger.context.close()
