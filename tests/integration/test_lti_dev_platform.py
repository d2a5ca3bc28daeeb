"""The development platform (DEV_PLATFORM on) drives real launches through the tool's endpoints.

A test-client "browser" follows every redirect and submits every auto-posting form, as a browser's
onload would: /dev/platform -> start -> /lti/login -> /dev/platform/auth -> id_token auto-post ->
/lti/launch -> the page for the user's role. With DEV_PLATFORM off the platform does not exist (404).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from lti_tool import create_app
from lti_tool.db.lti_models import OidcState
from lti_tool.db.models import Membership, User
from tests.conftest import app_config
from tests.lti_platform_helpers import landing_of


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, label)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.autosubmit = False
        self._button: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
            # static/autopost.js submits a form marked data-autopost as soon as the page loads
            self.autosubmit = self.autosubmit or "data-autopost" in a
        elif tag == "input" and self.forms and a.get("type") == "hidden":
            self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "button" and self.forms:
            self._button = {"name": a.get("name", ""), "value": a.get("value", ""), "label": ""}

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["label"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self.forms:
            b = self._button
            self.forms[-1].buttons.append((b["name"], b["value"], b["label"].strip()))
            self._button = None


def parse(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


class Browser:
    """Follows redirects and auto-posting forms across the tool and the dev platform (one server)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.url = ""
        self.visited: list[str] = []

    def _open(self, method: str, url: str, data: dict[str, str] | None = None) -> Any:
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}" if parts.netloc else "http://tool.test"
        self.url = base + parts.path + (f"?{parts.query}" if parts.query else "")
        self.visited.append(parts.path)
        return self.client.open(parts.path, method=method, query_string=parts.query, data=data, base_url=base)

    def go(self, method: str, url: str, data: dict[str, str] | None = None) -> Any:
        response = self._open(method, url, data)
        for _ in range(12):
            if response.status_code in (301, 302, 303):
                response = self._open("GET", response.headers["Location"])
                continue
            page = parse(response.get_data(as_text=True)) if response.mimetype == "text/html" else None
            if page is not None and page.autosubmit and page.forms:
                form = page.forms[0]
                response = self._open(form.method.upper(), form.action, form.fields)
                continue
            return response
        raise AssertionError("too many redirects and auto-posts: " + " -> ".join(self.visited))


@pytest.fixture
def dev_client(database_url: str, tmp_path: Path) -> Any:
    app = create_app(app_config(database_url, tmp_path, DEV_PLATFORM="1"))
    yield app, app.test_client()
    app.extensions["db"].dispose()


def _press(browser: Browser, label_start: str) -> Any:
    home = browser.go("GET", "/dev/platform/")
    assert home.status_code == 200
    for form in parse(home.get_data(as_text=True)).forms:
        for name, value, label in form.buttons:
            if label.startswith(label_start):
                return browser.go("POST", form.action, {**form.fields, name: value, "target": ""})
    raise AssertionError(f"no button {label_start!r} on the dev platform page")


@pytest.mark.parametrize(
    ("button", "landing", "sub", "roles"),
    [
        ("Launch as learner", "/learn/", "dev-learner", ["learner"]),
        ("Launch as assessor", "/assess/", "dev-assessor", ["assessor"]),
        ("Launch as course designer", "/design/", "dev-designer", ["assessor", "designer"]),
    ],
)
def test_each_role_lands_on_its_page(
    dev_client: Any, button: str, landing: str, sub: str, roles: list[str]
) -> None:
    app, client = dev_client
    browser = Browser(client)
    page = _press(browser, button)
    assert page.status_code == 200, page.get_data(as_text=True)[:1000]
    # the whole OIDC round trip happened, through the real endpoints
    assert browser.visited[:5] == [
        "/dev/platform/",
        "/dev/platform/start",
        "/lti/login",
        "/dev/platform/auth",
        "/lti/launch",
    ]
    # A learner's launch answers with the landing page itself (landing_of), the others redirect to theirs.
    assert (landing_of(page) or urlsplit(browser.url).path) == landing
    db = app.extensions["db"]
    with db.read() as session:
        user = session.scalars(select(User).where(User.sub == sub)).one()
        membership = session.scalars(select(Membership).where(Membership.user_id == user.id)).one()
        assert membership.roles == roles
        state = session.scalars(select(OidcState)).one()
        assert state.used_at is not None  # the login's state was consumed by the launch


def test_try_deep_linking_reaches_the_picker(dev_client: Any) -> None:
    _app, client = dev_client
    browser = Browser(client)
    page = _press(browser, "Try deep linking")
    assert page.status_code == 200, page.get_data(as_text=True)[:1000]
    assert urlsplit(browser.url).path == "/lti/deep-link"
    assert "/lti/launch" in browser.visited
    assert 'name="item"' in page.get_data(as_text=True)  # the picker lists stacks and credentials


def test_dev_platform_is_absent_when_off(database_url: str, tmp_path: Path) -> None:
    app = create_app(app_config(database_url, tmp_path, DEVELOPMENT="0"))
    client = app.test_client()
    assert client.get("/dev/platform").status_code == 404
    assert client.get("/dev/platform/").status_code == 404
    assert client.post("/dev/platform/start", data={"user": "dev-learner"}).status_code == 404
    assert client.get("/dev/platform/auth", query_string={"login_hint": "dev-learner"}).status_code == 404
    assert client.get("/dev/platform/jwks.json").status_code == 404
    app.extensions["db"].dispose()
