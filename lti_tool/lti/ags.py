"""Assignment and Grade Services: credential and stack progress in the platform's gradebook.

One line item per credential and per stack in a course, found by its ``resourceId`` (the same one the
deep-linking response asks the platform to give the placement) or created on the first score, then
remembered in ``line_items``. Scores leave through the outbox (topics ``gradebook.credential`` and
``gradebook.stack``), so a platform that is slow, throttling or down delays them and never loses them.

Moodle's shapes drive the details: line item URLs carry ``?type_id=N``, so ``/scores`` goes into the path
before the query string; the score media type is enforced; a score POST answers 200 with an empty body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Flask

from ..db import Database
from ..services import gradebook, outbox
from .service_token import (
    SCOPE_LINEITEM,
    SCOPE_SCORE,
    ServiceError,
    parse_json_body,
    service_request,
)

log = logging.getLogger("lti_tool.lti.ags")

TOPIC_CREDENTIAL = "gradebook.credential"
TOPIC_STACK = "gradebook.stack"

MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
AGS_SCOPES = (SCOPE_LINEITEM, SCOPE_SCORE)
MAX_PAGES = 200


class LineItemGone(ServiceError):
    """The platform answered 404 for a line item we remembered."""


@dataclass(frozen=True)
class LineItemSpec:
    kind: str  # credential | stack
    key: str
    label: str
    score_maximum: float

    @property
    def resource_id(self) -> str:
        return resource_id(self.kind, self.key)


def resource_id(kind: str, key: str) -> str:
    """The resourceId that ties a platform line item to one of our credentials or stacks."""
    return f"{kind}:{key}"


def service_url(lineitem_url: str, segment: str) -> str:
    """``<lineitem>/scores`` with the line item's query string kept after the path (Moodle's ?type_id=N)."""
    parts = urlsplit(lineitem_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + segment))


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- scores: what a gradebook user expects to see ----------------------------------------------------


def credential_score(payload: dict[str, Any], user_sub: str) -> dict[str, Any]:
    """Earned: 1/1, complete. Submitted: waiting for an assessor. Not yet: graded 0, the learner's turn again.

    "Not yet" is FullyGraded so the assessor's comment shows as feedback, and InProgress because the
    learner has to resubmit; the column then reads 0 until the credential is earned.
    """
    state = payload["state"]
    score: dict[str, Any] = {
        "userId": user_sub,
        "timestamp": payload["timestamp"],
        "comment": payload.get("comment") or "",
    }
    if state == "earned":
        score |= {
            "scoreGiven": 1,
            "scoreMaximum": 1,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
        }
    elif state == "submitted":
        score |= {"activityProgress": "Submitted", "gradingProgress": "PendingManual"}
    elif state == "not_yet":
        score |= {
            "scoreGiven": 0,
            "scoreMaximum": 1,
            "activityProgress": "InProgress",
            "gradingProgress": "FullyGraded",
        }
    else:
        raise ValueError(f"unknown credential state {state!r}")
    if not score["comment"]:
        del score["comment"]
    return score


def stack_score(payload: dict[str, Any], user_sub: str) -> dict[str, Any]:
    """earned_count / required_count; FullyGraded once the stack is granted, Pending until then."""
    granted = bool(payload["granted"])
    earned = int(payload["earned_count"])
    required = max(int(payload["required_count"]), 1)
    comment = f"{earned} of {required} credentials earned"
    if granted and payload.get("ceus"):
        comment += f"; {payload['ceus']} CEUs granted"
    return {
        "userId": user_sub,
        "timestamp": payload["timestamp"],
        "scoreGiven": earned,
        "scoreMaximum": required,
        "comment": comment,
        "activityProgress": "Completed" if granted else ("InProgress" if earned else "Initialized"),
        "gradingProgress": "FullyGraded" if granted else "Pending",
    }


# --- line items --------------------------------------------------------------------------------------


def _links_next(response: Any) -> str | None:
    nxt = response.links.get("next")
    return str(nxt["url"]) if nxt and nxt.get("url") else None


def find_line_item(db: Database, platform_id: int, lineitems_url: str, spec: LineItemSpec) -> str | None:
    """The platform's line item with our resourceId, following Link paging; empty resourceIds never match."""
    url: str | None = with_query(lineitems_url, resource_id=spec.resource_id)
    pages = 0
    while url and pages < MAX_PAGES:
        pages += 1
        response = service_request(db, platform_id, AGS_SCOPES, "GET", url, accept=MEDIA_LINEITEM_CONTAINER)
        if response.status_code != 200:
            raise ServiceError(f"GET {url} answered HTTP {response.status_code}", response.status_code)
        items = parse_json_body(response)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("resourceId") == spec.resource_id and item.get("id"):
                return str(item["id"])
        url = _links_next(response)
    return None


def create_line_item(db: Database, platform_id: int, lineitems_url: str, spec: LineItemSpec) -> str:
    body = {
        "scoreMaximum": spec.score_maximum,
        "label": spec.label,
        "resourceId": spec.resource_id,
        "tag": spec.kind,
    }
    response = service_request(
        db,
        platform_id,
        AGS_SCOPES,
        "POST",
        lineitems_url,
        accept=MEDIA_LINEITEM,
        content_type=MEDIA_LINEITEM,
        body=body,
    )
    if response.status_code not in (200, 201):
        raise ServiceError(
            f"creating line item {spec.resource_id} at {lineitems_url}: HTTP {response.status_code}",
            response.status_code,
        )
    created = parse_json_body(response)
    if not isinstance(created, dict) or not created.get("id"):
        raise ServiceError(f"the platform created line item {spec.resource_id} but returned no id")
    log.info("event=line_item_created platform_id=%s resource_id=%s", platform_id, spec.resource_id)
    return str(created["id"])


def ensure_line_item(db: Database, target: gradebook.GradebookTarget, spec: LineItemSpec) -> str:
    remembered = gradebook.remembered_line_item(db, target.context_id, spec.kind, spec.key)
    if remembered is not None:
        return remembered
    assert target.lineitems_url is not None
    url = find_line_item(db, target.platform_id, target.lineitems_url, spec)
    if url is None:
        url = create_line_item(db, target.platform_id, target.lineitems_url, spec)
    return gradebook.remember_line_item(db, target.context_id, spec.kind, spec.key, url)


def post_score(db: Database, platform_id: int, lineitem_url: str, score: dict[str, Any]) -> None:
    url = service_url(lineitem_url, "scores")
    response = service_request(db, platform_id, AGS_SCOPES, "POST", url, content_type=MEDIA_SCORE, body=score)
    if response.status_code in (200, 201, 202, 204):
        return
    if response.status_code == 409:
        # The platform holds a newer score for this learner (timestamps only move forward): nothing to do.
        log.info("event=score_superseded url=%s user=%s", url, score.get("userId"))
        return
    if response.status_code == 404:
        raise LineItemGone(f"POST {url}: line item not found", 404)
    raise ServiceError(
        f"POST {url} answered HTTP {response.status_code}: {response.text[:300]}", response.status_code
    )


ScoreBuilder = Callable[[dict[str, Any], str], dict[str, Any]]


def send_score(
    db: Database,
    context_id: int,
    user_id: int,
    spec: LineItemSpec,
    build: ScoreBuilder,
    payload: dict[str, Any],
) -> None:
    target = gradebook.target_for(db, context_id, user_id)
    if not target.lineitems_url:
        log.info(
            "event=score_skipped reason=no_ags_lineitems context_id=%s resource_id=%s",
            context_id,
            spec.resource_id,
        )
        return
    score = build(payload, target.user_sub)
    lineitem_url = ensure_line_item(db, target, spec)
    try:
        post_score(db, target.platform_id, lineitem_url, score)
    except LineItemGone:
        gradebook.forget_line_item(db, context_id, spec.kind, spec.key)
        post_score(db, target.platform_id, ensure_line_item(db, target, spec), score)
    log.info(
        "event=score_sent context_id=%s user_id=%s resource_id=%s", context_id, user_id, spec.resource_id
    )


# --- outbox handlers ---------------------------------------------------------------------------------


def handle_credential_message(db: Database, payload: dict[str, Any]) -> None:
    spec = LineItemSpec(gradebook.CREDENTIAL, payload["credential_key"], payload["title"], 1)
    send_score(db, int(payload["context_id"]), int(payload["user_id"]), spec, credential_score, payload)


def handle_stack_message(db: Database, payload: dict[str, Any]) -> None:
    required = max(int(payload["required_count"]), 1)
    spec = LineItemSpec(gradebook.STACK, payload["stack_key"], payload["title"], required)
    send_score(db, int(payload["context_id"]), int(payload["user_id"]), spec, stack_score, payload)


def init_app(app: Flask) -> None:
    """Register the gradebook outbox handlers and the NRPS roster source."""
    from ..services import roster
    from . import nrps

    outbox.register_handler(TOPIC_CREDENTIAL, handle_credential_message)
    outbox.register_handler(TOPIC_STACK, handle_stack_message)
    admins_are_designers = bool(app.extensions["settings"].lms_admins_are_designers)
    roster.set_member_source(partial(nrps.fetch_members, admins_are_designers=admins_are_designers))
    app.extensions["lti_ags"] = True
