"""A deep-linking request is answered once, server-side; the picker works without cookies (``dl``+``lt``).

The dev platform opens the picker with a real LtiDeepLinkingRequest. The browser keeps no cookies (an LMS
iframe with third-party cookies blocked), CSRF protection is on: the picker's form must carry the signed
``dl`` and ``lt`` tokens, and a second post of the same answer is refused even though those tokens are
still valid.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from sqlalchemy import func, select

from lti_tool import create_app
from lti_tool.db.lti_models import DeepLinkResponse
from tests.conftest import app_config
from tests.integration.test_lti_dev_platform import Browser, _press, parse

CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"


class StorageBrowser(Browser):
    """A browser without cookies in an LMS that offers platform storage (lti_storage_target): it does
    what lti-storage.js and lti-launch-check.js do (the scripts themselves run in tests/browser), i.e.
    goes on to the platform after the login page, and posts the launch again once the state checks out."""

    def _open(self, method: str, url: str, data: dict[str, str] | None = None) -> Any:
        if urlsplit(url).path == "/lti/login" and method == "POST":
            data = {**(data or {}), "lti_storage_target": "_parent"}
        response = super()._open(method, url, data)
        body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        if 'id="lti-storage-data"' in body:
            start = body.index('id="lti-storage-data">') + len('id="lti-storage-data">')
            return self._open("GET", json.loads(body[start : body.index("</script>", start)])["authUrl"])
        if 'id="lti-launch-form"' in body:
            form = next(f for f in parse(body).forms if f.action == "/lti/launch")
            assert form.fields.get("lti_storage_check")
            return self._open("POST", "http://tool.test/lti/launch", form.fields)
        return response


@pytest.fixture
def cookieless(database_url: str, tmp_path: Path) -> Any:
    app = create_app(app_config(database_url, tmp_path, DEV_PLATFORM="1", WTF_CSRF_ENABLED=True))
    yield app, app.test_client(use_cookies=False)
    app.extensions["db"].dispose()


def _responses(app: Any) -> int:
    with app.extensions["db"].read() as session:
        return int(session.scalar(select(func.count()).select_from(DeepLinkResponse)) or 0)


def test_picker_without_cookies_answers_once(cookieless: Any) -> None:
    app, client = cookieless
    browser = StorageBrowser(client)
    picker = _press(browser, "Try deep linking")
    assert picker.status_code == 200, picker.get_data(as_text=True)[:1000]
    query = parse_qs(urlsplit(browser.url).query)
    assert urlsplit(browser.url).path == "/lti/deep-link" and "dl" in query and "lt" in query

    form = parse(picker.get_data(as_text=True)).forms[0]
    assert form.fields["dl"] == query["dl"][0] and form.fields["lt"]
    assert "lt=" in form.action  # the action keeps the session token as well
    item = picker.get_data(as_text=True).split('name="item" value="')[1].split('"')[0]
    answer = {**form.fields, "item": item}

    first = client.post(urlsplit(form.action).path, query_string=urlsplit(form.action).query, data=answer)
    assert first.status_code == 200, first.get_data(as_text=True)[:1000]
    returned = parse(first.get_data(as_text=True)).forms[0]
    assert returned.action.startswith("http://tool.test/dev/platform/deep-link-return")
    claims = jwt.decode(
        returned.fields["JWT"],
        key=jwt.PyJWKSet.from_dict(app.test_client().get("/lti/jwks.json").json).keys[0].key,
        algorithms=["RS256"],
        audience=app.extensions["settings"].base_url + "/dev/platform",
    )
    assert claims[CONTENT_ITEMS][0]["custom"]
    assert _responses(app) == 1

    # The same browser posts the same answer again: the dl and lt tokens are still valid, the request is not.
    second = client.post(urlsplit(form.action).path, query_string=urlsplit(form.action).query, data=answer)
    assert second.status_code == 409
    assert "already sent" in second.get_data(as_text=True)
    # And from another browser (the tokens copied): refused too.
    other = app.test_client(use_cookies=False)
    third = other.post(urlsplit(form.action).path, query_string=urlsplit(form.action).query, data=answer)
    assert third.status_code == 409
    assert _responses(app) == 1


def test_cookieless_picker_post_without_the_launch_token_is_refused_by_csrf(cookieless: Any) -> None:
    app, client = cookieless
    browser = StorageBrowser(client)
    picker = _press(browser, "Try deep linking")
    form = parse(picker.get_data(as_text=True)).forms[0]
    item = picker.get_data(as_text=True).split('name="item" value="')[1].split('"')[0]
    forged = {k: v for k, v in form.fields.items() if k != "lt"} | {"item": item}
    response = client.post("/lti/deep-link", data=forged)
    assert response.status_code in (400, 401, 403)
    assert _responses(app) == 0
