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
from flask.sessions import SecureCookieSessionInterface
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


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
