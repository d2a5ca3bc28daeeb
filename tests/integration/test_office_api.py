"""The office pull API, its tokens and the roster exports (SQLite and PostgreSQL): who may read, what each
office sees, pagination that loses and repeats nothing, periods, CSV that spreadsheets cannot turn into
formulas, and the operator's commands."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lti_tool import create_app
from lti_tool.db import Database
from lti_tool.db.records_models import OfficeDelivery, OfficeToken
from lti_tool.domain.licensure import FileLayout
from lti_tool.records.rosters import CE_BROKER_COLUMNS, GENERIC_COLUMNS
from lti_tool.services import office_tokens
from lti_tool.services.office_exports import ExportRefused, write_roster
from lti_tool.services.office_pull import encode_cursor
from tests.conftest import app_config
from tests.office_records import Records, records_in, write_offices

API = "/api/offices/v1"
T0 = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    offices = write_offices(tmp_path / "offices")
    application = create_app(app_config(database_url, tmp_path, OFFICES_DIR=str(offices)))
    yield application
    application.extensions["db"].dispose()


@pytest.fixture
def db(app: Flask) -> Database:
    database: Database = app.extensions["db"]
    return database


@pytest.fixture
def records(app: Flask, db: Database) -> Records:
    return records_in(db, app.extensions["offices"])


def _token(app: Flask, office: str) -> str:
    return office_tokens.create_token(app.extensions["db"], office, app.extensions["offices"]).token


def _get(client: FlaskClient, token: str | None, **query: str) -> tuple[int, dict, object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get(f"{API}/records", query_string=query, headers=headers)
    body = response.get_json(silent=True) if response.mimetype == "application/json" else response.text
    return response.status_code, dict(response.headers), body


def _all_pages(client: FlaskClient, token: str, **query: str) -> list[dict]:
    seen: list[dict] = []
    cursor = None
    while True:
        status, _, body = _get(client, token, **query, **({"cursor": cursor} if cursor else {}))
        assert status == 200, body
        assert isinstance(body, dict)
        seen += body["records"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return seen


# --- tokens -------------------------------------------------------------------------------------------


def test_missing_unknown_and_revoked_tokens_get_401_json(app: Flask, client: FlaskClient) -> None:
    token = _token(app, "nc-dpi")
    status, headers, body = _get(client, None)
    assert (status, body) == (401, {"error": {"code": "missing_token", "message": body["error"]["message"]}})
    assert headers["WWW-Authenticate"].startswith("Bearer")
    # Security headers still apply to the API, and nothing is cached.
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"

    assert _get(client, token + "x")[2]["error"]["code"] == "invalid_token"
    status, _, bad_scheme = _get_with(client, {"Authorization": f"Basic {token}"})
    assert (status, bad_scheme["error"]["code"]) == (401, "missing_token")
    assert _get(client, token)[0] == 200

    with app.extensions["db"].read() as session:
        (row,) = session.scalars(select(OfficeToken)).all()
    office_tokens.revoke_token(app.extensions["db"], row.id)
    status, _, body = _get(client, token)
    assert (status, body["error"]["code"]) == (401, "revoked_token")


def _get_with(client: FlaskClient, headers: dict[str, str]) -> tuple[int, dict, dict]:
    response = client.get(f"{API}/records", headers=headers)
    return response.status_code, dict(response.headers), response.get_json()


def test_token_is_stored_hashed_and_last_use_written_once_a_minute(app: Flask, db: Database) -> None:
    created = office_tokens.create_token(db, "nv-ccsd", app.extensions["offices"], "county records desk")
    with db.read() as session:
        row = session.get(OfficeToken, created.info.id)
    assert row is not None and created.token not in row.token_hash
    assert row.token_hash == office_tokens.token_hash(created.token)

    def last_used() -> datetime | None:
        with db.read() as session:
            return session.get(OfficeToken, created.info.id).last_used_at

    assert office_tokens.authenticate(db, created.token, now=T0) == "nv-ccsd"
    assert last_used() == T0
    office_tokens.authenticate(db, created.token, now=T0 + timedelta(seconds=59))
    assert last_used() == T0
    office_tokens.authenticate(db, created.token, now=T0 + timedelta(seconds=61))
    assert last_used() == T0 + timedelta(seconds=61)


def test_unknown_office_names_the_known_ones(app: Flask, db: Database) -> None:
    with pytest.raises(office_tokens.UnknownOffice, match="Known offices: nc-dpi, nv-ccsd"):
        office_tokens.create_token(db, "tx-tea", app.extensions["offices"])


# --- what an office reads -----------------------------------------------------------------------------


def test_an_office_sees_only_its_own_records(app: Flask, client: FlaskClient, records: Records) -> None:
    ada, bo = records.educator("Ada"), records.educator("Bo", state="NV")
    nc = {records.record("nc-dpi", ada, at=T0), records.record("nc-dpi", bo, at=T0)}
    nv = {records.record("nv-ccsd", bo, at=T0)}
    for office, expected in (("nc-dpi", nc), ("nv-ccsd", nv)):
        got = _all_pages(client, _token(app, office))
        assert {r["record_id"] for r in got} == expected
        assert {r["office"] for r in got} == {office}


def test_cursor_pages_hold_every_record_once_while_records_are_added(
    app: Flask, client: FlaskClient, records: Records
) -> None:
    token = _token(app, "nc-dpi")
    ada = records.educator()
    made = [records.record("nc-dpi", ada, at=T0 + timedelta(minutes=i)) for i in range(7)]
    made.append(records.record("nc-dpi", ada, at=T0, revoke_at=T0 + timedelta(days=1)))  # two events

    status, _, first = _get(client, token, limit="3")
    assert status == 200 and len(first["records"]) == 3 and first["has_more"]
    # Added between pages, including one for another office and one dated before the first page's.
    made.append(records.record("nc-dpi", ada, at=T0 - timedelta(days=3)))
    records.record("nv-ccsd", ada, at=T0)
    seen = list(first["records"])
    cursor = first["next_cursor"]
    while True:
        status, _, page = _get(client, token, limit="3", cursor=cursor)
        assert status == 200
        seen += page["records"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break

    keys = [r["idempotency_key"] for r in seen]
    assert len(keys) == len(set(keys)) == len(made) + 1  # the revoked record has two events
    assert sorted({r["record_id"] for r in seen}) == sorted(made)
    assert [r["event"] for r in seen].count("revoked") == 1
    # Polling on with the last cursor: nothing new means an empty page and the same cursor back.
    status, _, empty = _get(client, token, cursor=cursor)
    assert (status, empty) == (200, {"records": [], "next_cursor": cursor, "has_more": False})
    later = records.record("nc-dpi", ada)
    status, _, fresh = _get(client, token, cursor=cursor)
    assert [r["record_id"] for r in fresh["records"]] == [later]


def test_since_includes_its_instant_and_until_excludes_its_own(
    app: Flask, client: FlaskClient, records: Records
) -> None:
    token = _token(app, "nc-dpi")
    ada = records.educator()
    early, at_since, inside, at_until = (
        records.record("nc-dpi", ada, at=T0 + timedelta(hours=h)) for h in (-1, 0, 1, 2)
    )
    got = _all_pages(client, token, since="2026-12-01T17:00:00Z", until="2026-12-01T19:00:00Z")
    assert [r["record_id"] for r in got] == [at_since, inside]
    # The same instants written with an offset, and no until: everything from since on.
    got = _all_pages(client, token, since="2026-12-01T12:00:00-05:00")
    assert [r["record_id"] for r in got] == [at_since, inside, at_until]
    assert early not in {r["record_id"] for r in _all_pages(client, token, since="2026-12-01T17:00:00z")}


def test_csv_format_is_the_generic_layout(app: Flask, client: FlaskClient, records: Records) -> None:
    token = _token(app, "nc-dpi")
    ada = records.educator('Ada "Ace" Lovelace, PhD')
    kept = records.record("nc-dpi", ada, at=T0)
    gone = records.record("nc-dpi", ada, at=T0, revoke_at=T0 + timedelta(days=2))
    for query, headers in (({"format": "csv"}, {}), ({}, {"Accept": "text/csv"})):
        response = client.get(
            f"{API}/records", query_string=query, headers={"Authorization": f"Bearer {token}", **headers}
        )
        assert response.status_code == 200 and response.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert list(rows[0]) == list(GENERIC_COLUMNS)
        assert [(r["record_id"], r["event"], r["status"]) for r in rows] == [
            (kept, "issued", "valid"),
            (gone, "issued", "revoked"),
            (gone, "revoked", "revoked"),
        ]
        assert rows[0]["legal_name"] == 'Ada "Ace" Lovelace, PhD'
        assert rows[2]["revoked_date"] == "2026-12-03"
        assert response.headers["X-Next-Cursor"]
    # Asked for JSON explicitly, JSON it is.
    response = client.get(f"{API}/records?format=json", headers={"Authorization": f"Bearer {token}"})
    assert response.mimetype == "application/json"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"cursor": "djE6YWJj"}, "invalid_cursor"),  # base64 of v1:abc
        ({"limit": "0"}, "invalid_limit"),
        ({"limit": "501"}, "invalid_limit"),
        ({"limit": "ten"}, "invalid_limit"),
        ({"limit": "-1"}, "invalid_limit"),
        ({"format": "xml"}, "invalid_format"),
        ({"since": "yesterday"}, "invalid_since"),
        ({"since": "2026-12-01T17:00:00"}, "invalid_since"),  # no offset: which 17:00?
        ({"until": "0001-01-01T00:00:00+01:00"}, "invalid_until"),  # before year 1 in UTC
        ({"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "invalid_period"),
    ],
)
def test_bad_parameters_get_400_with_a_code(
    app: Flask, client: FlaskClient, query: dict[str, str], code: str
) -> None:
    status, _, body = _get(client, _token(app, "nc-dpi"), **query)
    assert (status, body["error"]["code"]) == (400, code)


def test_a_cursor_from_another_office_reveals_nothing(
    app: Flask, client: FlaskClient, records: Records
) -> None:
    ada = records.educator()
    records.record("nv-ccsd", ada, at=T0)
    mine = records.record("nc-dpi", ada, at=T0)
    status, _, body = _get(client, _token(app, "nc-dpi"), cursor=encode_cursor(0))
    assert [r["record_id"] for r in body["records"]] == [mine]


def test_openapi_document_is_served_and_describes_the_payload(client: FlaskClient, records: Records) -> None:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    record = document["components"]["schemas"]["Record"]
    ada = records.educator()
    records.record("nc-dpi", ada, at=T0)
    with records.db.read() as session:
        payload = session.scalars(select(OfficeDelivery.payload)).one()
    assert set(record["required"]) == set(payload) == set(record["properties"])
    assert set(document["paths"]) == {"/records", "/openapi.json"}


# --- roster exports -----------------------------------------------------------------------------------


def _export(
    app: Flask, layout: FileLayout, start: datetime, end: datetime, office: str = "nc-dpi"
) -> list[list[str]]:
    out = io.StringIO(newline="")
    write_roster(app.extensions["db"], app.extensions["offices"][office], layout, start, end, out)
    return list(csv.reader(io.StringIO(out.getvalue(), newline="")))


def test_generic_roster_quotes_names_and_disarms_formulas(app: Flask, records: Records) -> None:
    tricky = records.educator('O\'Brien, "Mae"\nsecond line', licence='=HYPERLINK("http://x")')
    formula_name = records.educator("@SUM(A1:A9)", licence="-12")
    a = records.record("nc-dpi", tricky, at=T0, title="+Plus, stack")
    b = records.record("nc-dpi", formula_name, at=T0 + timedelta(hours=1))
    out = io.StringIO(newline="")
    write_roster(
        app.extensions["db"],
        app.extensions["offices"]["nc-dpi"],
        FileLayout.GENERIC,
        T0,
        T0 + timedelta(days=1),
        out,
    )
    text = out.getvalue()
    assert '"O\'Brien, ""Mae""\nsecond line"' in text and "\r\n" in text
    header, first, second = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(header) == GENERIC_COLUMNS
    row = dict(zip(header, first, strict=True))
    assert (row["record_id"], row["legal_name"]) == (a, 'O\'Brien, "Mae"\nsecond line')
    assert row["licence_number"] == '\'=HYPERLINK("http://x")'
    assert row["award_title"] == "'+Plus, stack"
    assert (row["contact_hours"], row["ceus"], row["office_units"], row["office_unit"]) == (
        "10.00",
        "1.0",
        "1.0",
        "renewal credit",
    )
    assert (row["completed_date"], row["issued_date"], row["status"]) == ("2026-12-01", "2026-12-01", "valid")
    assert row["verification_url"] == f"https://tool.example.edu/records/{a}"
    other = dict(zip(header, second, strict=True))
    assert (other["record_id"], other["legal_name"], other["licence_number"]) == (b, "'@SUM(A1:A9)", "'-12")


def test_roster_period_is_from_inclusive_to_exclusive_and_shows_status(app: Flask, records: Records) -> None:
    ada = records.educator()
    before = records.record("nc-dpi", ada, at=T0 - timedelta(seconds=1))
    at_start = records.record("nc-dpi", ada, at=T0)
    revoked = records.record("nc-dpi", ada, at=T0 + timedelta(days=3), revoke_at=T0 + timedelta(days=40))
    at_end = records.record("nc-dpi", ada, at=T0 + timedelta(days=31))
    records.record("nv-ccsd", ada, at=T0)
    rows = _export(app, FileLayout.GENERIC, T0, T0 + timedelta(days=31))
    assert [(r[0], r[1], r[2]) for r in rows[1:]] == [
        (at_start, "issued", "valid"),
        (revoked, "issued", "revoked"),
    ]
    assert before not in str(rows) and at_end not in str(rows)
    # The next period starts where this one ended: each record in exactly one.
    assert [
        r[0] for r in _export(app, FileLayout.GENERIC, T0 + timedelta(days=31), T0 + timedelta(days=62))[1:]
    ] == [at_end]


def test_ce_broker_roster_columns(app: Flask, records: Records) -> None:
    ada = records.educator("Ada", state="nc", licence="NC-000123")
    bo = records.educator("Bo", state="", licence="7654321")
    records.record("nc-dpi", ada, at=datetime(2026, 3, 4, 23, 30, tzinfo=UTC))
    records.record("nc-dpi", bo, at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    records.record(
        "nc-dpi", bo, at=datetime(2026, 12, 2, 9, 0, tzinfo=UTC), revoke_at=datetime(2026, 12, 3, tzinfo=UTC)
    )
    rows = _export(
        app, FileLayout.CE_BROKER, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert len(CE_BROKER_COLUMNS) == 8
    # No header row; provider and course numbers without their 50-/20- prefixes; Excel-style dates.
    assert rows == [
        ["4321", "987654", "", "", "NC-000123", "3/4/2026", "State=NC", "Profession=Teacher"],
        ["4321", "987654", "", "", "7654321", "12/1/2026", "State=NC", "Profession=Teacher"],
    ]


def test_ce_broker_export_needs_real_ce_broker_numbers(app: Flask) -> None:
    with pytest.raises(ExportRefused, match="no ce_broker section"):
        _export(app, FileLayout.CE_BROKER, T0, T0 + timedelta(days=1), office="nv-ccsd")
    with pytest.raises(ExportRefused, match="--to must be after --from"):
        _export(app, FileLayout.GENERIC, T0, T0)


# --- commands -----------------------------------------------------------------------------------------


def test_token_commands_create_list_and_revoke(app: Flask, client: FlaskClient) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(args=["offices", "token-create", "nc-dpi", "--label", "NCDPI licensure desk"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert len(token) >= 43 and "cannot be shown again" in created.stderr
    assert _get(client, token)[0] == 200

    listed = runner.invoke(args=["offices", "tokens"])
    assert listed.exit_code == 0
    (line,) = listed.stdout.strip().splitlines()
    token_id, office, label, *_, state = line.split("\t")
    assert (office, label, state) == ("nc-dpi", "NCDPI licensure desk", "live")
    assert "last used 2" in line and token not in listed.output

    revoked = runner.invoke(args=["offices", "token-revoke", token_id])
    assert revoked.exit_code == 0 and f"revoked token {token_id} of nc-dpi" in revoked.output
    assert _get(client, token)[2]["error"]["code"] == "revoked_token"
    assert runner.invoke(args=["offices", "tokens", "--office", "nc-dpi"]).stdout.rstrip().endswith("UTC")

    unknown = runner.invoke(args=["offices", "token-create", "tx-tea"])
    assert unknown.exit_code == 1 and "Known offices: nc-dpi, nv-ccsd" in unknown.output
    missing = runner.invoke(args=["offices", "token-revoke", "9999"])
    assert missing.exit_code == 1 and "No office token with id 9999" in missing.output


def test_export_command_writes_a_file_or_standard_output(
    app: Flask, records: Records, tmp_path: Path
) -> None:
    ada = records.educator("Zoë Ångström")
    kept = records.record("nc-dpi", ada, at=T0)
    records.record("nc-dpi", ada, at=T0, revoke_at=T0 + timedelta(days=1))
    runner = app.test_cli_runner()
    target = tmp_path / "nc.csv"
    args = ["records", "export", "--office", "nc-dpi", "--from", "2026-12-01", "--to", "2027-01-01"]
    result = runner.invoke(args=[*args, "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "2 record(s) for nc-dpi, generic layout" in result.stderr
    rows = list(csv.reader(target.open(encoding="utf-8", newline="")))
    assert [r[2] for r in rows[1:]] == ["valid", "revoked"] and rows[1][3] == "Zoë Ångström"
    assert not list(tmp_path.glob(".*partial"))

    result = runner.invoke(args=[*args, "--layout", "ce_broker"])
    assert result.exit_code == 0, result.output
    assert [r[4] for r in csv.reader(io.StringIO(result.stdout))] == ["1234567"]
    assert "1 record(s) for nc-dpi, ce_broker layout (1 revoked left out)" in result.stderr
    assert kept not in result.stdout  # CE Broker rows carry no record id

    unknown = runner.invoke(
        args=["records", "export", "--office", "tx", "--from", "2026-12-01", "--to", "2027-01-01"]
    )
    assert unknown.exit_code == 2 and "known offices: nc-dpi, nv-ccsd" in unknown.output
    refused = runner.invoke(args=[*args[:4], "--from", "2026-12-01", "--to", "2026-11-01"])
    assert refused.exit_code == 1 and "--to must be after --from" in refused.output
    bad = runner.invoke(
        args=["records", "export", "--office", "nc-dpi", "--from", "December", "--to", "2027-01-01"]
    )
    assert bad.exit_code == 2 and "is not a date" in bad.output


def test_a_record_shows_only_once_it_has_settled(app: Flask, db: Database, records: Records) -> None:
    """Events younger than the settling window are held back, so a cursor never steps past one whose
    transaction commits after a later id's (ids are taken at insert, not at commit)."""
    from lti_tool.services.office_pull import record_page

    ada = records.educator()
    fresh = records.record("nc-dpi", ada)  # created now
    settle = timedelta(seconds=5)
    assert record_page(db, "nc-dpi", settle=settle).records == []
    later = datetime.now(UTC) + timedelta(seconds=6)
    page = record_page(db, "nc-dpi", settle=settle, now=later)
    assert [r.payload["record_id"] for r in page.records] == [fresh]
