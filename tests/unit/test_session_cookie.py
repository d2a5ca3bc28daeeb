"""The session cookie (lti_tool.web.sessions) is Flask's own, byte for byte: the same payload, signature,
attributes and ``Vary: Cookie``; cookies of either read in the other; key rotation still works."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask, session
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup

from lti_tool.web.sessions import CookieSessions, _SessionJSON

PLAIN: list[Any] = [
    {},
    {"actor": {"user_id": 1, "roles": ["learner"], "name": "Zoë \u2603", "frame_origin": None, "x": 1.5}},
    {"csrf_token": "abc", "flag": True, "nested": [[1, 2], {"a": [None, False]}]},
    {" note": "a key with a leading space, not a tag's"},
    {"text": 'say "hi" then { " t": 1 }', "empty": ""},
]
TAGGED: list[Any] = [
    {"pair": (1, 2)},
    {"raw": b"\x00\xff"},
    {"html": Markup("<b>x</b>")},
    {"when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)},
    {"id": uuid.UUID(int=7)},
    {" t": [1, 2]},
    {"inner": {" di": 1}},
    {"list": [1, (2, 3)]},
]
# Not JSON's own, not tagged: Flask writes the key as a string, and so do we.
ODD: list[Any] = [{1: "a non-string key"}, {"n": 2**70, "f": float("inf")}]


@pytest.fixture
def app() -> Flask:
    return Flask(__name__)


@pytest.mark.parametrize("value", PLAIN + TAGGED + ODD)
def test_the_payload_is_flasks_tagged_json(app: Flask, value: Any) -> None:
    ours, flasks = _SessionJSON(), TaggedJSONSerializer()
    with app.app_context():
        text = ours.dumps(value)
        assert text == flasks.dumps(value)
        assert ours.loads(text) == flasks.loads(text)
        if value in TAGGED:
            assert ours.loads(text) == value  # the tags come back as their types


def test_a_tag_written_with_an_escaped_space_is_still_read_as_a_tag(app: Flask) -> None:
    with app.app_context():
        assert _SessionJSON().loads('{"\\u0020t":[1,2]}') == (1, 2)


def _app(interface: SecureCookieSessionInterface, secret: str = "s" * 32) -> Flask:
    app = Flask(__name__)
    app.secret_key = secret
    app.session_interface = interface

    @app.post("/set")
    def set_value() -> str:
        session["actor"] = {"user_id": 1, "roles": ["learner"], "name": "Ann"}
        session["pair"] = (1, 2)
        return "ok"

    @app.get("/get")
    def get_value() -> str:
        return repr(sorted(session.items()))

    @app.get("/touch")
    def touch() -> str:
        return str("actor" in session)

    @app.post("/clear")
    def clear() -> str:
        session.clear()
        return "ok"

    return app


def test_the_cookie_and_its_headers_are_flasks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: 1_800_000_000)
    ours, flasks = _app(CookieSessions()), _app(SecureCookieSessionInterface())
    for path in ("/set", "/clear"):
        mine, theirs = ours.test_client().post(path), flasks.test_client().post(path)
        assert mine.headers.getlist("Set-Cookie") == theirs.headers.getlist("Set-Cookie")
        assert mine.headers.get("Vary") == theirs.headers.get("Vary")
    assert ours.test_client().get("/touch").headers.get("Vary") == "Cookie"


def test_cookies_read_across_and_keys_rotate() -> None:
    ours, flasks = _app(CookieSessions()), _app(SecureCookieSessionInterface())
    for writer, reader in ((ours, flasks), (flasks, ours)):
        client = writer.test_client()
        client.post("/set")
        cookie = client.get_cookie("session")
        assert cookie is not None
        other = reader.test_client()
        other.set_cookie("session", cookie.value)
        assert "('pair', (1, 2))" in other.get("/get").get_data(as_text=True)

    client = ours.test_client()
    client.post("/set")
    ours.secret_key = "n" * 32  # rotated: the old cookie is refused ...
    assert client.get("/get").get_data(as_text=True) == "[]"
    ours.config["SECRET_KEY_FALLBACKS"] = ["s" * 32]  # ... unless the old key is a fallback
    assert "user_id" in client.get("/get").get_data(as_text=True)


def test_a_view_that_already_varies_gets_cookie_once() -> None:
    app = _app(CookieSessions())

    @app.get("/varies")
    def varies() -> Any:
        session["x"] = 1
        return "ok", 200, {"Vary": "Accept-Encoding, cookie"}

    @app.get("/varies-else")
    def varies_else() -> Any:
        session["x"] = 1
        return "ok", 200, {"Vary": "Accept-Encoding"}

    assert app.test_client().get("/varies").headers["Vary"] == "Accept-Encoding, cookie"
    assert app.test_client().get("/varies-else").headers["Vary"] == "Accept-Encoding, Cookie"
