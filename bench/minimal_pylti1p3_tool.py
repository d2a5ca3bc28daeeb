"""The baseline for bench/launch_throughput.py: a minimal pylti1p3 + Flask tool at its strongest fair setting.

It validates launches with pylti1p3, keeps the platform's key set in pylti1p3's public-key cache
(``set_public_key_caching`` over cachelib's in-process SimpleCache: no fetch per launch, and no network
hop to a cache server either), keeps the launch in the Flask session as pylti1p3 does, and answers the
launch with a redirect to a landing page that greets the user by name from the stored launch: the same
shape a user waits for in our tool (login -> platform -> launch -> landing page rendered).

Configured from the environment (set by the benchmark): MINIMAL_TOOL_CONFIG (pylti1p3 ToolConfDict JSON)
and SECRET_KEY. Served with ``gunicorn --chdir bench minimal_pylti1p3_tool:app``.
"""

from __future__ import annotations

import json
import os

from cachelib import SimpleCache
from flask import Flask, redirect, render_template_string, request, session
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.contrib.flask.launch_data_storage.cache import FlaskCacheDataStorage
from pylti1p3.tool_config import ToolConfDict

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "bench-minimal-secret")
app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
app.config["SESSION_COOKIE_SECURE"] = False
_tool_conf = ToolConfDict(json.loads(os.environ["MINIMAL_TOOL_CONFIG"]))
_key_cache = SimpleCache(threshold=1000)  # one per worker process, as the tool's own in-memory key cache

LANDING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Welcome</title></head>
<body><h1>Welcome, {{ name }}</h1><p>Course: {{ course }}</p><ul>{% for role in roles %}<li>{{ role }}</li>
{% endfor %}</ul></body></html>"""


@app.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    flask_request = FlaskRequest()
    target = flask_request.get_param("target_link_uri")
    return FlaskOIDCLogin(flask_request, _tool_conf).redirect(target)


@app.post("/launch")
def launch():  # type: ignore[no-untyped-def]
    message_launch = FlaskMessageLaunch(FlaskRequest(), _tool_conf)
    message_launch.set_public_key_caching(FlaskCacheDataStorage(_key_cache), cache_lifetime=7200)
    message_launch.get_launch_data()
    session["launch_id"] = message_launch.get_launch_id()
    return redirect("/landing", 303)


@app.get("/landing")
def landing() -> str:
    launch = FlaskMessageLaunch.from_cache(session["launch_id"], FlaskRequest(), _tool_conf)
    data = launch.get_launch_data()
    context = data.get("https://purl.imsglobal.org/spec/lti/claim/context", {})
    return render_template_string(
        LANDING,
        name=data.get("name", ""),
        course=context.get("title", ""),
        roles=data.get("https://purl.imsglobal.org/spec/lti/claim/roles", []),
    )


@app.get("/")
def index() -> str:
    return request.host
