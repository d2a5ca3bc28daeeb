"""Every page starts with a skip link to its main content, and no error page is a dead end: it links to the
tool's page the person came from, and to their start page in the course (by role), or says how to open the
tool again when nobody is signed in."""

from __future__ import annotations

import re

from flask import Flask

from tests import factories


def _links(page: str) -> list[tuple[str, str]]:
    way_back = re.search(r'<nav class="way-back"[^>]*>(.*?)</nav>', page, re.S)
    assert way_back, "an error page has a way back"
    return [
        (href, text) for href, text in re.findall(r'<a [^>]*href="([^"]*)"[^>]*>([^<]*)</a>', way_back[1])
    ]


def test_pages_open_with_a_skip_link_to_the_main_content(sqlite_app: Flask) -> None:
    db = sqlite_app.extensions["db"]
    factories.load_shipped_map(db)
    client = sqlite_app.test_client()
    factories.sign_in(client, factories.course(db).learner())
    for path in ("/learn/", "/", "/no-such-page"):
        page = client.get(path).get_data(as_text=True)
        body = page.split("<body>", 1)[1].lstrip()
        assert body.startswith('<a class="skip-link" href="#main">Skip to main content</a>'), path
        assert '<main id="main" tabindex="-1">' in page, path


def test_a_signed_in_person_gets_the_page_they_came_from_and_their_course_page(sqlite_app: Flask) -> None:
    db = sqlite_app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    client = sqlite_app.test_client()
    factories.sign_in(client, course.learner())
    response = client.get(
        "/learn/stacks/no-such-stack", headers={"Referer": "http://localhost/learn/records"}
    )
    assert response.status_code == 404
    assert _links(response.get_data(as_text=True)) == [
        ("/learn/records", "Back to the previous page"),
        ("/learn/", "Back to the course page"),
    ]
    # Coming from the course page itself: one link, not the same page twice.
    page = client.get("/learn/stacks/nope", headers={"Referer": "http://localhost/learn/"}).get_data(True)
    assert _links(page) == [("/learn/", "Back to the course page")]


def test_other_sites_launches_and_the_failing_page_itself_are_not_ways_back(sqlite_app: Flask) -> None:
    db = sqlite_app.extensions["db"]
    factories.load_shipped_map(db)
    client = sqlite_app.test_client()
    factories.sign_in(client, factories.course(db).assessor())
    for referrer in (
        "https://elsewhere.example/learn/records",
        "http://localhost/lti/launch",
        "http://localhost/assess/submissions/999999",
    ):
        response = client.get("/assess/submissions/999999", headers={"Referer": referrer})
        assert response.status_code == 404, referrer
        assert _links(response.get_data(as_text=True)) == [("/assess/", "Back to the course page")], referrer


def test_nobody_signed_in_is_told_how_to_open_the_tool_and_where_they_were(sqlite_app: Flask) -> None:
    client = sqlite_app.test_client()
    page = client.get("/no-such-page").get_data(as_text=True)
    assert _links(page) == [("/", "About this tool")]
    assert "Open this activity again from your course in the LMS." in page

    page = client.get("/records/nope", headers={"Referer": "http://localhost/"}).get_data(as_text=True)
    assert _links(page) == [("/", "Back to the previous page")]
    assert "Open this activity again from your course in the LMS." in page
