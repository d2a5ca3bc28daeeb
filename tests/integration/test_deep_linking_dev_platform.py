"""Deep linking and the dev platform's services, through the tool served on 127.0.0.1 with DEV_PLATFORM on.

A ``requests`` session is the browser: the dev platform signs real id_tokens, the tool's picker answers
with a signed LtiDeepLinkingResponse that the dev platform verifies, and the tool's gradebook and roster
calls reach the dev platform's token, AGS and NRPS endpoints over HTTP.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from sqlalchemy import select

from lti_tool import create_app
from lti_tool.db import Database
from lti_tool.db.lti_service_models import DevLineItem, DevScore
from lti_tool.db.models import Context, User
from lti_tool.lti import ags
from lti_tool.lti.keys import active_signing_key
from lti_tool.lti.service_token import client_assertion
from lti_tool.services import outbox
from lti_tool.services.roster import refresh_roster
from tests.conftest import app_config
from tests.integration.test_lti_e2e_platform import FORM, HIDDEN, Served, _free_port, autopost
from tests.lti_platform_helpers import landed_path

DL_CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"


@dataclass
class Dev:
    url: str
    db: Database


@pytest.fixture
def dev(database_url: str, tmp_path: Path) -> Iterator[Dev]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(app_config(database_url, tmp_path, BASE_URL=url, DEV_PLATFORM="1"))
    served = Served(app, port)
    try:
        with app.app_context():  # services called from the test run in the app, as the worker runs them
            yield Dev(url, app.extensions["db"])
    finally:
        served.close()
        app.extensions["db"].dispose()


def start(
    dev: Dev, user: str, message: str = "resource", target: str = ""
) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    assert browser.get(dev.url + "/dev/platform/").status_code == 200
    initiation = browser.post(
        dev.url + "/dev/platform/start", data={"user": user, "message": message, "target": target}
    )
    auth_page = autopost(browser, initiation)  # -> /lti/login -> /dev/platform/auth
    return browser, autopost(browser, auth_page)  # id_token -> /lti/launch -> landing page


def picker_form(page: requests.Response) -> tuple[str, dict[str, str], list[str]]:
    match = FORM.search(page.text)
    assert match, page.text[:1500]
    fields = {n: html.unescape(v) for n, v in HIDDEN.findall(match.group(2))}
    values = re.findall(r'name="item" value="([^"]+)"', page.text)
    return html.unescape(match.group(1)), fields, values


def test_designer_picks_stack_and_credential_and_the_platform_verifies(dev: Dev) -> None:
    browser, picker = start(dev, "dev-designer", "deep_linking")
    assert picker.status_code == 200, picker.text[:1500]
    assert urlsplit(picker.url).path == "/lti/deep-link"
    action, fields, values = picker_form(picker)
    stack = next(v for v in values if v.startswith("stack:"))
    credential = next(v for v in values if v.startswith("credential:"))
    assert 'type="checkbox"' in picker.text  # the dev platform accepts multiple items

    answer = browser.post(dev.url + action, data={**fields, "item": [stack, credential]})
    assert answer.status_code == 200, answer.text[:1500]
    token = re.search(r'name="JWT" value="([^"]+)"', answer.text)
    assert token
    claims = jwt.decode(html.unescape(token.group(1)), options={"verify_signature": False})
    header = jwt.get_unverified_header(html.unescape(token.group(1)))
    assert header["kid"] == active_signing_key(dev.db)[0]
    assert claims["iss"] == "dev-tool" and claims["aud"] == dev.url + "/dev/platform"
    assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == "LtiDeepLinkingResponse"
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"].startswith("dev-")
    assert claims["nonce"]
    items = claims[DL_CONTENT_ITEMS]
    assert [i["custom"] for i in items] == [
        {"stack": stack.split(":", 1)[1], "course_map": "learning-differences"},
        {
            "credential": credential.split(":", 1)[1],
            "course_map": "learning-differences",
            "gradebook": "none",
        },
    ]
    # The credential is in the stack placed with it: by default only the stack is graded (no double count).
    assert items[0]["lineItem"]["resourceId"] == stack and "lineItem" not in items[1]

    returned = autopost(browser, answer)  # the dev platform verifies signature, aud, iss, deployment
    assert returned.status_code == 200, returned.text[:1500]


def test_picker_refuses_learners_unknown_items_and_missing_requests(dev: Dev) -> None:
    browser, picker = start(dev, "dev-designer", "deep_linking")
    action, fields, _ = picker_form(picker)
    refused = browser.post(dev.url + action, data={**fields, "item": "stack:no-such-stack"})
    assert refused.status_code == 400 and "no-such-stack" in refused.text
    assert browser.post(dev.url + action, data=fields).status_code == 400  # nothing picked

    learner_browser, home = start(dev, "dev-learner")
    assert landed_path(home.url, home).startswith("/learn")
    lt = dict(p.split("=", 1) for p in urlsplit(home.url).query.split("&") if "=" in p).get("lt", "")
    assert learner_browser.get(dev.url + "/lti/deep-link", params={"lt": lt}).status_code == 403
    # A designer session without a deep-linking launch has nothing to answer.
    designer_browser, design = start(dev, "dev-designer")
    lt = dict(p.split("=", 1) for p in urlsplit(design.url).query.split("&") if "=" in p).get("lt", "")
    assert designer_browser.get(dev.url + "/lti/deep-link", params={"lt": lt}).status_code == 400


def test_scores_and_roster_flow_through_the_dev_platform(dev: Dev) -> None:
    _, home = start(dev, "dev-learner")
    assert home.status_code == 200
    with dev.db.read() as session:
        context = session.scalars(select(Context)).one()
        learner = session.scalars(select(User).where(User.sub == "dev-learner")).one()
    with dev.db.transaction() as session:
        outbox.enqueue(
            session,
            ags.TOPIC_CREDENTIAL,
            {
                "context_id": context.id,
                "user_id": learner.id,
                "course_key": "learning-differences",
                "credential_key": "CRED-X",
                "title": "Credential X",
                "state": "not_yet",
                "comment": "Add a second work sample.",
                "timestamp": "2026-11-24T10:00:00+00:00",
            },
        )
    assert outbox.drain(dev.db).delivered == 1
    with dev.db.read() as session:
        item = session.scalars(select(DevLineItem)).one()
        score = session.scalars(select(DevScore)).one()
    assert (item.resource_id, item.tag, item.score_maximum) == ("credential:CRED-X", "credential", 1)
    assert score.user_id == "dev-learner" and score.content_type.startswith(ags.MEDIA_SCORE)
    assert (score.score_given, score.activity_progress, score.grading_progress) == (
        0,
        "InProgress",
        "FullyGraded",
    )
    page = requests.get(dev.url + "/dev/platform/scores")
    assert page.status_code == 200 and "Add a second work sample." in page.text and "Lee Learner" in page.text

    result = refresh_roster(dev.db, context.id)
    assert result.members == 4 and result.added == 3  # the learner launched already


def test_dev_token_endpoint_checks_aud_iss_sub_and_single_use_jti(dev: Dev) -> None:
    requests.get(dev.url + "/dev/platform/")
    kid, pem = active_signing_key(dev.db)
    token_url = dev.url + "/dev/platform/token"
    scope = "https://purl.imsglobal.org/spec/lti-ags/scope/score"

    def ask(assertion: str) -> requests.Response:
        return requests.post(
            token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
                "scope": scope,
            },
        )

    good = client_assertion("dev-tool", token_url, kid, pem)
    first = ask(good)
    assert first.status_code == 200 and first.json()["token_type"] == "Bearer"
    assert ask(good).json()["error_description"] == "jti already used"
    assert ask(client_assertion("dev-tool", "https://elsewhere.example/token", kid, pem)).status_code == 401
    assert ask(client_assertion("someone-else", token_url, kid, pem)).status_code == 401
    forged = jwt.encode({"iss": "dev-tool"}, "not-the-key-" * 4, algorithm="HS256", headers={"kid": kid})
    assert ask(forged).status_code == 401
    # A service call without a token is refused; the score media type is enforced.
    url = dev.url + "/dev/platform/ags/dev-course/lineitems"
    assert requests.get(url).status_code == 401
    bearer = {"Authorization": "Bearer " + first.json()["access_token"]}
    assert requests.post(url, json={"label": "x", "scoreMaximum": 1}, headers=bearer).status_code in (
        400,
        401,
    )
