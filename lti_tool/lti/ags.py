"""Assignment and Grade Services: credential and stack progress in the platform's gradebook.

One column per credential and per stack in a course (services/gradebook.py decides which): the line item
a placement's launches offer (the AGS claim's ``lineitem``) when the credential or stack is placed, else
the tool's own, found by its ``resourceId`` (the one the deep-linking response asks the platform to give
the placement) or created on the first score, bound to the placement's ``resourceLinkId`` when there is
one. Scores leave through the outbox (topics ``gradebook.credential`` and ``gradebook.stack``), so a
platform that is slow, throttling or down delays them and never loses them.

Scopes: the tool asks the token endpoint only for what the launch's AGS claim offered. With score-only
access it posts to placements' offered line items and creates or looks for nothing; a credential or stack
without one is listed on the designer page (``gradebook_overview``), and its score is dropped with a log
line. When a placement's column replaces a column the tool had created, the old one is deleted
(``gradebook.retire``, services/column_adoption.py) if the tool may manage line items, and left, listed
on the designer page, if not.

Moodle's shapes drive the details: line item URLs carry ``?type_id=N``, so ``/scores`` goes into the path
before the query string; the score media type is enforced; a score POST answers 200 with an empty body;
Moodle keeps a score only when it is ``FullyGraded``.
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
from ..services import column_adoption, gradebook, outbox
from ..services.placements import TOPIC_PLACEMENT
from .service_token import (
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_SCORE,
    ServiceError,
    parse_json_body,
    service_request,
)

log = logging.getLogger("lti_tool.lti.ags")

TOPIC_CREDENTIAL = gradebook.TOPIC_CREDENTIAL
TOPIC_STACK = gradebook.TOPIC_STACK

MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
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


def token_scopes(offered: frozenset[str]) -> tuple[str, ...]:
    """The AGS scopes to ask for: those of lineitem + score the claim offered (lineitem.readonly instead of
    lineitem, to find columns, when only that is offered). One set per course, so one shared token."""
    wanted = {s for s in (SCOPE_LINEITEM, SCOPE_SCORE) if s in offered}
    if SCOPE_LINEITEM not in offered and SCOPE_LINEITEM_READONLY in offered:
        wanted.add(SCOPE_LINEITEM_READONLY)
    return tuple(sorted(wanted))


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
    """Credentials earned that count for the stack's rule, out of the number it needs: a number the
    teacher sees grow with each credential. Always FullyGraded (Moodle drops anything else, so a Pending
    stack column stayed empty until the stack was complete); InProgress until complete, then Completed."""
    granted = bool(payload["granted"])
    earned = int(payload["earned_count"])
    required = max(int(payload["required_count"]), 1)
    comment = f"{earned} of {required} credentials earned"
    if granted and payload.get("ceus"):
        comment += f"; {payload['ceus']} CEUs granted"
    return {
        "userId": user_sub,
        "timestamp": payload["timestamp"],
        "scoreGiven": min(earned, required),
        "scoreMaximum": required,
        "comment": comment,
        "activityProgress": "Completed" if granted else "InProgress",
        "gradingProgress": "FullyGraded",
    }


# --- line items --------------------------------------------------------------------------------------


def _links_next(response: Any) -> str | None:
    nxt = response.links.get("next")
    return str(nxt["url"]) if nxt and nxt.get("url") else None


def find_line_item(
    db: Database,
    platform_id: int,
    lineitems_url: str,
    spec: LineItemSpec,
    scopes: tuple[str, ...],
) -> str | None:
    """The platform's line item with our resourceId, following Link paging; empty resourceIds never match.
    When several carry it (the tool's own and a deep-linked placement's), the one bound to a resource link
    wins: that is the column the platform shows with the activity."""
    url: str | None = with_query(lineitems_url, resource_id=spec.resource_id)
    found: str | None = None
    pages = 0
    while url and pages < MAX_PAGES:
        pages += 1
        response = service_request(db, platform_id, scopes, "GET", url, accept=MEDIA_LINEITEM_CONTAINER)
        if response.status_code != 200:
            raise ServiceError(f"GET {url} answered HTTP {response.status_code}", response.status_code)
        items = parse_json_body(response)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("resourceId") == spec.resource_id and item.get("id"):
                if item.get("resourceLinkId"):
                    return str(item["id"])
                found = found or str(item["id"])
        url = _links_next(response)
    return found


def create_line_item(
    db: Database,
    platform_id: int,
    lineitems_url: str,
    spec: LineItemSpec,
    scopes: tuple[str, ...],
    resource_link_id: str | None = None,
) -> str:
    body: dict[str, Any] = {
        "scoreMaximum": spec.score_maximum,
        "label": spec.label,
        "resourceId": spec.resource_id,
        "tag": spec.kind,
    }
    if resource_link_id:
        body["resourceLinkId"] = resource_link_id
    response = service_request(
        db,
        platform_id,
        scopes,
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
    log.info(
        "event=line_item_created platform_id=%s resource_id=%s resource_link_id=%s",
        platform_id,
        spec.resource_id,
        resource_link_id or "-",
    )
    return str(created["id"])


@dataclass(frozen=True)
class Destination:
    lineitem_url: str
    placed: bool
    scopes: tuple[str, ...]


def destination(db: Database, target: gradebook.GradebookTarget, spec: LineItemSpec) -> Destination | None:
    """Where this score goes: the placement's column, the tool's own (found or created when the scopes
    allow), or None with a log line saying why nothing can be sent."""
    column = gradebook.column_for(db, target.context_id, spec.kind, spec.key)
    if column.ungraded:
        _skipped("placed_without_grade", target, spec)  # its stack's column counts this work
        return None
    if column.superseded:
        column_adoption.adopt_placement(db, target.context_id, spec.kind, spec.key)
    scopes = token_scopes(column.scopes)
    if SCOPE_SCORE not in scopes:
        _skipped("no_score_scope", target, spec)
        return None
    if column.lineitem_url:
        return Destination(column.lineitem_url, column.placed, scopes)
    if not target.lineitems_url:
        _skipped("no_ags_lineitems", target, spec)
        return None
    url = None
    if SCOPE_LINEITEM in scopes or SCOPE_LINEITEM_READONLY in scopes:
        url = find_line_item(db, target.platform_id, target.lineitems_url, spec, scopes)
    created = False
    if url is None:
        if SCOPE_LINEITEM not in scopes:
            _skipped("score_only_and_not_placed", target, spec)
            return None
        url = create_line_item(
            db, target.platform_id, target.lineitems_url, spec, scopes, column.resource_link_id
        )
        created = True
    url = gradebook.remember_line_item(db, target.context_id, spec.kind, spec.key, url, created=created)
    return Destination(url, False, scopes)


def _skipped(reason: str, target: gradebook.GradebookTarget, spec: LineItemSpec) -> None:
    # Not silent: the designer page lists what the tool cannot write to (gradebook_overview.columns_overview).
    log.info(
        "event=score_skipped reason=%s context_id=%s resource_id=%s",
        reason,
        target.context_id,
        spec.resource_id,
    )


# Open edX (lti-consumer-xblock's LtiAgsScoreSerializer.validate_timestamp) refuses a score that is not
# later than the one it holds with HTTP 400 and {"timestamp": [one of these]}, where others answer 409.
_NOT_LATER = ("can only be updated to a later point in time", "already exists for the provided timestamp")


def _holds_a_later_score(response: Any) -> bool:
    """The platform refused the score only because it holds one at least as new (409, or Open edX's 400)."""
    if response.status_code == 409:
        return True
    if response.status_code != 400:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict) or set(body) != {"timestamp"}:
        return False
    errors = body["timestamp"] if isinstance(body["timestamp"], list) else [body["timestamp"]]
    return bool(errors) and all(isinstance(e, str) and any(p in e for p in _NOT_LATER) for e in errors)


def post_score(
    db: Database, platform_id: int, lineitem_url: str, score: dict[str, Any], scopes: tuple[str, ...]
) -> None:
    url = service_url(lineitem_url, "scores")
    response = service_request(db, platform_id, scopes, "POST", url, content_type=MEDIA_SCORE, body=score)
    if response.status_code in (200, 201, 202, 204):
        return
    if _holds_a_later_score(response):
        # The platform holds a newer score for this learner (timestamps only move forward), or this very
        # one (a resend after a lost answer): nothing to do, and a retry could never succeed.
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
    score = build(payload, target.user_sub)
    where = destination(db, target, spec)
    if where is None:
        return
    try:
        post_score(db, target.platform_id, where.lineitem_url, score, where.scopes)
    except LineItemGone:
        # The column was deleted in the gradebook: stop using it, then send to whatever comes next.
        if where.placed:
            gradebook.placement_line_item_gone(db, context_id, where.lineitem_url)
        else:
            gradebook.forget_line_item(db, context_id, spec.kind, spec.key)
        where = destination(db, target, spec)
        if where is None:
            return
        post_score(db, target.platform_id, where.lineitem_url, score, where.scopes)
    log.info(
        "event=score_sent context_id=%s user_id=%s resource_id=%s placed=%s",
        context_id,
        user_id,
        spec.resource_id,
        where.placed,
    )


# --- outbox handlers ---------------------------------------------------------------------------------


def handle_credential_message(db: Database, payload: dict[str, Any]) -> None:
    spec = LineItemSpec(gradebook.CREDENTIAL, payload["credential_key"], payload["title"], 1)
    send_score(db, int(payload["context_id"]), int(payload["user_id"]), spec, credential_score, payload)


def handle_stack_message(db: Database, payload: dict[str, Any]) -> None:
    required = max(int(payload["required_count"]), 1)
    spec = LineItemSpec(gradebook.STACK, payload["stack_key"], payload["title"], required)
    send_score(db, int(payload["context_id"]), int(payload["user_id"]), spec, stack_score, payload)


def handle_placement_message(db: Database, payload: dict[str, Any]) -> None:
    """A placement now offers a column: make it the credential's or stack's (no HTTP here)."""
    column_adoption.adopt_placement(db, int(payload["context_id"]), str(payload["kind"]), str(payload["key"]))


def handle_retire_message(db: Database, payload: dict[str, Any]) -> None:
    """Delete a column the tool created and a placement's column replaced, when the tool may manage line
    items; otherwise keep it and say why on the designer page. A 404 means it is gone already."""
    retired = column_adoption.retired_column(db, int(payload["retired_id"]))
    if retired is None or retired.deleted or not retired.created_by_tool:
        return
    scopes = gradebook.context_scopes(db, retired.context_id)
    if SCOPE_LINEITEM not in scopes:
        column_adoption.retired_column_kept(
            db,
            retired.id,
            "The LMS no longer lets the tool manage columns, so it cannot delete this one: "
            "delete it in the gradebook.",
        )
        return
    platform_id = gradebook.platform_of(db, retired.context_id)
    response = service_request(
        db, platform_id, token_scopes(scopes), "DELETE", retired.lineitem_url, accept=MEDIA_LINEITEM
    )
    if response.status_code in (200, 202, 204, 404):
        column_adoption.retired_column_deleted(db, retired.id)
        log.info("event=line_item_deleted context_id=%s url=%s", retired.context_id, retired.lineitem_url)
    elif 400 <= response.status_code < 500:
        column_adoption.retired_column_kept(
            db,
            retired.id,
            f"The LMS refused to delete this column (HTTP {response.status_code}): "
            "delete it in the gradebook.",
        )
    else:
        raise ServiceError(
            f"DELETE {retired.lineitem_url} answered HTTP {response.status_code}", response.status_code
        )


def init_app(app: Flask) -> None:
    """Register the gradebook outbox handlers and the NRPS roster source."""
    from ..services import roster
    from . import nrps

    outbox.register_handler(TOPIC_CREDENTIAL, handle_credential_message)
    outbox.register_handler(TOPIC_STACK, handle_stack_message)
    outbox.register_handler(TOPIC_PLACEMENT, handle_placement_message)
    outbox.register_handler(gradebook.TOPIC_RETIRE, handle_retire_message)
    admins_are_designers = bool(app.extensions["settings"].lms_admins_are_designers)
    roster.set_member_source(partial(nrps.fetch_members, admins_are_designers=admins_are_designers))
    app.extensions["lti_ags"] = True
