"""The assessor's workspace through the pages, on SQLite and PostgreSQL: each attempt kept as submitted,
what changed since the previous attempt, the queue's filters and waiting times, the decision history, a
learner's page for staff, and artifacts served so that they cannot run script."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from lti_tool.db import Database
from lti_tool.db.base import utcnow
from lti_tool.db.models import Artifact, ReviewClaim, Submission, SubmissionAttempt
from lti_tool.domain.definitions import CourseMap
from lti_tool.services import artifacts, assessment, evidence, review_queue
from lti_tool.services.attempt_changes import artifact_changes, word_diff
from lti_tool.storage import FileStore
from lti_tool.web.artifact_previews import ARTIFACT_POLICY
from lti_tool.web.auth import Actor
from tests import factories
from tests.integration.test_evidence_uploads import png

EF = "ef-foundations-of-practice"
EF2 = "ef-supporting-students"
LM = "lm-foundations-of-practice"


@dataclass
class Scene:
    app: Flask
    db: Database
    course_map: CourseMap
    course: factories.CourseFixture
    assessor: Actor
    client: FlaskClient  # the assessor's

    def learner(self, name: str) -> tuple[Actor, FlaskClient]:
        actor = self.course.learner(name)
        return actor, self.signed_in(actor)

    def signed_in(self, actor: Actor) -> FlaskClient:
        client = self.app.test_client()
        factories.sign_in(client, actor)
        return client

    def submit(self, learner: Actor, key: str = EF, hours_ago: float | None = None) -> int:
        factories.complete_evidence(self.db, learner, self.course_map.credential(key))
        view = evidence.submit(self.db, learner.context_id, learner.user_id, key)
        assert view.id is not None
        if hours_ago is not None:
            with self.db.transaction() as session:
                session.execute(
                    update(Submission)
                    .where(Submission.id == view.id)
                    .values(submitted_at=utcnow() - timedelta(hours=hours_ago))
                )
        return view.id

    def decide(self, sub_id: int, key: str, assessor: Actor, earned: bool, feedback: str = "") -> None:
        credential = self.course_map.credential(key)
        scores = factories.passing_scores(credential) if earned else factories.failing_scores(credential)
        assessment.decide(self.db, self.course.context_id, sub_id, assessor.user_id, scores, feedback)

    def page(self, path: str, client: FlaskClient | None = None, status: int = 200) -> str:
        response = (client or self.client).get(path)
        assert response.status_code == status, response.data[:500]
        return re.sub(r"\s+", " ", response.data.decode())


@pytest.fixture
def scene(app: Flask) -> Scene:
    db: Database = app.extensions["db"]
    course_map = factories.load_shipped_map(db)
    course = factories.course(db)
    assessor = course.assessor("Asha Assessor")
    client = app.test_client()
    factories.sign_in(client, assessor)
    return Scene(app, db, course_map, course, assessor, client)


def _queue_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-submission="(\d+)"', html)]


# --- attempts kept as submitted -----------------------------------------------------------------------------


def test_each_attempt_is_kept_as_it_was_submitted(scene: Scene) -> None:
    lena, _ = scene.learner("Lena Learner")
    sub_id = scene.submit(lena)
    scene.decide(sub_id, EF, scene.assessor, earned=False, feedback="Add dated observations.")
    question = scene.course_map.credential(EF).requirements.overview_questions[0].id
    revised = factories.complete_texts(scene.course_map.credential(EF))[0][question] + " revised"
    evidence.save_draft(scene.db, lena.context_id, lena.user_id, EF, {question: revised}, {})
    with scene.db.read() as session:
        (first,) = session.scalars(select(SubmissionAttempt)).all()
        links = session.scalars(select(Artifact).where(Artifact.submission_id == sub_id)).all()
    assert first.attempt == 1 and first.answers[question].startswith("observation")  # the edit is not in it
    assert {a["url"] for a in first.artifacts} == {a.url for a in links}
    assert set(first.artifacts[0]) == {
        "id", "requirement_id", "label", "url", "filename", "content_type", "size_bytes", "sha256",
    }  # fmt: skip

    evidence.submit(scene.db, lena.context_id, lena.user_id, EF)
    with scene.db.read() as session:
        kept = {a.attempt: a for a in session.scalars(select(SubmissionAttempt))}
    assert sorted(kept) == [1, 2]
    assert kept[2].answers[question] == revised
    assert kept[1].answers[question].startswith("observation")


# --- what changed since the previous attempt ----------------------------------------------------------------


def test_the_review_page_shows_what_changed_escaping_the_learners_text(scene: Scene) -> None:
    lena, _ = scene.learner("Lena Learner")
    credential = scene.course_map.credential(EF)
    sub_id = scene.submit(lena)
    first = scene.page(f"/assess/submissions/{sub_id}")
    section = re.search(r'<section class="changes card".*?</section>', first)
    assert section and "First attempt" in section.group(0)
    assert first.index('<section class="changes') < first.index('aria-label="Evidence"')  # above it

    scene.decide(sub_id, EF, scene.assessor, earned=False, feedback="Say more.")
    answers, _ = factories.complete_texts(credential)
    question = credential.requirements.overview_questions[0]
    old = answers[question.id]
    new = old.rsplit(" ", 1)[0] + " <script>alert(1)</script> & notes"
    evidence.save_draft(scene.db, lena.context_id, lena.user_id, EF, {question.id: new}, {})
    with scene.db.read() as session:
        links = session.scalars(
            select(Artifact).where(Artifact.submission_id == sub_id).order_by(Artifact.id)
        ).all()
    gone, relabelled = links[0], links[1]
    for artifact in (gone, relabelled):
        artifacts.remove_artifact(scene.db, lena.context_id, lena.user_id, EF, artifact.id)
    # the same address under another label is not a change; a new address is
    assert relabelled.url is not None
    artifacts.add_link_artifact(
        scene.db, lena.context_id, lena.user_id, EF, relabelled.requirement_id, relabelled.url, "Renamed"
    )
    artifacts.add_link_artifact(
        scene.db, lena.context_id, lena.user_id, EF, gone.requirement_id, "https://new.example/p", "New one"
    )
    evidence.submit(scene.db, lena.context_id, lena.user_id, EF)

    page = scene.page(f"/assess/submissions/{sub_id}")
    section_match = re.search(r'<section class="changes card".*?</section>', page)
    assert section_match is not None
    changes = section_match.group(0)
    assert "What changed since attempt 1" in changes
    assert f'data-diff="answer-{question.id}"' in changes
    assert "<del>observation</del><ins>&lt;script&gt;alert(1)&lt;/script&gt; &amp; notes</ins>" in changes
    assert "<script>alert" not in page
    assert "…" in changes  # the long unchanged stretch is shortened
    added = re.findall(r"<li data-artifact-added>(.*?)</li>", changes)
    removed = re.findall(r"<li data-artifact-removed>(.*?)</li>", changes)
    assert len(added) == 1 and "https://new.example/p" in added[0]
    assert len(removed) == 1 and str(gone.url) in removed[0]
    assert "Renamed" not in changes
    reflection = credential.requirements.reflection_prompts[0].id
    assert f'data-diff="reflection-{reflection}"' not in changes  # unchanged texts are not listed


def test_word_diff_and_artifact_identity() -> None:
    assert word_diff("the cat sat", "the dog sat") == [
        ("equal", "the "),
        ("delete", "cat"),
        ("insert", "dog"),
        ("equal", " sat"),
    ]
    assert word_diff("same", "same") == [("equal", "same")]
    before = [
        {"label": "Plan", "sha256": "a" * 64, "filename": "plan.pdf", "url": None},
        {"label": "Video", "sha256": None, "url": "https://v.example/1"},
    ]
    after = [
        {"label": "Lesson plan (final)", "sha256": "a" * 64, "filename": "final.pdf", "url": None},
        {"label": "Video", "sha256": None, "url": "https://v.example/2"},
        {"label": "Again", "sha256": "a" * 64, "filename": "copy.pdf", "url": None},
    ]
    added, removed = artifact_changes(before, after)
    assert [a["label"] for a in added] == ["Video", "Again"]  # the second copy of the same file counts
    assert [r["url"] for r in removed] == ["https://v.example/1"]


# --- the queue ----------------------------------------------------------------------------------------------


def test_queue_filters_and_waiting_times(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    other = scene.course.assessor("Omar Other")
    lena, _ = scene.learner("Lena Learner")
    leo, _ = scene.learner("Leo Learner")
    lia, _ = scene.learner("Lia Learner")
    ef_old = scene.submit(lena, EF, hours_ago=80)  # 3 days
    ef_new = scene.submit(leo, EF, hours_ago=5)
    lm_mid = scene.submit(lia, LM, hours_ago=30)
    ef2 = scene.submit(lena, EF2, hours_ago=50)  # 2 days
    now = utcnow()
    with scene.db.transaction() as session:
        session.add_all(
            [
                ReviewClaim(
                    submission_id=ef_old,
                    assessor_id=scene.assessor.user_id,
                    attempt=1,
                    claimed_at=now - timedelta(minutes=5),
                    expires_at=now + timedelta(minutes=25),
                ),
                ReviewClaim(
                    submission_id=lm_mid,
                    assessor_id=other.user_id,
                    attempt=1,
                    claimed_at=now - timedelta(minutes=3),
                    expires_at=now + timedelta(minutes=27),
                ),
                # an expired claim and a released claim hold nothing
                ReviewClaim(
                    submission_id=ef_new,
                    assessor_id=other.user_id,
                    attempt=1,
                    claimed_at=now - timedelta(hours=2),
                    expires_at=now - timedelta(hours=1),
                ),
                ReviewClaim(
                    submission_id=ef2,
                    assessor_id=other.user_id,
                    attempt=1,
                    claimed_at=now - timedelta(minutes=9),
                    expires_at=now + timedelta(minutes=21),
                    released_at=now - timedelta(minutes=1),
                ),
            ]
        )

    everything = scene.page("/assess/")
    assert _queue_ids(everything) == [ef_old, ef2, lm_mid, ef_new]  # oldest first
    shown = re.findall(r"<td data-waited><strong>(.*?)</strong>", everything)
    waited = dict(zip(_queue_ids(everything), shown, strict=True))
    assert waited == {ef_old: "3 days", ef2: "2 days", lm_mid: "1 day", ef_new: "5 hours"}
    assert 'data-total="4"' in everything
    holders = re.search(rf'data-submission="{lm_mid}".*?<td data-holders>(.*?)</td>', everything)
    assert holders and "Omar Other" in holders.group(1)
    mine = re.search(rf'data-submission="{ef_old}".*?<td data-holders>(.*?)</td>', everything)
    assert mine and mine.group(1).startswith("you")

    assert _queue_ids(scene.page("/assess/?stack=executive-function")) == [ef_old, ef2, ef_new]
    assert _queue_ids(scene.page("/assess/?stack=learner-motivation")) == [lm_mid]
    assert _queue_ids(scene.page(f"/assess/?credential={EF}")) == [ef_old, ef_new]
    assert _queue_ids(scene.page(f"/assess/?stack=learner-motivation&credential={EF}")) == []
    assert _queue_ids(scene.page("/assess/?waited=2&unit=days")) == [ef_old, ef2]
    assert _queue_ids(scene.page("/assess/?waited=6&unit=hours")) == [ef_old, ef2, lm_mid]
    assert _queue_ids(scene.page("/assess/?claim=unclaimed")) == [ef2, ef_new]
    assert _queue_ids(scene.page("/assess/?claim=mine")) == [ef_old]
    assert _queue_ids(scene.page("/assess/?claim=others")) == [lm_mid]
    assert _queue_ids(scene.page("/assess/?claim=unclaimed&stack=executive-function&waited=1&unit=days")) == [
        ef2
    ]
    assert "Nothing waiting matches these filters" in scene.page("/assess/?claim=mine&credential=" + LM)
    # the other assessor sees the same claims from their side
    theirs = scene.signed_in(other)
    assert _queue_ids(scene.page("/assess/?claim=mine", theirs)) == [lm_mid]
    assert _queue_ids(scene.page("/assess/?claim=others", theirs)) == [ef_old]

    for bad in ("waited=abc", "waited=3&unit=weeks", "claim=everyone", "page=0", "stack=nope"):
        assert scene.client.get(f"/assess/?{bad}").status_code == 400

    monkeypatch.setattr(review_queue, "PAGE_SIZE", 3)
    first = scene.page("/assess/?stack=executive-function")
    assert _queue_ids(first) == [ef_old, ef2, ef_new] and "Page 1 of 1" not in first
    paged = scene.page("/assess/")
    assert _queue_ids(paged) == [ef_old, ef2, lm_mid] and "Page 1 of 2" in paged
    assert 'rel="next" href="/assess/?page=2"' in paged
    second = scene.page("/assess/?page=2")
    assert _queue_ids(second) == [ef_new] and 'rel="prev"' in second


def test_waited_text() -> None:
    now = utcnow()
    assert review_queue.waited_text(now - timedelta(seconds=20), now) == "less than a minute"
    assert review_queue.waited_text(now - timedelta(minutes=1, seconds=5), now) == "1 minute"
    assert review_queue.waited_text(now - timedelta(hours=23, minutes=59), now) == "23 hours"
    assert review_queue.waited_text(now - timedelta(days=3, hours=5), now) == "3 days"


# --- history ------------------------------------------------------------------------------------------------


def test_history_filters(scene: Scene) -> None:
    omar = scene.course.assessor("Omar Other")
    lena, _ = scene.learner("Lena Learner")
    leo, _ = scene.learner("Leo Learner")
    a = scene.submit(lena, EF)
    scene.decide(a, EF, scene.assessor, earned=False, feedback="More evidence please.")
    b = scene.submit(leo, LM)
    scene.decide(b, LM, omar, earned=True)
    evidence.submit(scene.db, lena.context_id, lena.user_id, EF)  # attempt 2 of a
    scene.decide(a, EF, omar, earned=True)
    waiting = scene.submit(leo, EF)  # not decided: never in the history

    def rows(query: str = "") -> list[tuple[int, int, str]]:
        html = scene.page("/assess/history" + query)
        found = re.findall(r'<tr data-submission="(\d+)" data-attempt="(\d+)" data-decision="(\w+)">', html)
        return [(int(s), int(n), d) for s, n, d in found]

    assert rows() == [(a, 2, "earned"), (b, 1, "earned"), (a, 1, "not_yet")]  # newest first
    assert waiting not in {s for s, _, _ in rows()}
    assert rows(f"?assessor={scene.assessor.user_id}") == [(a, 1, "not_yet")]
    assert rows(f"?assessor={omar.user_id}") == [(a, 2, "earned"), (b, 1, "earned")]
    assert rows(f"?credential={LM}") == [(b, 1, "earned")]
    assert rows("?learner=LEN") == [(a, 2, "earned"), (a, 1, "not_yet")]  # a name search, any case
    assert rows("?learner=%25") == []  # a wildcard character is searched for, not expanded
    assert rows("?decision=not_yet") == [(a, 1, "not_yet")]
    assert rows(f"?decision=earned&credential={EF}&assessor={omar.user_id}") == [(a, 2, "earned")]
    html = scene.page("/assess/history")
    assert (
        f'href="/assess/learners/{lena.user_id}"' in html and f'href="/assess/learners/{leo.user_id}"' in html
    )
    assert 'data-total="3"' in html
    assert f'<option value="{omar.user_id}"' in html  # the course's assessors to choose from
    assert scene.client.get("/assess/history?decision=maybe").status_code == 400


# --- a learner's page for staff -----------------------------------------------------------------------------


def test_staff_learner_page_and_who_may_see_it(scene: Scene) -> None:
    lena, lena_client = scene.learner("Lena Learner")
    sub_id = scene.submit(lena, EF)
    scene.decide(sub_id, EF, scene.assessor, earned=False, feedback="Ground each profile <in> observations.")
    evidence.submit(scene.db, lena.context_id, lena.user_id, EF)
    scene.decide(sub_id, EF, scene.assessor, earned=True)
    scene.submit(lena, LM)

    page = scene.page(f"/assess/learners/{lena.user_id}")
    assert "<h1>Lena Learner</h1>" in page
    assert 'data-stack="executive-function"' in page and "1 of " in page
    ef = re.search(r'data-credential="' + EF + r'".*?</div> </details> </div>', page)
    assert ef is not None
    block = ef.group(0)
    assert 'data-attempt="1"' in block and 'data-attempt="2"' in block
    assert 'data-decision="not_yet"' in block and 'data-decision="earned"' in block
    assert "Ground each profile &lt;in&gt; observations." in block
    assert "observation observation" in block  # the attempt as submitted
    lm = re.search(r'data-credential="' + LM + r'".*?</details>', page)
    assert lm and "not decided" in lm.group(0)
    assert 'data-award="credential"' in page  # the earned micro-credential's record

    designer = scene.signed_in(scene.course.designer("Dara Designer"))
    assert designer.get(f"/assess/learners/{lena.user_id}").status_code == 200
    assert lena_client.get(f"/assess/learners/{lena.user_id}").status_code == 403
    assert scene.client.get("/assess/learners/999999").status_code == 404
    elsewhere = factories.course(scene.db, title="Another course")
    stranger = elsewhere.learner("Sam Stranger")
    evidence.save_draft(scene.db, stranger.context_id, stranger.user_id, EF, {}, {})
    assert scene.client.get(f"/assess/learners/{stranger.user_id}").status_code == 404


# --- artifacts: previews, served so that they cannot run script ---------------------------------------------


def test_artifacts_are_served_sandboxed_and_previewed(scene: Scene) -> None:
    lena, _ = scene.learner("Lena Learner")
    factories.complete_evidence(scene.db, lena, scene.course_map.credential(EF))
    store = FileStore(Path(scene.app.extensions["settings"].upload_dir))
    artifacts.add_file_artifact(
        scene.db,
        store,
        lena.context_id,
        lena.user_id,
        EF,
        "student-work",
        "board.png",
        "image/png",
        io.BytesIO(png()),
        1024 * 1024,
        "Whiteboard",
    )
    view = evidence.submit(scene.db, lena.context_id, lena.user_id, EF)
    image = next(a for a in view.artifacts if a.filename == "board.png")
    # an SVG that reached storage some other way (uploads refuse SVG) is still never served as an image
    svg_bytes = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    svg_key = store.save(io.BytesIO(svg_bytes), 1024).storage_key
    with scene.db.transaction() as session:
        svg = Artifact(
            submission_id=view.id,
            requirement_id="student-work",
            label="Drawing",
            filename="drawing.svg",
            content_type="image/svg+xml",
            size_bytes=len(svg_bytes),
            sha256=svg_key,
            storage_key=svg_key,
        )
        session.add(svg)
        session.flush()
        svg_id = svg.id

    served = scene.client.get(f"/learn/artifacts/{image.id}")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.headers["Content-Security-Policy"] == ARTIFACT_POLICY
    assert served.headers["Content-Security-Policy"].startswith("sandbox;")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" not in served.headers.get("Content-Disposition", "")
    drawing = scene.client.get(f"/learn/artifacts/{svg_id}")
    assert drawing.mimetype == "application/octet-stream"
    assert drawing.headers["Content-Disposition"].startswith("attachment")
    assert drawing.headers["Content-Security-Policy"] == ARTIFACT_POLICY

    page = scene.page(f"/assess/submissions/{view.id}")
    assert f'<img src="/learn/artifacts/{image.id}" alt="Preview of Whiteboard"' in page
    assert f'src="/learn/artifacts/{svg_id}"' not in page  # no preview of the SVG: a download link only
    assert f'href="/learn/artifacts/{svg_id}"' in page
