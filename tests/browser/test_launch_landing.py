"""In Chromium: a learner's launch answers with the progress page itself, the address bar then shows
``/learn/``, and reloading asks for that page again instead of posting the spent id_token (which the tool
would refuse as a replay)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_a_learner_launch_lands_on_learn_and_a_reload_asks_for_that_page(
    live_server: LiveServer, browser: Any
) -> None:
    context = browser.new_context()
    page = context.new_page()
    seen: list[tuple[str, str, int]] = []
    page.on("response", lambda r: seen.append((r.request.method, urlsplit(r.url).path, r.status)))
    page.goto(live_server.url + "/dev/platform/")
    page.locator('[data-course="learning-differences"]').get_by_role(
        "button", name="Launch as learner (Lee Learner)"
    ).click()
    page.wait_for_url(re.compile(r"/learn/$"))
    # The launch itself answered with the page: no redirect, no second request for it.
    assert ("POST", "/lti/launch", 200) in seen and ("GET", "/learn/", 200) not in seen
    assert page.locator("[data-stack]").count() == 3

    seen.clear()
    page.reload()
    assert [(m, p) for m, p, _ in seen if not p.startswith(("/static/", "/favicon"))] == [("GET", "/learn/")]
    assert urlsplit(page.url).path == "/learn/" and page.locator("[data-stack]").count() == 3
    context.close()
