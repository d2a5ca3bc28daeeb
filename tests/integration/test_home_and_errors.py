"""The pages nobody launches into (issue 9): ``/`` says what the tool is and how to install it, the
favicon, and error pages that speak to people (a title, the message, a way back; the code in small print)
while API clients keep the JSON error with its stable code."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from tests import factories


def test_home_page_says_what_the_tool_is_and_how_to_install_it(sqlite_app: Flask) -> None:
    response = sqlite_app.test_client().get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<h1>Micro-credential Stacks</h1>" in page and "stacks of\n    micro-credentials" in page
    assert "lti-tool platforms invite" in page
    for url in (
        "http://tool.test/lti/config.json",
        "http://tool.test/lti/login",
        "http://tool.test/lti/launch",
        "http://tool.test/lti/jwks.json",
        "http://tool.test/lti/register?invite=",
    ):
        assert url in page, url
    assert "More → LTI External tools" in page
    assert '<link rel="icon" href="/favicon.ico"' in page
    assert "<script" not in page  # nothing inline, nothing needed
    assert "Content-Security-Policy" in response.headers

    as_json = sqlite_app.test_client().get("/", headers={"Accept": "application/json"})
    assert as_json.status_code == 200
    assert as_json.json["endpoints"]["canvas_config"] == "http://tool.test/lti/config.json"


def test_the_tool_serves_a_favicon(sqlite_app: Flask) -> None:
    client = sqlite_app.test_client()
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/vnd.microsoft.icon"
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO header
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


def _error_page(response: Any) -> str:
    page: str = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert not re.search(r"<h1>\s*\d{3}\s*:", page), "a status number is not a title"
    assert '<link rel="icon"' in page
    return page


def test_error_pages_speak_to_people_and_keep_the_code_for_support(sqlite_app: Flask) -> None:
    db = sqlite_app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    anonymous = sqlite_app.test_client()

    missing = anonymous.get("/no-such-page")
    assert missing.status_code == 404
    page = _error_page(missing)
    assert "<h1>We couldn&#39;t find that</h1>" in page
    assert "<code>not_found</code> · HTTP 404" in page
    assert "Open this activity again from your course" in page  # nobody signed in: how to get back

    ended = _error_page(anonymous.get("/learn/"))
    assert "<h1>Please open this tool from your course</h1>" in ended

    learner = sqlite_app.test_client()
    factories.sign_in(learner, course.learner())
    refused = learner.get("/assess/")
    assert refused.status_code == 403
    page = _error_page(refused)
    assert "<h1>You can&#39;t do that here</h1>" in page
    assert "This is for teachers who review evidence in this course." in page
    assert '<a class="button" href="/learn/">Back to the course page</a>' in page
    assert "<code>role_required</code>" in page

    api = learner.get("/assess/", headers={"Accept": "application/json"})
    assert api.status_code == 403 and api.mimetype == "application/json"
    assert api.json == {
        "error": {
            "code": "role_required",
            "message": "This is for teachers who review evidence in this course.",
        }
    }
