"""The learner's progress page keeps what depends on the course map versions only (the course as started,
its stacks' rows, rules and CEU lines) in bounded per-process caches (services.progress, web.fragments):
learners who share those versions share them, and each still sees only their own states, attempts and
grants; the rows escape the map's text and carry the session token of a cookie-less request.
SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from flask import Flask

from lti_tool.db import Database
from lti_tool.services import assessment, evidence, progress
from lti_tool.web import auth
from tests import factories

GG = factories.REPO_ROOT / "course_maps" / "global-graduates"


def _rows(html: str) -> dict[str, str]:
    """Credential key -> its row's state badge class."""
    return dict(
        re.findall(r'<tr data-credential="([^"]+)">.*?<span class="state ([a-z_]+)">', html, flags=re.S)
    )


def test_learners_sharing_the_course_layout_each_see_their_own_progress(app: Flask) -> None:
    db: Database = app.extensions["db"]
    course_map = factories.load_shipped_map(db)
    course = factories.course(db)
    first, second, assessor = course.learner("Ann"), course.learner("Ben"), course.assessor()
    stack = course_map.stacks[0]
    drafted, failed = stack.credential_ids[0], stack.credential_ids[1]
    evidence.save_draft(db, course.context_id, first.user_id, drafted, {}, {})
    factories.complete_evidence(db, first, course_map.credential(failed))
    view = evidence.submit(db, course.context_id, first.user_id, failed)
    assert view.id is not None
    assessment.decide(
        db,
        course.context_id,
        view.id,
        assessor.user_id,
        factories.failing_scores(course_map.credential(failed)),
        "Not yet: add a second lesson.",
    )
    evidence.submit(db, course.context_id, first.user_id, failed)  # attempt 2
    for credential_key in course_map.stacks[1].credential_ids:
        factories.earn(db, second, assessor, course_map.credential(credential_key))

    pages = {}
    for _ in range(2):  # the second time from what the process kept
        for learner in (first, second):
            client = app.test_client()
            factories.sign_in(client, learner)
            response = client.get("/learn/")
            assert response.status_code == 200
            page = response.get_data(as_text=True)
            pages.setdefault(learner.name, page)
            assert pages[learner.name] == page

    ann, ben = _rows(pages["Ann"]), _rows(pages["Ben"])
    assert ann[drafted] == "draft" and ann[failed] == "submitted"
    assert ben[drafted] == ben[failed] == "not_started"
    assert pages["Ann"].count("· attempt 2") == 1 and "· attempt" not in pages["Ben"]
    earned = set(course_map.stacks[1].credential_ids)
    assert {k for k, v in ben.items() if v == "earned"} == earned and "earned" not in ann.values()
    assert (
        pages["Ben"].count('<p class="ceu granted">') == 1 and '<p class="ceu granted">' not in pages["Ann"]
    )
    assert pages["Ann"].count('<p class="ceu pending muted">') == len(course_map.stacks)
    assert "<strong>0 of 5</strong>" in pages["Ben"] and "<strong>5 of 5</strong>" in pages["Ben"]


def test_rows_escape_the_maps_text_and_state_the_electives_role(app: Flask, tmp_path: Path) -> None:
    root = tmp_path / "global-graduates"
    shutil.copytree(GG, root)
    credential_file = next(iter(sorted((root / "credentials").glob("*.yaml"))))
    text = credential_file.read_text()
    title = re.search(r"(?m)^title: (.*)$", text)
    assert title is not None
    credential_file.write_text(text.replace(title.group(0), 'title: "Plans <b>&amp; \\"checks\\""', 1))
    db: Database = app.extensions["db"]
    course_map = factories.load_shipped_map(db, root)
    course = factories.course(db, course_key=course_map.id)
    client = app.test_client()
    factories.sign_in(client, course.learner())

    page = client.get("/learn/").get_data(as_text=True)

    assert "Plans &lt;b&gt;&amp;amp; &#34;checks&#34;</a>" in page and "<b>&amp;" not in page
    (stack,) = course_map.stacks
    assert f'data-stack-rule="{stack.id}"' in page
    assert page.count('<span class="rule-role required">required</span>') == len(stack.rule.required)
    assert page.count('<span class="rule-role elective">elective</span>') == len(stack.rule.electives)


def test_a_cookie_less_request_gets_its_token_on_every_credential_link(app: Flask) -> None:
    db: Database = app.extensions["db"]
    course_map = factories.load_shipped_map(db)
    course = factories.course(db)
    learner = course.learner()
    with app.app_context():
        token = auth._serializer().dumps(learner.to_dict())
    cookie_less = app.test_client(use_cookies=False)

    page = cookie_less.get(f"/learn/?lt={token}").get_data(as_text=True)

    links = re.findall(r'<a href="(/learn/credentials/[^"]+)"', page)
    assert len(links) == len(course_map.credentials)
    assert all(re.fullmatch(r"/learn/credentials/[a-z0-9-]+\?lt=[^&\"]+", link) for link in links)
    # The same learner with a session cookie: no token in the links (the same rows, from the cache).
    client = app.test_client()
    factories.sign_in(client, learner)
    again = client.get("/learn/").get_data(as_text=True)
    assert "?lt=" not in again and len(re.findall(r'href="/learn/credentials/', again)) == len(links)


def test_the_layouts_kept_are_bounded(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    db: Database = app.extensions["db"]
    factories.load_shipped_map(db)
    factories.load_shipped_map(db, GG)
    monkeypatch.setattr(progress, "_LAYOUTS", {})
    monkeypatch.setattr(progress, "_LAYOUTS_MAX", 1)
    for course_key, stacks in (("learning-differences", 3), ("global-graduates", 1)) * 2:
        course = factories.course(db, course_key=course_key)
        learner = course.learner()
        overview = progress.learner_overview(db, course.context_id, learner.user_id)
        assert overview.course.id == course_key and len(overview.stacks) == stacks
        assert len(progress._LAYOUTS) == 1
