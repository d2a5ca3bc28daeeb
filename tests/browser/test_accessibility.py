"""axe-core (from npm, pinned in tests/a11y) run in Chromium on the learner, assessor and designer pages, an
error page, the public verification page and the development platform: no serious or critical violations.
Pages with a form error are checked with the error shown (the evidence page, the designer's map upload).

People enter through real launches from the development platform. The tool's CSP allows only its own
scripts, so the browser contexts here bypass CSP to inject axe (the pages themselves are unchanged). Also
checked by keyboard: the first Tab reaches the skip link, which is visible then and moves focus to <main>.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lti_tool.db.models import Context, Submission, User
from lti_tool.db.records_models import Award
from tests import factories, scenario
from tests.browser.conftest import LiveServer, serving

pytestmark = pytest.mark.browser

A11Y = Path(__file__).resolve().parent.parent / "a11y"
AXE = A11Y / "node_modules" / "axe-core" / "axe.min.js"
EF = "executive-function"
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def axe_script() -> Path:
    """axe.min.js from the pinned npm package, installed with ``npm ci`` when missing. No npm fails the
    test: an accessibility check that silently skips checks nothing."""
    if not AXE.is_file():
        npm = shutil.which("npm")
        if not npm:
            pytest.fail("npm is required for the accessibility test (Node 20+): it installs axe-core")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=A11Y, check=True, timeout=600
        )
    assert AXE.is_file(), f"npm ci did not install {AXE}"
    return AXE


def _launch(browser: Any, server: LiveServer, user_label: str, target: str = "") -> Any:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(server.url + "/dev/platform/")
    section = page.locator('[data-course="learning-differences"]')
    if target:
        section.locator("select[name=target]").select_option(target)
    section.get_by_role("button", name=f"Launch as {user_label}").click()
    page.wait_for_url(re.compile(r"/(learn|assess|design)/"))
    return page


def _go(page: Any, server: LiveServer, path: str) -> None:
    """Open ``path`` in the same session (keeping the cookie-less token when the launch gave one)."""
    token = re.search(r"[?&]lt=([^&]+)", page.url)
    joiner = "&" if "?" in path else "?"
    page.goto(server.url + path + (f"{joiner}lt={token[1]}" if token else ""))


def _violations(page: Any, axe: Path) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(axe))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                                          html: n.html.slice(0, 160)})),
            }));
        }"""
    )
    return found


def _readable(name: str, url: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"{name} ({url}):"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['url']})")
        for node in v["nodes"][:5]:
            lines.append(f"      at {node['target']}: {node['html']}")
            lines += [f"        {line}" for line in (node["summary"] or "").splitlines()]
    return "\n".join(lines)


def _setup(server: LiveServer) -> tuple[int, str, str]:
    """Lee earned one Executive Function credential and submitted a second; returns the waiting submission,
    the public id of the earned credential's record, and a credential not started yet."""
    db = server.app.extensions["db"]
    with db.read() as session:
        context = session.scalars(select(Context).where(Context.course_key == "learning-differences")).one()
        lee = session.scalars(select(User).where(User.name == "Lee Learner")).one()
        ada = session.scalars(select(User.id).where(User.name == "Ada Assessor")).one()
    c = scenario.Course(db, context.id, lee.platform_id, "learning-differences")
    keys = list(c.map().stack(EF).credential_ids)
    scenario.earn(c, lee.id, ada, keys[0])
    scenario.complete_evidence(c, lee.id, keys[1])
    with db.read() as session:
        waiting = session.scalars(
            select(Submission.id).where(Submission.user_id == lee.id, Submission.state == "submitted")
        ).one()
        public_id = session.scalars(select(Award.public_id).where(Award.user_id == lee.id)).first()
    assert public_id, "an earned credential has a public record"
    return waiting, public_id, keys[2]


def _broken_map_zip() -> bytes:
    """The shipped map zipped with two errors the upload names by file and line: a YAML syntax error in a
    credential file, a wrong type in course.yaml."""
    folder = factories.LEARNING_DIFFERENCES
    broken = {
        "course.yaml": ("contact_hours: 10", "contact_hours: ten"),
        "ef-engaging-your-peers.yaml": ("title: Engaging", "title: [Engaging"),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            text = path.read_text()
            if path.name in broken:
                text = text.replace(*broken[path.name], 1)
            archive.writestr(f"{folder.name}/{path.relative_to(folder).as_posix()}", text)
    return buffer.getvalue()


def test_pages_have_no_serious_or_critical_axe_violations(
    browser: Any, sqlite_template: Path, tmp_path: Path, axe_script: Path
) -> None:
    with serving(sqlite_template, tmp_path, NOTIFICATIONS="mailbox") as server:
        learner = _launch(browser, server, "learner (Lee Learner)")
        assessor = _launch(browser, server, "assessor (Ada Assessor)")
        designer = _launch(browser, server, "course designer (Dee Designer)")
        waiting, public_id, untouched = _setup(server)
        problems: list[str] = []

        def check(name: str, page: Any) -> None:
            page.wait_for_load_state()
            blocking = [v for v in _violations(page, axe_script) if v["impact"] in BLOCKING]
            if blocking:
                problems.append(_readable(name, page.url, blocking))

        check("learner home", learner)
        _go(learner, server, f"/learn/stacks/{EF}")
        check("stack page", learner)
        _go(learner, server, f"/learn/credentials/{untouched}")
        learner.get_by_role("button", name="Submit for review").click()
        learner.wait_for_load_state()
        assert learner.locator("[data-error]").count() >= 1, "the evidence page shows its error"
        check("credential evidence page with an error", learner)
        _go(learner, server, "/learn/records")
        check("records page", learner)
        _go(learner, server, "/learn/stacks/no-such-stack")
        assert learner.locator(".way-back a").count() >= 1
        check("error page", learner)

        check("assessor queue", assessor)
        _go(assessor, server, f"/assess/submissions/{waiting}")
        check("review page", assessor)

        check("designer dashboard", designer)
        _go(designer, server, "/design/map-versions/")
        designer.locator("#map-files").set_input_files(
            files=[{"name": "broken.zip", "mimeType": "application/zip", "buffer": _broken_map_zip()}]
        )
        designer.get_by_role("button", name="Check the upload").click()
        designer.wait_for_load_state()
        assert designer.locator("#map-files[aria-invalid=true]").count() == 1
        assert designer.locator("#map-files-problems li").count() == 2, "every map problem is listed"
        check("designer map upload with an error", designer)
        # The error summary leads to the field: its link moves focus to the file input.
        designer.locator("[data-error] a[href='#map-files']").click()
        assert designer.evaluate("document.activeElement.id") == "map-files"

        public = browser.new_context(bypass_csp=True).new_page()
        public.goto(f"{server.url}/records/{public_id}")
        check("public verification page", public)
        public.goto(f"{server.url}/dev/platform/")
        check("development platform home", public)
        public.goto(f"{server.url}/dev/platform/mailbox")
        check("development platform mailbox", public)

        assert not problems, "axe-core found serious or critical violations:\n" + "\n\n".join(problems)


def test_the_first_tab_reaches_a_visible_skip_link_that_moves_focus_to_main(
    browser: Any, sqlite_template: Path, tmp_path: Path
) -> None:
    with serving(sqlite_template, tmp_path) as server:
        page = _launch(browser, server, "learner (Lee Learner)")
        skip = page.locator("a.skip-link")
        assert not skip.is_visible() or skip.bounding_box()["y"] < 0  # off-screen until focused
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        box = skip.bounding_box()
        assert box is not None and box["y"] >= 0 and box["height"] > 0
        ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert ring == "solid"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.keyboard.press("Tab")  # the next stop is inside the main content, past the top bar's links
        inside = page.evaluate("document.getElementById('main').contains(document.activeElement)")
        assert inside
