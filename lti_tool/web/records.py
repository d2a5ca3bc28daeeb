"""The educator's records page (details, consent, downloads) and the public verification page of a record."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, render_template, request, send_file

from ..services import badges, educator_records, public_records
from ..services.errors import ServiceError
from ..services.records_settings import current as records_settings
from .auth import LEARNER, current_actor, require_role, url
from .context import db
from .errors import error_response, wants_json

bp = Blueprint("records", __name__)

NOTICES = {
    "profile_saved": "Your details are saved and confirmed.",
    "consent_given": "Consent recorded. The office will receive your records.",
    "consent_withdrawn": "Consent withdrawn. The office will receive nothing more from the tool.",
}


@bp.app_template_global()
def linkedin_add_url(title: str, issued_at: datetime, public_id: str) -> str:
    """LinkedIn's "add to profile" link for a certification (a plain link: nothing is sent to LinkedIn until
    the educator follows it)."""
    settings = records_settings()
    query = {
        "startTask": "CERTIFICATION_NAME",
        "name": title,
        "organizationName": settings.provider_name,
        "issueYear": issued_at.year,
        "issueMonth": issued_at.month,
        "certUrl": settings.record_url(public_id),
        "certId": public_id,
    }
    return "https://www.linkedin.com/profile/add?" + urlencode(query)


def _page(status: int = 200, error: ServiceError | None = None, form: dict[str, str] | None = None) -> Any:
    actor = current_actor()
    page = educator_records.records_page(db(), actor.context_id, actor.user_id)
    notice = NOTICES.get(request.args.get("notice", ""))
    sent = request.args.get("sent", type=int)
    if notice and sent:
        notice += f" {sent} record(s) queued for it now."
    return (
        render_template(
            "records/learner_records.html",
            page=page,
            notice=notice,
            error=error,
            form=form,
            settings=records_settings(),
        ),
        status,
    )


@bp.get("/learn/records")
@require_role(LEARNER)
def records_home() -> Any:
    return _page()


@bp.post("/learn/records/profile")
@require_role(LEARNER)
def save_profile() -> Any:
    actor = current_actor()
    form = {k: request.form.get(k, "") for k in ("legal_name", "state", "licence_number")}
    try:
        educator_records.save_profile(
            db(),
            actor.context_id,
            actor.user_id,
            legal_name=form["legal_name"],
            state=form["state"],
            licence_number=form["licence_number"],
            confirm=request.form.get("confirm") == "yes",
        )
    except ServiceError as exc:
        return _page(exc.status, exc, form)
    return redirect(url("records.records_home", notice="profile_saved"), 303)


@bp.post("/learn/records/consent")
@require_role(LEARNER)
def consent() -> Any:
    actor = current_actor()
    granted = request.form.get("action") == "give"
    try:
        sent = educator_records.set_consent(
            db(), actor.context_id, actor.user_id, request.form.get("office", ""), granted=granted
        )
    except ServiceError as exc:
        return _page(exc.status, exc)
    notice = "consent_given" if granted else "consent_withdrawn"
    return redirect(url("records.records_home", notice=notice, sent=sent or None), 303)


@bp.get("/learn/records/<public_id>/certificate.pdf")
@require_role(LEARNER)
def certificate(public_id: str) -> Any:
    actor = current_actor()
    try:
        pdf, filename = public_records.certificate_pdf(db(), actor.user_id, public_id)
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True, download_name=filename)


@bp.get("/records/<public_id>")
def verify(public_id: str) -> Any:
    """Public: anyone with the record id (a certificate's QR code, a shared link) sees valid or revoked."""
    try:
        record = public_records.verification(db(), public_id)
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    if wants_json():
        return jsonify(
            {
                "record_id": record.public_id,
                "status": "valid" if record.valid else "revoked",
                "kind": record.kind,
                "title": record.title,
                "holder": record.holder,
                "provider": record.provider,
                "course": record.course_title,
                "contact_hours": None if record.contact_hours is None else str(record.contact_hours),
                "ceus": None if record.ceus is None else str(record.ceus),
                "issued_at": record.issued_at.isoformat(),
                "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
            }
        )
    return render_template("records/verify.html", record=record)


def _public_json(document: dict[str, object], filename: str | None = None) -> Response:
    """A public JSON document verifiers fetch from anywhere (CORS open; it holds nothing private)."""
    response = jsonify(document)
    response.headers["Access-Control-Allow-Origin"] = "*"
    if filename:
        response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.get("/records/<public_id>/badge.json")
def badge(public_id: str) -> Any:
    """The award's Open Badges 3.0 credential, signed (eddsa-rdfc-2022)."""
    try:
        document = badges.badge(db(), public_id)
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return _public_json(document, f"badge-{public_id.upper()}.json")


@bp.get("/badges/issuer")
def badge_issuer() -> Any:
    """The https issuer's Open Badges profile, also the controller document of every badge key."""
    return _public_json(badges.issuer_profile(db()))


@bp.get("/badges/status/issuer/<int(max=16384):number>")
def issuer_status_list(number: int) -> Any:
    """The https issuer's Bitstring Status List (one for all its keys)."""
    try:
        return _public_json(badges.issuer_status_list_credential(db(), number))
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)


@bp.get("/badges/status/<id:key_id>/<int(max=16384):number>")
def status_list(key_id: int, number: int) -> Any:
    """The Bitstring Status List a badge's ``credentialStatus`` points to. Lists are numbered from 0 (an
    ``<id:...>`` would refuse the first); 16384 lists of 131,072 cover every award id."""
    try:
        return _public_json(badges.status_list_credential(db(), key_id, number))
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
