r"""The session cookie: Flask's signed cookie (same format, salt, keys, attributes), cheaper per request.

Flask's ``SecureCookieSessionInterface`` builds a new signing serializer for every request, twice when the
session changes (opening it, saving it), and each build serialises ``{}`` once to learn the serializer's
type. The serializer is a pure function of the app's secret key and fallbacks, so each app keeps the one it
built (rebuilt when a key changes).

The payload is Flask's tagged JSON. A session of plain JSON values (strings, numbers, booleans, None, lists,
dicts with string keys: the actor and Flask-WTF's token) has no tags, and its tagged JSON is exactly
``json.dumps`` with the app's JSON settings: that is written directly, without walking the tagger over every
value first. Reading back skips the untag walk when the text cannot hold a tag (a tag is an object whose
one key starts with a space, ``{" t": ...}``: its text has ``" `` or ``"\u0020``).
Anything else goes through Flask's serializer unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, current_app
from flask.json.provider import DefaultJSONProvider
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Response
from itsdangerous import URLSafeTimedSerializer

_SCALARS = frozenset({str, int, float, bool, type(None)})


class _SessionJSON(TaggedJSONSerializer):
    def _plain(self, value: Any) -> bool:
        """Whether tagging ``value`` would leave it unchanged (no value in it has a tag of its own)."""
        kind = type(value)
        if kind in _SCALARS:
            return True
        if kind is list:
            return all(type(item) in _SCALARS or self._plain(item) for item in value)
        if kind is dict:
            if len(value) == 1 and next(iter(value)) in self.tags:
                return False  # a one-key dict whose key is a tag's: the tagger wraps it
            for key, item in value.items():
                if type(key) is not str or (type(item) not in _SCALARS and not self._plain(item)):
                    return False
            return True
        return False

    def dumps(self, value: Any) -> str:
        provider = current_app.json
        if type(provider) is DefaultJSONProvider and self._plain(value):
            return json.dumps(
                value,
                separators=(",", ":"),
                ensure_ascii=provider.ensure_ascii,
                sort_keys=provider.sort_keys,
            )
        return super().dumps(value)

    def loads(self, value: str) -> Any:
        if '" ' not in value and '"\\u0020' not in value and type(current_app.json) is DefaultJSONProvider:
            return json.loads(value)
        return super().loads(value)


class CookieSessions(SecureCookieSessionInterface):
    serializer = _SessionJSON()

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        made: tuple[Any, URLSafeTimedSerializer | None] | None = app.extensions.get("session_serializer")
        if made is None or made[0] != key:
            made = (key, super().get_signing_serializer(app))
            app.extensions["session_serializer"] = made
        return made[1]

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Flask's save_session (same cookie, same deletion, same ``Vary: Cookie``), with ``Vary`` edited in
        place: ``response.vary.add`` parses the header into a set and writes it back, twice per sign-in."""
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)

        if session.accessed:
            _vary_on_cookie(response)

        if not session:
            if session.modified:
                response.delete_cookie(
                    name,
                    domain=domain,
                    path=path,
                    secure=secure,
                    partitioned=partitioned,
                    samesite=samesite,
                    httponly=httponly,
                )
                _vary_on_cookie(response)
            return

        if not self.should_set_cookie(app, session):
            return

        signer = self.get_signing_serializer(app)
        assert signer is not None  # Flask opens no session without a secret key
        response.set_cookie(
            name,
            signer.dumps(dict(session)),
            expires=self.get_expiration_time(app, session),
            httponly=httponly,
            domain=domain,
            path=path,
            secure=secure,
            partitioned=partitioned,
            samesite=samesite,
        )
        _vary_on_cookie(response)


def _vary_on_cookie(response: Response) -> None:
    """``response.vary.add("Cookie")``: Cookie joins the Vary header unless it is listed already."""
    headers = response.headers
    vary = headers.get("Vary")
    if not vary:
        headers["Vary"] = "Cookie"
    elif "cookie" not in (item.strip().lower() for item in vary.split(",")):
        headers["Vary"] = f"{vary}, Cookie"


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
