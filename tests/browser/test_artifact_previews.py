"""In Chromium: the assessor's review page previews an uploaded image and PDF inline, while an SVG carrying
a script is only ever a download and its script never runs; an artifact opened on its own is sandboxed
(an opaque origin: no cookies, no storage of the tool's)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from sqlalchemy import select

from lti_tool.db.models import Artifact, Context, User
from lti_tool.services import artifacts, course_maps, evidence
from lti_tool.storage import FileStore
from tests.browser.conftest import LiveServer
from tests.browser.test_evidence_journey import launch
from tests.factories import complete_texts
from tests.integration.test_evidence_uploads import png

pytestmark = pytest.mark.browser

CRED = "ef-foundations-of-practice"
PDF_VIEWER = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"  # Chromium's built-in PDF viewer
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>'
    b"localStorage.setItem('svg-ran', '1'); if (window.opener) window.opener.svgRan = true;"
    b"</script></svg>"
)


def _pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=20)
    pdf.cell(text="Lesson plan, week 3")
    return bytes(pdf.output())


def _submitted_with_files(server: LiveServer) -> tuple[int, int]:
    """Lee's evidence with a PNG, a PDF and (stored behind the upload checks' back) an SVG; submitted.
    Returns (submission id, SVG artifact id)."""
    db = server.app.extensions["db"]
    store = FileStore(Path(server.app.extensions["settings"].upload_dir))
    with db.read() as session:
        (context_id,) = session.scalars(select(Context.id)).all()
        user_id = session.scalars(select(User.id).where(User.name == "Lee Learner")).one()
    credential = course_maps.get_course_map(db, "learning-differences").credential(CRED)
    answers, reflections = complete_texts(credential)
    evidence.save_draft(db, context_id, user_id, CRED, answers, reflections)
    for req in credential.requirements.artifacts:
        for n in range(req.min_count):
            artifacts.add_link_artifact(
                db, context_id, user_id, CRED, req.id, f"https://evidence.example/{req.id}/{n}", f"Link {n}"
            )
    for name, content, label in (("board.png", png(), "Whiteboard"), ("plan.pdf", _pdf(), "Lesson plan")):
        artifacts.add_file_artifact(
            db,
            store,
            context_id,
            user_id,
            CRED,
            "student-work",
            name,
            "",
            io.BytesIO(content),
            1 << 20,
            label,
        )
    view = evidence.submit(db, context_id, user_id, CRED)
    assert view.id is not None
    stored = store.save(io.BytesIO(SVG), 1 << 20)
    with db.transaction() as session:
        svg = Artifact(
            submission_id=view.id,
            requirement_id="student-work",
            label="Drawing",
            filename="drawing.svg",
            content_type="image/svg+xml",
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            storage_key=stored.storage_key,
        )
        session.add(svg)
        session.flush()
        return view.id, svg.id


def test_image_and_pdf_preview_inline_and_svg_script_never_runs(
    browser: Any, live_server: LiveServer
) -> None:
    launch(browser, live_server, "learner (Lee Learner)", target=f"credential:{CRED}").context.close()
    sub_id, svg_id = _submitted_with_files(live_server)

    page = launch(browser, live_server, "assessor (Ada Assessor)")
    page.locator(f'tr[data-submission="{sub_id}"] a', has_text="Review").click()
    page.wait_for_url(f"**/assess/submissions/{sub_id}*")

    image = page.locator('figure[data-preview="image"] img')
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1, 1]

    frame = page.locator('figure[data-preview="pdf"] iframe')
    frame.scroll_into_view_if_needed()
    for _ in range(50):  # Chromium's PDF viewer (an extension frame) takes over the sandboxed frame
        if any(f.url.startswith(PDF_VIEWER) for f in page.frames):
            break
        page.wait_for_timeout(100)
    assert any(f.url.startswith(PDF_VIEWER) for f in page.frames), [f.url for f in page.frames]

    # The SVG has no preview; its link is a download, and opening it runs nothing.
    assert page.locator(f'figure img[src*="/learn/artifacts/{svg_id}"]').count() == 0
    with page.expect_download() as download:
        page.locator(f'a[href*="/learn/artifacts/{svg_id}"]').click()
    assert download.value.suggested_filename == "drawing.svg"
    with page.expect_popup() as popup_info:
        page.evaluate(f"window.open('/learn/artifacts/{svg_id}')")
    assert popup_info.value is not None  # the new tab turned into a download, and closed
    page.wait_for_timeout(500)
    assert page.evaluate("window.svgRan === undefined")
    assert page.evaluate("localStorage.getItem('svg-ran')") is None

    # The image opened on its own: shown, in an opaque origin (the sandbox), not in the tool's.
    src = image.get_attribute("src")
    alone = page.context.new_page()
    response = alone.goto(live_server.url + str(src))
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"].startswith("sandbox;")
    assert alone.evaluate("self.origin") == "null"
    page.context.close()
