"""The pull API licensure offices read their records with (``/api/offices/v1``), and its OpenAPI document.

A bearer token names the office; the office sees only its own record events. Errors are JSON
``{"error": {"code", "message"}}`` with the stable codes the document lists. Every response says
``Cache-Control: no-store``: records carry licence numbers; no proxy or browser cache should keep them.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from ..extensions import csrf
from ..records.rosters import GENERIC_COLUMNS, REVOKED, VALID, generic_row
from ..services.errors import ServiceError
from ..services.office_pull import DEFAULT_LIMIT, MAX_LIMIT, BadParameter, record_page
from ..services.office_tokens import authenticate
from .context import db, settings

PREFIX = "/api/offices/v1"
OPENAPI_FILE = Path(__file__).with_name("office_api_openapi.json")

bp = Blueprint("office_api", __name__, url_prefix=PREFIX)


@cache
def openapi_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    return document


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer realm="licensure offices", error="{code}"'
    return response


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> Response:
    return _error(exc.status, exc.code, exc.message)


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _bearer() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _time(name: str) -> datetime | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        # RFC 3339 allows a lower-case t and z; fromisoformat wants them upper-case.
        moment = datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError("no offset")
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadParameter(
            f"invalid_{name}", f"{name} must be a time with its offset, like 2026-12-01T17:00:00Z."
        ) from None


def _limit() -> int:
    value = request.args.get("limit")
    if value is None:
        return DEFAULT_LIMIT
    if not value.isascii() or not value.isdigit() or len(value) > 4 or not 1 <= int(value) <= MAX_LIMIT:
        raise BadParameter("invalid_limit", f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(value)


def _wants_csv() -> bool:
    chosen = request.args.get("format")
    if chosen is None:
        accept = request.accept_mimetypes
        return accept["text/csv"] > accept["application/json"]
    if chosen not in {"json", "csv"}:
        raise BadParameter("invalid_format", "format must be json or csv.")
    return chosen == "csv"


@bp.get("/records")
def records() -> Response:
    office_key = authenticate(db(), _bearer())
    as_csv = _wants_csv()
    page = record_page(
        db(),
        office_key,
        since=_time("since"),
        until=_time("until"),
        cursor=request.args.get("cursor") or None,
        limit=_limit(),
        settle=timedelta(seconds=settings().office_pull_settle_seconds),
    )
    if not as_csv:
        return jsonify(
            {
                "records": [r.payload for r in page.records],
                "next_cursor": page.next_cursor,
                "has_more": page.has_more,
            }
        )
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(GENERIC_COLUMNS)
    writer.writerows(generic_row(r.payload, REVOKED if r.revoked else VALID) for r in page.records)
    response = Response(text.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{office_key}-records.csv"'
    if page.next_cursor:
        response.headers["X-Next-Cursor"] = page.next_cursor
    return response


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


def init_app(app: Flask) -> None:
    # Offices call with a token, never a browser session: there is no form to forge (GET only anyway).
    csrf.exempt(bp)
    app.register_blueprint(bp)
