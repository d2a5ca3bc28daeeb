"""Launch inside a cross-site LMS iframe whose browser blocks third-party cookies (real Chromium).

The platform (its own origin, 127.0.0.1) shows a course page embedding the tool (localhost, another site)
in an iframe, starting the OIDC login with ``lti_storage_target=_parent``. The page implements the
1EdTech "LTI Client Side postMessages" storage: it answers ``lti.put_data`` and ``lti.get_data``. Chromium
runs with third-party cookies blocked, so the tool's state cookie never reaches the launch: the tool keeps
state and nonce in the platform's storage, the server-side single-use state is the check (ADR 0001), and
the session travels in the signed ``lt`` URL token.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lti_tool import create_app
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, need_chromium
from tests.conftest import app_config
from tests.lti_platform_helpers import LTI, TestPlatform

PLATFORM_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Course page</title></head>
<body>
<h1>LMS course</h1>
<iframe name="tool" id="tool" width="900" height="600" src="%(login_url)s"></iframe>
<script>
  // The platform side of LTI Client Side postMessages (put_data / get_data), origin-checked.
  window.ltiStore = {};
  window.ltiMessages = [];
  var toolOrigin = %(tool_origin)s;
  var forget = %(forget)s;  // a storage that does not hold this login's state (another browser's login)
  window.addEventListener("message", function (event) {
    if (event.origin !== toolOrigin) return;
    var m = event.data || {};
    window.ltiMessages.push(m.subject + ":" + (m.key || ""));
    var reply = {message_id: m.message_id, key: m.key};
    if (m.subject === "lti.put_data") {
      window.ltiStore[event.origin + "|" + m.key] = m.value;
      reply.subject = "lti.put_data.response";
      reply.value = m.value;
    } else if (m.subject === "lti.get_data") {
      reply.subject = "lti.get_data.response";
      reply.value = forget ? undefined : window.ltiStore[event.origin + "|" + m.key];
    } else {
      return;
    }
    event.source.postMessage(reply, event.origin);
  });
</script>
</body></html>
"""


class _Served:
    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


class _Later:
    app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


@pytest.fixture
def world(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, str, Any, TestPlatform]]:
    need_chromium()
    db_path = tmp_path / "storage.sqlite3"
    shutil.copy(sqlite_template, db_path)
    later = _Later()
    tool = _Served(later)
    tool_url = f"http://localhost:{tool.port}"  # another site than the platform's 127.0.0.1
    later.app = create_app(app_config(f"sqlite:///{db_path}", tmp_path, BASE_URL=tool_url))
    platform = TestPlatform()
    platform.register(later.app.extensions["db"])
    launch_url = tool_url + "/lti/launch"

    def course_page(request: Request) -> Response:
        login = (
            tool_url
            + "/lti/login?"
            + urlencode(platform.login_form(target_link_uri=launch_url, lti_storage_target="_parent"))
        )
        forget = "true" if request.args.get("forget") else "false"
        html = PLATFORM_PAGE % {"login_url": login, "tool_origin": json.dumps(tool_url), "forget": forget}
        return Response(html, content_type="text/html; charset=utf-8")

    def authorize(request: Request) -> Response:
        args = request.args
        assert args["redirect_uri"] == launch_url and args["client_id"] == platform.client_id
        claims = platform.moodle_claims(args["nonce"], **{LTI + "target_link_uri": launch_url})
        token = platform.key.sign(claims)
        form = (
            f'<form method="post" action="{args["redirect_uri"]}">'
            f'<input type="hidden" name="id_token" value="{token}">'
            f'<input type="hidden" name="state" value="{args["state"]}"></form>'
        )
        body = f'<!doctype html><body onload="document.forms[0].submit()">{form}</body>'
        return Response(body, content_type="text/html; charset=utf-8")

    platform.server.route("GET", "/course", course_page)
    platform.server.route("GET", "/mod/lti/auth.php", authorize)
    tool.start()
    try:
        yield tool_url, platform.issuer, later.app, platform
    finally:
        tool.close()
        platform.close()
        later.app.extensions["db"].dispose()


@contextmanager
def third_party_cookies_blocked(browser: Any) -> Iterator[Any]:
    """A Chromium profile of its own, with third-party cookies blocked, from the session's Playwright."""
    profile = Path(tempfile.mkdtemp(prefix="chromium-3pc-blocked-"))
    (profile / "Default").mkdir()
    (profile / "Default" / "Preferences").write_text(
        json.dumps({"profile": {"block_third_party_cookies": True, "cookie_controls_mode": 1}})
    )
    context = browser.browser_type.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.browser
def test_launch_in_cross_site_iframe_with_third_party_cookies_blocked(
    world: tuple[str, str, Any, TestPlatform], browser: Any
) -> None:
    tool_url, platform_url, app, _platform = world
    with third_party_cookies_blocked(browser) as context:
        page = context.new_page()
        page.goto(platform_url + "/course")
        frame = page.frame(name="tool")
        assert frame is not None
        frame.wait_for_url("**/learn/**", timeout=20000)
        landed = urlsplit(frame.url)
        assert landed.path.startswith("/learn/"), frame.url
        # no state cookie came back: the session travels in the signed URL token
        assert "lt=" in landed.query
        assert frame.locator("body").inner_text()
        messages = page.evaluate("window.ltiMessages")
        assert any(m.startswith("lti.put_data:state_") for m in messages), messages
        assert any(m.startswith("lti.put_data:nonce_") for m in messages), messages
        # without the cookie, the launch was accepted only after the state was read back from storage
        assert any(m.startswith("lti.get_data:state_") for m in messages), messages
        store = page.evaluate("window.ltiStore")
        assert any(key.startswith(tool_url + "|state_") for key in store), store
        # the browser kept no cookie of the tool (third-party in this page)
        assert [c for c in context.cookies() if c["domain"] == "localhost"] == []
    from sqlalchemy import select

    from lti_tool.db.lti_models import OidcState

    with app.extensions["db"].read() as session:
        state = session.scalars(select(OidcState)).one()
        assert state.storage == "platform" and state.used_at is not None


@pytest.mark.browser
def test_cookieless_launch_is_not_accepted_when_platform_storage_lacks_the_state(
    world: tuple[str, str, Any, TestPlatform], browser: Any
) -> None:
    """Login CSRF: a launch whose state this browser's platform storage does not hold is not accepted;
    the page offers a new window instead, and no session starts."""
    tool_url, platform_url, app, _platform = world
    with third_party_cookies_blocked(browser) as context:
        page = context.new_page()
        page.goto(platform_url + "/course?forget=1")
        frame = page.frame(name="tool")
        assert frame is not None
        frame.wait_for_selector("#lti-reopen:not([hidden])", timeout=20000)
        assert "Open the tool in a new window" in frame.locator("body").inner_text()
        assert "/learn/" not in frame.url and "lt=" not in frame.url
        messages = page.evaluate("window.ltiMessages")
        assert any(m.startswith("lti.get_data:state_") for m in messages), messages
    from sqlalchemy import select

    from lti_tool.db.lti_models import OidcState

    with app.extensions["db"].read() as session:
        state = session.scalars(select(OidcState)).one()
        assert state.used_at is None  # nothing accepted
