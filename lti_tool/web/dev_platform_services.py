"""The development platform's LTI Advantage services (only when ``DEV_PLATFORM`` is on; 404 otherwise).

Beside the launch side in dev_platform.py, this is what a real platform serves to a tool:
- ``POST /dev/platform/token``: client_credentials with a private_key_jwt assertion, checked more strictly
  than Moodle does: signature against the tool's published keys (the ``/lti/jwks.json`` document), ``aud``
  is this endpoint, ``iss`` == ``sub`` == the client id, and each ``jti`` accepted once;
- ``GET /dev/platform/nrps/<context>/memberships``: the dev users, paged by ``limit``/``from`` with a
  ``Link: rel="next"`` header, as Moodle pages;
- ``/dev/platform/ags/<context>/lineitems`` (GET, POST) and ``.../lineitems/<n>/lineitem?type_id=1``
  (GET) and ``.../lineitem/scores?type_id=1`` (POST, the score media type only): Moodle-shaped URLs, so the
  tool's ``?type_id`` handling runs for real;
- ``GET /dev/platform/scores``: a page listing every score received, so ``make run`` shows gradebook traffic.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from flask import Blueprint, Flask, Response, abort, current_app, render_template, request
from jwt import PyJWKSet
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..db import Database
from ..db.base import utcnow
from ..db.lti_service_models import DevAssertionJti, DevLineItem, DevScore
from ..extensions import csrf
from ..lti import keys as tool_keys
from .dev_platform import DEV_CLIENT_ID, dev_issuer, dev_platform_jwks, dev_platform_key, dev_users

bp = Blueprint("dev_platform_services", __name__, url_prefix="/dev/platform")
csrf.exempt(bp)

TOKEN_LIFETIME = 3600
MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_MEMBERSHIPS = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SUPPORTED_SCOPES = {SCOPE_NRPS, SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE}


def _db() -> Database:
    database: Database = current_app.extensions["db"]
    return database


def _token_url() -> str:
    return dev_issuer() + "/token"


def _json(body: Any, status: int = 200, content_type: str = "application/json") -> Response:
    return Response(json.dumps(body), status=status, content_type=content_type)


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    current_app.logger.info("event=dev_token_refused error=%s reason=%s", error, description)
    return _json({"error": error, "error_description": description}, status)


@bp.before_request
def _only_when_enabled() -> None:
    if not current_app.extensions["settings"].dev_platform:
        abort(404)


# --- token endpoint ------------------------------------------------------------------------------


def _verify_assertion(assertion: str) -> dict[str, Any]:
    header = jwt.get_unverified_header(assertion)
    if header.get("alg") != "RS256":
        raise jwt.InvalidAlgorithmError("alg must be RS256")
    keyset = PyJWKSet.from_dict(tool_keys.public_jwks(_db()))
    key = next((k for k in keyset.keys if k.key_id == header.get("kid")), None)
    if key is None:
        raise jwt.InvalidKeyError(f"kid {header.get('kid')!r} is not in the tool's JWKS")
    claims: dict[str, Any] = jwt.decode(
        assertion,
        key.key,
        algorithms=["RS256"],
        audience=_token_url(),
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
    )
    return claims


def _consume_jti(jti: str, exp: int) -> bool:
    now = utcnow()
    try:
        with _db().transaction() as session:
            session.execute(delete(DevAssertionJti).where(DevAssertionJti.expires_at < now))
            session.add(DevAssertionJti(jti=jti, expires_at=datetime.fromtimestamp(exp, UTC)))
    except IntegrityError:
        return False
    return True


@bp.post("/token")
def token() -> Response:
    form = request.form
    if form.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
        return _oauth_error("invalid_request", "client_assertion_type must be jwt-bearer")
    try:
        claims = _verify_assertion(form.get("client_assertion", ""))
    except jwt.PyJWTError as exc:
        return _oauth_error("invalid_client", f"client assertion refused: {exc}", 401)
    if claims["iss"] != DEV_CLIENT_ID or claims["sub"] != DEV_CLIENT_ID:
        return _oauth_error("invalid_client", "iss and sub must both be the client id", 401)
    if not _consume_jti(str(claims["jti"]), int(claims["exp"])):
        return _oauth_error("invalid_client", "jti already used", 401)
    scopes = [s for s in form.get("scope", "").split() if s in SUPPORTED_SCOPES]
    if not scopes:
        return _oauth_error("invalid_scope", "no supported scope requested")
    kid, pem = dev_platform_key()
    now = int(time.time())
    access_token = jwt.encode(
        {
            "iss": dev_issuer(),
            "sub": DEV_CLIENT_ID,
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
            "jti": uuid.uuid4().hex,
            "scope": " ".join(scopes),
        },
        pem,
        algorithm="RS256",
        headers={"kid": kid},
    )
    return _json(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "scope": " ".join(scopes),
        }
    )


def _require_token(*any_of: str) -> None:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        abort(_json({"status": 401, "reason": "Unauthorized"}, 401))
    try:
        keyset = PyJWKSet.from_dict(dev_platform_jwks())
        claims = jwt.decode(auth[7:], keyset.keys[0].key, algorithms=["RS256"], issuer=dev_issuer())
    except jwt.PyJWTError:
        abort(_json({"status": 401, "reason": "Unauthorized"}, 401))
    if not set(str(claims.get("scope", "")).split()) & set(any_of):
        abort(_json({"status": 401, "reason": "Unauthorized: scope"}, 401))


# --- NRPS ------------------------------------------------------------------------------------------


@bp.get("/nrps/<context_id>/memberships")
def memberships(context_id: str) -> Response:
    _require_token(SCOPE_NRPS)
    users = dev_users()
    limit = max(int(request.args.get("limit", "0") or 0), 0) or len(users)
    start = max(int(request.args.get("from", "0") or 0), 0)
    page = users[start : start + limit]
    url = f"{dev_issuer()}/nrps/{context_id}/memberships"
    body = {
        "id": url,
        "context": {"id": context_id, "label": "DEV101", "title": "Development course"},
        "members": [
            {
                "status": "Active",
                "roles": list(u.roles),
                "user_id": u.sub,
                "name": u.name,
                "given_name": u.given_name,
                "family_name": u.family_name,
                "email": u.email,
            }
            for u in page
        ],
    }
    response = _json(body, content_type=MEDIA_MEMBERSHIPS)
    if start + limit < len(users):
        response.headers["Link"] = f'<{url}?limit={limit}&from={start + limit}>; rel="next"'
    return response


# --- AGS -------------------------------------------------------------------------------------------


def _lineitem_url(context_id: str, item_id: int) -> str:
    return f"{dev_issuer()}/ags/{context_id}/lineitems/{item_id}/lineitem?type_id=1"


def _lineitem_json(item: DevLineItem) -> dict[str, Any]:
    return {
        "id": _lineitem_url(item.context_id, item.id),
        "label": item.label,
        "scoreMaximum": item.score_maximum,
        "resourceId": item.resource_id,
        "tag": item.tag,
        "resourceLinkId": item.resource_link_id,
    }


@bp.route("/ags/<context_id>/lineitems", methods=["GET", "POST"])
def lineitems(context_id: str) -> Response:
    if request.method == "POST":
        _require_token(SCOPE_LINEITEM)
        if request.mimetype != MEDIA_LINEITEM:
            return _json({"status": 400, "reason": f"No handler found for {request.mimetype}"}, 400)
        body = request.get_json(force=True, silent=True) or {}
        try:
            score_maximum = float(body["scoreMaximum"])
            label = str(body["label"])
        except (KeyError, TypeError, ValueError):
            return _json({"status": 400, "reason": "label and scoreMaximum are required"}, 400)
        with _db().transaction() as session:
            item = DevLineItem(
                context_id=context_id,
                label=label,
                score_maximum=score_maximum,
                resource_id=str(body.get("resourceId") or ""),
                tag=str(body.get("tag") or ""),
                resource_link_id=str(body.get("resourceLinkId") or ""),
            )
            session.add(item)
            session.flush()
            created = _lineitem_json(item)
        return _json(created, 201, MEDIA_LINEITEM)
    _require_token(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
    query = select(DevLineItem).where(DevLineItem.context_id == context_id).order_by(DevLineItem.id)
    for arg, column in (("resource_id", DevLineItem.resource_id), ("tag", DevLineItem.tag)):
        if request.args.get(arg):
            query = query.where(column == request.args[arg])
    with _db().read() as session:
        items = [_lineitem_json(i) for i in session.scalars(query)]
    return _json(items, content_type=MEDIA_CONTAINER)


def _line_item(context_id: str, item_id: int) -> DevLineItem:
    with _db().read() as session:
        item = session.get(DevLineItem, item_id)
    if item is None or item.context_id != context_id:
        abort(_json({"status": 404, "reason": "Line item not found"}, 404))
    return item


@bp.get("/ags/<context_id>/lineitems/<id:item_id>/lineitem")
def lineitem(context_id: str, item_id: int) -> Response:
    _require_token(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
    return _json(_lineitem_json(_line_item(context_id, item_id)), content_type=MEDIA_LINEITEM)


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


@bp.post("/ags/<context_id>/lineitems/<id:item_id>/lineitem/scores")
def scores(context_id: str, item_id: int) -> Response:
    _require_token(SCOPE_SCORE)
    if request.mimetype != MEDIA_SCORE:
        return _json({"status": 400, "reason": f"No handler found for scores {request.mimetype}"}, 400)
    item = _line_item(context_id, item_id)
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict) or not body.get("userId") or not body.get("timestamp"):
        return _json({"status": 400, "reason": "userId and timestamp are required"}, 400)
    with _db().transaction() as session:
        session.add(
            DevScore(
                line_item_id=item.id,
                user_id=str(body["userId"]),
                body=body,
                content_type=request.content_type or "",
                score_given=_number(body.get("scoreGiven")),
                score_maximum=_number(body.get("scoreMaximum")),
                activity_progress=str(body.get("activityProgress") or ""),
                grading_progress=str(body.get("gradingProgress") or ""),
                comment=str(body.get("comment") or ""),
            )
        )
    # Moodle answers a score with an empty 200.
    return Response("", 200, content_type=MEDIA_SCORE + "; charset=utf-8")


@bp.get("/scores")
def received_scores() -> str:
    since = utcnow() - timedelta(days=30)
    with _db().read() as session:
        rows = session.execute(
            select(DevScore, DevLineItem)
            .join(DevLineItem, DevLineItem.id == DevScore.line_item_id)
            .where(DevScore.received_at >= since)
            .order_by(DevScore.id.desc())
            .limit(500)
        ).all()
        items = session.scalars(select(DevLineItem).order_by(DevLineItem.id)).all()
    names = {u.sub: u.name for u in dev_users()}
    return render_template(
        "dev_platform_services/scores.html",
        rows=[(score, item) for score, item in rows],
        items=items,
        names=names,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
