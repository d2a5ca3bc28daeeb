"""The baseline for bench/launch_throughput.py: a minimal pylti1p3 + Flask tool that only validates launches.

Configured from the environment (set by the benchmark): MINIMAL_TOOL_CONFIG (pylti1p3 ToolConfDict JSON)
and SECRET_KEY. Served with ``gunicorn --chdir bench minimal_pylti1p3_tool:app``.
"""

from __future__ import annotations

import json
import os

from flask import Flask, request
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.tool_config import ToolConfDict

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "bench-minimal-secret")
app.config["SESSION_COOKIE_SAMESITE"] = "None"
app.config["SESSION_COOKIE_SECURE"] = False
_tool_conf = ToolConfDict(json.loads(os.environ["MINIMAL_TOOL_CONFIG"]))


@app.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    flask_request = FlaskRequest()
    target = flask_request.get_param("target_link_uri")
    return FlaskOIDCLogin(flask_request, _tool_conf).redirect(target)


@app.post("/launch")
def launch():  # type: ignore[no-untyped-def]
    message_launch = FlaskMessageLaunch(FlaskRequest(), _tool_conf)
    data = message_launch.get_launch_data()
    return {
        "sub": data["sub"],
        "message_type": data["https://purl.imsglobal.org/spec/lti/claim/message_type"],
    }


@app.get("/")
def index() -> str:
    return request.host
