"""In Chromium: a brand-new course. The teacher's first Deep Linking launch ("Select content", shaped like
Moodle 4.5's, no custom parameters) chooses the course map and places the Executive Function stack; the
learner's first launch from that placement (the custom parameters it carries) lands on the stack's page.

The platform is a TestPlatform (its own server on 127.0.0.1): its OIDC authorization endpoint auto-posts a
signed id_token, its deep-linking return endpoint keeps what the tool sends back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from sqlalchemy import select
from werkzeug.wrappers import Request, Response

from lti_tool.db.models import Context
from tests import factories
from tests.browser.conftest import LiveServer
from tests.lti_platform_helpers import LTI, TestPlatform, running_platform

pytestmark = pytest.mark.browser

CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"


class Lms:
    """The platform side: which id_token the next authorization answers with, and what came back."""

    def __init__(self, platform: TestPlatform, tool_url: str) -> None:
        self.platform = platform
        self.tool_url = tool_url
        self.next_claims: Callable[[str], dict[str, Any]] | None = None
        self.returned: list[str] = []
        platform.server.route("GET", "/mod/lti/auth.php", self._authorize)
        platform.server.route("POST", "/mod/lti/contentitem_return.php", self._deep_link_return)

    def _authorize(self, request: Request) -> Response:
        args = request.args
        assert args["redirect_uri"] == self.tool_url + "/lti/launch" and self.next_claims is not None
        claims = self.next_claims(args["nonce"])
        claims[LTI + "target_link_uri"] = self.tool_url + "/lti/launch"
        token = self.platform.key.sign(claims)
        body = (
            '<!doctype html><body onload="document.forms[0].submit()">'
            f'<form method="post" action="{args["redirect_uri"]}">'
            f'<input type="hidden" name="id_token" value="{token}">'
            f'<input type="hidden" name="state" value="{args["state"]}"></form></body>'
        )
        return Response(body, content_type="text/html; charset=utf-8")

    def _deep_link_return(self, request: Request) -> Response:
        self.returned.append(request.form["JWT"])
        return Response("<!doctype html><h1>Content added</h1>", content_type="text/html; charset=utf-8")

    def login_url(self, login_hint: str) -> str:
        form = self.platform.login_form(login_hint=login_hint, target_link_uri=self.tool_url + "/lti/launch")
        return self.tool_url + "/lti/login?" + urlencode(form)


def test_new_course_first_deep_link_chooses_the_map_and_the_learner_lands_on_the_stack(
    live_server: LiveServer, browser: Any
) -> None:
    db = live_server.app.extensions["db"]
    factories.load_shipped_map(db)
    factories.load_shipped_map(db, factories.REPO_ROOT / "course_maps" / "global-graduates")
    with running_platform() as platform:
        platform.register(db)
        lms = Lms(platform, live_server.url)

        # The teacher opens "Select content" in a course the tool has never seen.
        lms.next_claims = platform.moodle_deep_linking_claims
        teacher = browser.new_context(viewport={"width": 1200, "height": 900})
        page = teacher.new_page()
        page.goto(lms.login_url("3"))
        page.wait_for_url(re.compile(r"/lti/deep-link"))
        assert page.get_by_text("which course map does this course follow?").is_visible()
        assert page.get_by_text("Executive Function").first.is_visible()  # each map with its stacks

        page.get_by_role("button", name="Continue").click()  # nothing chosen: told what to do, at the field
        page.wait_for_load_state()
        error = page.locator("#course-map-error")
        assert error.is_visible() and "Choose the course map" in error.inner_text()

        page.locator('input[name="course_key"][value="learning-differences"]').check()
        page.get_by_role("button", name="Continue").click()
        page.wait_for_selector('[data-step="place"]')
        with db.read() as session:
            assert session.scalars(select(Context)).one().course_key == "learning-differences"

        ef = page.locator('fieldset[data-stack="executive-function"]')
        ef.locator('input[value="stack:executive-function"]').check()
        assert ef.locator('input[name="grading-executive-function"][value="stack"]').is_checked()
        page.get_by_role("button", name="Add to course").click()
        page.wait_for_url(re.compile(r"/mod/lti/contentitem_return\.php"))
        assert page.get_by_role("heading", name="Content added").is_visible()
        teacher.close()

        (returned,) = lms.returned
        keys = jwt.PyJWKSet.from_dict(json.loads(page_json(browser, live_server.url + "/lti/jwks.json")))
        claims = jwt.decode(
            returned,
            keys[jwt.get_unverified_header(returned)["kid"]].key,
            algorithms=["RS256"],
            audience=platform.issuer,
        )
        (item,) = claims[CONTENT_ITEMS]
        assert item["custom"] == {"stack": "executive-function", "course_map": "learning-differences"}
        assert item["lineItem"]["resourceId"] == "stack:executive-function"

        # The learner's first launch, from the activity that placement made.
        def learner_claims(nonce: str) -> dict[str, Any]:
            claims = platform.moodle_claims(nonce)
            claims[LTI + "custom"] = {**claims[LTI + "custom"], **item["custom"]}
            claims[LTI + "resource_link"] = {"id": "41", "title": item["title"]}
            return claims

        lms.next_claims = learner_claims
        learner = browser.new_context(viewport={"width": 1200, "height": 900})
        page = learner.new_page()
        page.goto(lms.login_url("4"))
        page.wait_for_url(re.compile(r"/learn/stacks/executive-function"))
        body = page.locator("main").inner_text()
        assert "Executive Function" in body and "Foundations of Practice in Executive Function" in body
        assert "not set up yet" not in body
        learner.close()


def page_json(browser: Any, url: str) -> str:
    context = browser.new_context()
    try:
        response = context.request.get(url)
        assert response.ok
        return str(response.text())
    finally:
        context.close()
