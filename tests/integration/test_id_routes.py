"""Ids in URLs beyond the INTEGER primary keys' range are a 404, never a database error (HTTP 500).

PostgreSQL refuses ``WHERE id = 2147483648::INTEGER`` (NumericValueOutOfRange) and SQLite cannot bind an
int beyond 64 bits: the ``<id:...>`` converter (lti_tool/web/converters.py) keeps such URLs from matching.
"""

from __future__ import annotations

import pytest
from flask import Flask, url_for
from werkzeug.exceptions import NotFound

from lti_tool.web.converters import MAX_ID
from tests import factories

CRED = "ef-foundations-of-practice"
TOO_BIG = ["2147483648", "9223372036854775808", "99999999999999999999", "1" + "0" * 5000]
NOT_IDS = ["0", "00", "007", "-1", "1.5", "１"]  # zero, leading zeros, signed, decimal, a full-width digit


@pytest.mark.parametrize("value", TOO_BIG + NOT_IDS)
def test_ids_out_of_range_are_not_found(app: Flask, value: str) -> None:
    db = app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    assessor, learner = course.assessor(), course.learner()
    client = app.test_client()

    factories.sign_in(client, assessor)
    assert client.get(f"/assess/submissions/{value}").status_code == 404
    assert client.post(f"/assess/submissions/{value}", data={"feedback": "x"}).status_code == 404
    assert client.get(f"/learn/artifacts/{value}").status_code == 404

    factories.sign_in(client, learner)
    assert client.get(f"/learn/artifacts/{value}").status_code == 404
    assert client.post(f"/learn/credentials/{CRED}/artifacts/{value}/remove").status_code == 404
    assert client.get(f"/dev/platform/ags/ctx/lineitems/{value}/lineitem").status_code == 404


def test_the_largest_id_still_reaches_the_page(app: Flask) -> None:
    db = app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    client = app.test_client()
    factories.sign_in(client, course.assessor())
    # in range: the view runs (and its query), and answers that there is no such submission or artifact
    json = {"Accept": "application/json"}
    for path in (f"/assess/submissions/{MAX_ID}", f"/learn/artifacts/{MAX_ID}"):
        response = client.get(path, headers=json)
        assert response.status_code == 404 and response.json["error"]["code"] != "not_found", path
    factories.sign_in(client, course.learner())
    response = client.get(f"/learn/artifacts/{MAX_ID}", headers=json)
    assert response.status_code == 404 and response.json["error"]["code"] != "not_found"


def test_id_routes_build_and_match(app: Flask) -> None:
    with app.test_request_context():
        assert url_for("assessor.review", submission_id=7) == "/assess/submissions/7"
        assert url_for("learner.artifact", artifact_id=MAX_ID) == f"/learn/artifacts/{MAX_ID}"
    adapter = app.url_map.bind("tool.test")
    assert adapter.match("/assess/submissions/7") == ("assessor.review", {"submission_id": 7})
    assert adapter.match(f"/assess/submissions/{MAX_ID}", method="POST") == (
        "assessor.decide",
        {"submission_id": MAX_ID},
    )
    for value in ("0", "007", str(MAX_ID + 1)):
        for method in ("GET", "POST"):
            with pytest.raises(NotFound):  # not MethodNotAllowed: no rule matches the path at all
                adapter.match(f"/assess/submissions/{value}", method=method)
