"""CSRF on: a cookie-less iframe posts with the signed launch token; without it, or forged, refused."""

from __future__ import annotations

from pathlib import Path

from lti_tool import create_app
from lti_tool.db import Database
from lti_tool.services import evidence
from lti_tool.web import auth
from tests import factories
from tests.conftest import app_config

CRED = "ef-foundations-of-practice"


def test_cookieless_form_posts_need_the_launch_token(sqlite_url: str, tmp_path: Path) -> None:
    app = create_app(app_config(sqlite_url, tmp_path, WTF_CSRF_ENABLED=True))
    db: Database = app.extensions["db"]
    factories.load_shipped_map(db)
    learner = factories.course(db).learner()
    with app.test_request_context():
        token = auth.sign_in(learner)
    client = app.test_client(use_cookies=False)

    forged = client.post(
        f"/learn/credentials/{CRED}",
        data={"action": "save", "answer-research": "x", "lt": token[:-4] + "AAAA"},
    )
    assert forged.status_code == 400 and "CSRF" in forged.data.decode()
    missing = client.post(f"/learn/credentials/{CRED}", data={"action": "save", "answer-research": "x"})
    assert missing.status_code == 400
    assert evidence.open_submission(db, learner.context_id, learner.user_id, CRED).id is None

    saved = client.post(
        f"/learn/credentials/{CRED}?lt={token}",
        data={"action": "save", "answer-research": "from a cookie-less iframe", "lt": token},
    )
    assert saved.status_code == 303
    answers = evidence.open_submission(db, learner.context_id, learner.user_id, CRED).answers
    assert answers == {"research": "from a cookie-less iframe"}
    app.extensions["db"].dispose()
