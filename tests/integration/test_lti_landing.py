"""A learner's launch answers with the progress page itself (no redirect to wait for), on SQLite and
PostgreSQL: the page is the one ``/learn/`` shows, the session is signed in, the page's script turns the
history entry into a GET of ``/learn/`` (so a reload never posts the spent id_token), and posting the same
launch again is still refused. Launches that cannot be answered this way keep their redirect."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import factories
from tests.lti_platform_helpers import (
    INSTRUCTOR,
    TestPlatform,
    landing_of,
    login,
    lti_app,
    row_counts,
)

LTI = "https://purl.imsglobal.org/spec/lti/claim/"


@pytest.fixture
def app(database_url: str, tmp_path: Path, platform: TestPlatform) -> Iterator[Any]:
    application = lti_app(database_url, tmp_path)
    platform.register(application.extensions["db"])
    yield application
    application.extensions["db"].dispose()


def _claims(platform: TestPlatform, nonce: str, **custom: str) -> dict[str, Any]:
    claims = platform.moodle_claims(nonce)
    claims[LTI + "custom"] = {"course_map": "learning-differences", **custom}
    return claims


def _stacks(html: str) -> list[str]:
    return re.findall(r'data-stack="([^"]+)"', html)


def test_a_learner_launch_answers_with_the_progress_page_and_signs_in(
    app: Any, platform: TestPlatform
) -> None:
    factories.load_shipped_map(app.extensions["db"])
    client = app.test_client()
    answer = login(client, platform)
    form = {"id_token": platform.key.sign(_claims(platform, answer.nonce)), "state": answer.state}
    launched = client.post("/lti/launch", data=form)

    assert launched.status_code == 200 and launched.mimetype == "text/html"
    page = launched.get_data(as_text=True)
    assert landing_of(launched) == "/learn/"
    assert '<script src="/static/lti-landed.js" data-url="/learn/"></script>' in page
    # The same page /learn/ shows, for the session the launch signed in.
    again = client.get("/learn/")
    assert again.status_code == 200
    assert _stacks(page) == _stacks(again.get_data(as_text=True)) and len(_stacks(page)) == 3
    assert "Sam Student" in page
    # The state cookie is spent; the page is framed as a signed-in page is (not by anyone).
    assert any(h.startswith(f"lti1p3-state-{answer.state}=;") for h in launched.headers.getlist("Set-Cookie"))
    assert launched.headers["Content-Security-Policy"].endswith(
        again.headers["Content-Security-Policy"].split("frame-ancestors", 1)[1]
    )
    assert "frame-ancestors *" not in launched.headers["Content-Security-Policy"]

    # A reload without the script (or a replay) posts the spent id_token again: refused, nothing written.
    before = row_counts(app.extensions["db"])
    replayed = app.test_client().post("/lti/launch", data=form)
    assert replayed.status_code == 400 and "lti_replay" in replayed.get_data(as_text=True)
    assert row_counts(app.extensions["db"]) == before


def test_the_landing_script_makes_the_history_entry_the_landing_url() -> None:
    script = (Path(__file__).resolve().parents[2] / "lti_tool/web/static/lti-landed.js").read_text()
    assert 'getAttribute("data-url")' in script and 'history.replaceState(null, "", url)' in script


def _launch(client: Any, platform: TestPlatform, claims_for: Any) -> Any:
    answer = login(client, platform)
    return client.post(
        "/lti/launch", data={"id_token": platform.key.sign(claims_for(answer.nonce)), "state": answer.state}
    )


def test_launches_the_page_cannot_answer_keep_their_redirect(app: Any, platform: TestPlatform) -> None:
    # A course not set up yet: /learn/ explains it, after the redirect.
    client = app.test_client()
    launched = _launch(client, platform, platform.moodle_claims)
    assert launched.status_code == 303 and launched.headers["Location"] == "/learn/"
    assert "not set up yet" in client.get("/learn/").get_data(as_text=True)

    factories.load_shipped_map(app.extensions["db"])
    # A placement naming a stack lands on that stack's page; a teacher on the review queue.
    launched = _launch(
        app.test_client(), platform, lambda nonce: _claims(platform, nonce, stack="executive-function")
    )
    assert launched.status_code == 303 and launched.headers["Location"] == "/learn/stacks/executive-function"
    launched = _launch(
        app.test_client(), platform, lambda nonce: platform.moodle_claims(nonce, role=INSTRUCTOR)
    )
    assert launched.status_code == 303 and launched.headers["Location"] == "/assess/"
