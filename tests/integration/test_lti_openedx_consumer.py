"""End to end with Open edX's platform side of LTI 1.3: PyPI ``lti-consumer-xblock`` 11.4.4, the package Open
edX installs for its LTI consumer block, used here outside Open edX.

Both sides are real HTTP servers on 127.0.0.1 (werkzeug) and a ``requests`` session plays the browser. The
platform side is ``lti_consumer.lti_1p3.consumer.LtiAdvantageConsumer``, set up and called as Open edX does
(read from the package's models.py, api.py, lti_xblock.py and plugin/views.py):

- the consumer is built as ``LtiConfiguration._get_lti_1p3_consumer`` builds it for a block configured on the
  block/database: issuer = the LMS's ``LTI_API_BASE``, deployment ``"1"``, the configuration's own RSA key
  (generated with pycryptodomex, as ``Lti1p3Passport`` generates it) and key id, the tool's key set URL; then
  ``_setup_lti_1p3_ags`` (the default declarative mode: the block's one line item, read-only line items),
  ``_setup_lti_1p3_deep_linking`` and ``_setup_lti_1p3_nrps``, with the URLs of ``lti_consumer.utils``;
- the launch data is the block's ``get_lti_1p3_launch_data``: an ``Lti1p3LaunchData`` with the user's
  external id, their Open edX role (``instructor``, ``staff``, ``student``, or None), the block's usage key as
  resource link, the course key as context (``course_offering``), name and e-mail only when the course shares
  them, and the block's custom parameters (its ``key=value`` list: ``course_map=learning-differences``);
- a launch starts at ``prepare_preflight_url`` as ``api.get_lti_1p3_launch_start_url`` and
  ``get_lti_1p3_content_url`` start it (a Deep Linking launch with ``message_type`` LtiDeepLinkingRequest;
  once one ``ltiResourceLink`` was deep-linked, a launch of that item with its ``url`` and ``custom``);
- the platform's endpoints are the bodies of plugin/views.py's: ``launch_gate_endpoint`` (the OIDC
  authorization endpoint: launch data from the cache by ``lti_message_hint``, the claims set, only
  ``instructor``/``staff`` may deep link, ``generate_launch_request`` on our authentication request, Open
  edX's own ``html/lti_1p3_launch.html`` auto-posting form), ``public_keyset_endpoint``,
  ``access_token_endpoint`` (``access_token``, with its error mapping), ``deep_linking_response_endpoint``
  (``check_and_decode_deep_linking_token`` against our /lti/jwks.json, then each item through Open edX's
  DRF serializer ``LTI_DL_CONTENT_TYPE_SERIALIZER_MAP`` and stored as an ``LtiDlContentItem`` would be), and
  ``LtiAgsLineItemViewset``'s ``list`` and ``scores`` up to the database (``Lti1p3ApiAuthentication`` and
  ``LtiAgsPermissions`` with ``check_token``, the score media type, ``LtiAgsLineItemSerializer``,
  ``LtiAgsScoreSerializer`` against the learner's last score, and ``LtiAgsScore.full_clean``).

Django is configured minimally (``settings.configure``): a local-memory cache (``cache_lti_1p3_launch_data``
keeps the launch data between the preflight and the launch gate in Django's cache through TieredCache),
``PLATFORM_NAME`` (the ``tool_platform`` claim), the template engine, and the installed apps that the DRF
serializers (they import ``lti_consumer.models``) and the templates need. No database: model instances are
built and validated, never saved.

What cannot run outside Open edX, and is therefore not exercised:

- the Django views as they are: each loads ``LtiConfiguration`` / ``Lti1p3Passport`` / ``LtiDlContentItem`` /
  ``LtiAgsLineItem`` rows through the ORM, and ``_setup_lti_1p3_ags`` in the default declarative mode creates
  the block's line item from the block itself (``compat.load_enough_xblock``, which imports ``openedx.core``
  and ``xmodule.modulestore``). The handlers here run the same calls with the configuration in memory (the
  line item's ``id`` is the URL of ``lti_consumer.utils``, not ``reverse()`` through Open edX's URLconf);
- the Deep Linking response view's permission check, ``compat.user_has_studio_write_access`` (imports
  ``common.djangoapps.student.auth``): the handler checks the signed response and its items without it;
- what a saved score does: ``LtiAgsScore``'s post_save signal publishes it to the course's grades through
  ``compat.load_block_as_user`` and ``compat.publish_grade`` (``lms.djangoapps.courseware``/``grades``);
  the scores here stop once Open edX's serializer and model have accepted them;
- NRPS (``LtiNrpsContextMembershipViewSet``: ``compat.get_course_members`` -> ``lms.djangoapps.course_api``):
  only the claim the launches carry and the memberships URL the tool records from it are checked.

Open edX's role map also sends its forum roles ``Community TA`` and ``Group Moderator`` as Learner +
``Instructor#TeachingAssistant``; the tool maps TeachingAssistant to assessor (README, roles.py), so such a
person may review evidence. That is the two role vocabularies meeting, not tested here as a rule of either.
"""

from __future__ import annotations

import html
import json
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import django
import jwt
import pytest
import requests
from Cryptodome.PublicKey import RSA
from django.conf import settings as django_settings
from lti_consumer.data import Lti1p3LaunchData
from lti_consumer.lti_1p3 import exceptions as lti_exceptions
from lti_consumer.lti_1p3.consumer import LtiAdvantageConsumer, LtiConsumer1p3
from lti_consumer.utils import (
    choose_lti_1p3_redirect_uris,
    get_data_from_cache,
    get_lti_1p3_context_types_claim,
)
from opaque_keys.edx.keys import UsageKey
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from lti_tool.db import Database
from lti_tool.db.base import utcnow
from lti_tool.db.lti_service_models import Placement
from lti_tool.db.models import Context, Membership, User
from lti_tool.lti import service_token
from lti_tool.services import assessment, outbox
from lti_tool.services.course_maps import load_course_maps
from tests import scenario
from tests.lti_platform_helpers import HttpServer, landed_path, lti_app, row_counts

BLOCK = "block-v1:OpenedX+MC101+2025_T1+type@lti_consumer+block@5e2c1b0a9d3f4e7c8b6a1f0e2d4c6b8a"
COURSE_TITLE = "Micro-credentials for Educators - OpenedX"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
LAUNCH_GATE = "/api/lti_consumer/v1/launch/"


def _django() -> None:
    """The least Django the consumer's code paths need (see the module docstring); once per process."""
    if django_settings.configured:
        return
    django_settings.configure(
        PLATFORM_NAME="Open edX (tests)",
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": "lti-openedx-tests",
            }
        },
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "lti_consumer",
        ],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
        DATABASES={},
        USE_TZ=True,
        LOGGING_CONFIG=None,  # leave the test run's logging alone
    )
    django.setup()


@dataclass(frozen=True)
class Person:
    """An Open edX user as the block sees them: LMS id, external id (the LTI ``sub``), course role."""

    lms_id: int
    role: str | None
    name: str = ""
    email: str = ""
    username: str = ""
    external_id: str = field(default_factory=lambda: str(uuid.uuid4()))


LEARNER = Person(11, "student", "Lena Learner", "lena@openedx.example", "lena")
QUIET_LEARNER = Person(12, "student")  # the course shares no PII (Open edX's default): no name, no e-mail
INSTRUCTOR = Person(13, "instructor", "Ira Instructor", "ira@openedx.example", "ira")
STAFF = Person(14, "staff", "Sol Staff", "sol@openedx.example", "sol")
NO_ROLE = Person(15, None, "Nadia Nobody", "nadia@openedx.example", "nadia")


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class OpenEdx:
    """One Open edX LMS with one LTI 1.3 consumer block in one course; its LTI endpoints on real HTTP."""

    def __init__(self, tool_url: str, course_map: str) -> None:
        from django.test import override_settings
        from lti_consumer import utils

        self.server = HttpServer()
        self.base = self.server.url
        self.tool_url = tool_url
        self.launch_url = tool_url + "/lti/launch"
        self.deep_linking_launch_url = tool_url + "/lti/launch"
        self.config_pk = 1  # LtiConfiguration.id
        self.config_id = str(uuid.uuid4())  # LtiConfiguration.config_id (the launch data's config_id)
        self.passport_id = str(uuid.uuid4())  # Lti1p3Passport.passport_id (keyset and token URLs)
        self.client_id = str(uuid.uuid4())  # models.generate_client_id
        private_key = RSA.generate(2048)  # as Lti1p3Passport._generate_lti_1p3_keys_if_missing
        self.key_id = str(uuid.uuid4())
        self.private_pem = private_key.export_key("PEM").decode("utf-8")
        self.lineitem_pk = 1  # the block's LtiAgsLineItem (declarative mode)
        self.usage_key = UsageKey.from_string(BLOCK)
        self.block_custom_parameters = [f"course_map = {course_map}"]  # the block's "Custom parameters"
        self.content_items: list[dict[str, Any]] = []  # LtiDlContentItem rows: id, content_type, attributes
        self.decoded_content_items: list[dict[str, Any]] = []
        with override_settings(LTI_BASE=self.base, LTI_API_BASE=self.base):
            self.urls = {
                "auth": utils.get_lms_lti_launch_link(),
                "keyset": utils.get_lms_lti_keyset_link(self.passport_id),
                "token": utils.get_lms_lti_access_token_link(self.passport_id),
                "lineitems": utils.get_lti_ags_lineitems_url(self.config_pk),
                "lineitem": utils.get_lti_ags_lineitems_url(self.config_pk, self.lineitem_pk),
                "dl_response": utils.get_lti_deeplinking_response_url(self.config_pk),
                "memberships": utils.get_lti_nrps_context_membership_url(self.config_pk),
            }
        self.server.route("GET", LAUNCH_GATE, self._launch_gate)
        self.server.route("POST", LAUNCH_GATE, self._launch_gate)
        self.server.route("GET", urlsplit(self.urls["keyset"]).path, self._keyset)
        self.server.route("POST", urlsplit(self.urls["token"]).path, self._token)
        self.server.route("POST", urlsplit(self.urls["dl_response"]).path, self._deep_linking_response)
        self.server.route("GET", urlsplit(self.urls["lineitems"]).path, self._line_items)
        self.server.route("POST", urlsplit(self.urls["lineitem"]).path + "/scores", self._scores)
        self.scores: dict[str, Any] = {}  # LtiAgsScore rows of the block's line item, by userId
        self.scores_received: list[dict[str, Any]] = []  # each accepted score as the serializer read it
        self.block_title = "Micro-credential Stacks"  # the block's display_name: its line item's label
        # What happens to the next score POSTs on the way: "down" (503 from the proxy, nothing stored) or
        # "lost" (stored, then the proxy times out: 504). Empty: answered as the view answers.
        self.score_outages: list[str] = []

    @property
    def keyset_fetches(self) -> int:
        return self.server.hits.get(urlsplit(self.urls["keyset"]).path, 0)

    # --- LtiConfiguration.get_lti_consumer ------------------------------------------------------------
    def consumer(self, rsa_key: str | None = None, rsa_key_id: str | None = None) -> LtiAdvantageConsumer:
        consumer = LtiAdvantageConsumer(
            iss=self.base,
            lti_oidc_url=self.tool_url + "/lti/login",
            lti_launch_url=self.launch_url,
            client_id=self.client_id,
            deployment_id="1",
            rsa_key=rsa_key or self.private_pem,
            rsa_key_id=rsa_key_id or self.key_id,
            redirect_uris=choose_lti_1p3_redirect_uris(None, self.launch_url, self.deep_linking_launch_url),
            tool_key=None,
            tool_keyset_url=self.tool_url + "/lti/jwks.json",
        )
        consumer.enable_ags(
            lineitems_url=self.urls["lineitems"],
            lineitem_url=self.urls["lineitem"],
            allow_programmatic_grade_interaction=False,  # LTI_ADVANTAGE_AGS_DECLARATIVE, the default
        )
        consumer.enable_deep_linking(self.deep_linking_launch_url, self.urls["dl_response"])
        consumer.enable_nrps(self.urls["memberships"])
        return consumer

    def public_jwks(self) -> dict[str, Any]:
        keys: dict[str, Any] = self.consumer().get_public_keyset()
        return keys

    # --- the block: get_lti_1p3_launch_data and the launch start URL ---------------------------------
    def custom_parameters(self) -> dict[str, str]:
        """LtiConsumerXBlock.get_lti_1p3_custom_parameters over the block's ``key=value`` list."""
        from lti_consumer.lti_xblock import CUSTOM_PARAMETER_SEPARATOR

        custom: dict[str, str] = {}
        for parameter in self.block_custom_parameters:
            key, value = map(str.strip, parameter.split(CUSTOM_PARAMETER_SEPARATOR, 1))
            custom[key] = value
        return custom

    def launch_data(self, person: Person) -> Lti1p3LaunchData:
        course_key = str(self.usage_key.context_key)
        return Lti1p3LaunchData(
            user_id=person.lms_id,
            user_role=person.role,
            config_id=self.config_id,
            resource_link_id=str(self.usage_key),
            external_user_id=person.external_id,
            preferred_username=person.username or None,
            name=person.name or None,
            email=person.email or None,
            launch_presentation_document_target="iframe",
            context_id=course_key,
            context_type=["course_offering"],
            context_title=COURSE_TITLE,
            context_label=course_key,
            custom_parameters=self.custom_parameters(),
        )

    def start_url(self, person: Person, *, deep_link: bool = False) -> str:
        """The URL the block's iframe opens: api.get_lti_1p3_launch_start_url / get_lti_1p3_content_url."""
        launch_data = self.launch_data(person)
        if deep_link:
            launch_data.message_type = "LtiDeepLinkingRequest"
        elif self.content_items:
            # get_lti_1p3_content_url: one ltiResourceLink item launches directly; several would need the
            # content presentation page (deep_linking_content_endpoint), which loads the block.
            (item,) = self.content_items
            assert item["content_type"] == "ltiResourceLink"
            launch_data.deep_linking_content_item_id = item["id"]
        url: str = self.consumer().prepare_preflight_url(launch_data)
        return url

    # --- plugin/views.py ------------------------------------------------------------------------------
    def launch_request(
        self, params: dict[str, str], consumer: LtiAdvantageConsumer | None = None
    ) -> dict[str, Any]:
        """launch_gate_endpoint's body: the template context of the auto-posting launch form."""
        from lti_consumer.api import validate_lti_1p3_launch_data

        lti_message_hint = params.get("lti_message_hint")
        if not lti_message_hint:
            raise Refused(400, "The lti_message_hint is missing or empty.")
        if not params.get("login_hint"):
            raise Refused(400, "The login_hint is missing or empty.")
        launch_data = get_data_from_cache(lti_message_hint)
        if not launch_data:
            raise Refused(400, f"Unable to find record of an OIDC launch for {lti_message_hint}")
        is_valid, messages = validate_lti_1p3_launch_data(launch_data)
        if not is_valid:
            raise Refused(400, "The Lti1p3LaunchData is not valid. " + " ".join(messages))
        if launch_data.config_id != self.config_id:
            raise Refused(404, "Invalid config_id")
        lti_consumer = consumer or self.consumer()
        user_id = launch_data.external_user_id or launch_data.user_id
        lti_consumer.set_user_data(
            user_id=user_id,
            role=launch_data.user_role,
            full_name=launch_data.name,
            email_address=launch_data.email,
            preferred_username=launch_data.preferred_username,
        )
        lti_consumer.set_resource_link_claim(launch_data.resource_link_id)
        lti_consumer.set_launch_presentation_claim(
            document_target=launch_data.launch_presentation_document_target,
            return_url=launch_data.launch_presentation_return_url,
        )
        context_types = (
            get_lti_1p3_context_types_claim(launch_data.context_type) if launch_data.context_type else None
        )
        lti_consumer.set_context_claim(
            launch_data.context_id, context_types, launch_data.context_title, launch_data.context_label
        )
        context: dict[str, Any] = {"launch_url": params.get("redirect_uri")}
        if launch_data.custom_parameters:
            lti_consumer.set_custom_parameters(launch_data.custom_parameters)
        content_item_id = launch_data.deep_linking_content_item_id
        if launch_data.message_type == "LtiDeepLinkingRequest" and lti_consumer.dl:
            if launch_data.user_role not in ["instructor", "staff"]:
                raise Refused(403, "Deep Linking can only be performed by instructors and staff.")
        elif content_item_id and lti_consumer.dl:
            attributes = next(i for i in self.content_items if i["id"] == content_item_id)["attributes"]
            lti_consumer.set_dl_content_launch_parameters(
                url=attributes.get("url"), custom=attributes.get("custom")
            )
        try:
            context["launch_request"] = lti_consumer.generate_launch_request(preflight_response=params)
        except lti_exceptions.Lti1p3Exception as exc:
            raise Refused(400, f"Error preparing LTI 1.3 launch: {exc}") from exc
        context["preflight_response"] = params
        return context

    def _launch_gate(self, request: Request) -> Response:
        from django.template.loader import render_to_string

        params = (request.args if request.method == "GET" else request.form).to_dict()
        try:
            context = self.launch_request(params)
        except Refused as refused:
            page = render_to_string("html/lti_launch_error.html", {"error_msg": refused.message})
            return Response(page, status=refused.status, content_type="text/html; charset=utf-8")
        page = render_to_string("html/lti_1p3_launch.html", context)
        return Response(page, content_type="text/html; charset=utf-8")

    def _keyset(self, request: Request) -> Response:
        response = Response(json.dumps(self.public_jwks()), content_type="application/json")
        response.headers["Content-Disposition"] = "attachment; filename=keyset.json"
        return response

    def _token(self, request: Request) -> Response:
        """access_token_endpoint for a passport: an LtiConsumer1p3 with the passport's keys."""
        consumer = LtiConsumer1p3(
            iss=self.base,
            lti_oidc_url=None,
            lti_launch_url=None,
            client_id=self.client_id,
            deployment_id=None,
            rsa_key=self.private_pem,
            rsa_key_id=self.key_id,
            redirect_uris=None,
            tool_key=None,
            tool_keyset_url=self.tool_url + "/lti/jwks.json",
        )
        form = dict(urllib.parse.parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
        try:
            return Response(json.dumps(consumer.access_token(form)), content_type="application/json")
        except Exception as exc:
            # The view's mapping compares exact exception classes (InvalidSignatureError is a DecodeError
            # subclass, yet answers invalid_client).
            kind = type(exc)
            if kind is lti_exceptions.MissingRequiredClaim:
                error = "invalid_request"
            elif kind in (
                lti_exceptions.MalformedJwtToken,
                lti_exceptions.TokenSignatureExpired,
                jwt.DecodeError,
            ):
                error = "invalid_grant"
            elif kind in (
                lti_exceptions.NoSuitableKeys,
                lti_exceptions.UnknownClientId,
                jwt.InvalidSignatureError,
                KeyError,
                AttributeError,
            ):
                error = "invalid_client"
            elif kind is lti_exceptions.UnsupportedGrantType:
                error = "unsupported_grant_type"
            else:
                error = "unidentified_error"
        return Response(json.dumps({"error": error}), status=400, content_type="application/json")

    def _deep_linking_response(self, request: Request) -> Response:
        """deep_linking_response_endpoint without its Studio permission check (module docstring)."""
        from django.template.loader import render_to_string
        from lti_consumer.lti_1p3.extensions.rest_framework.constants import (
            LTI_DL_CONTENT_TYPE_SERIALIZER_MAP,
        )

        try:
            content_items = self.consumer().check_and_decode_deep_linking_token(request.form.get("JWT"))
        except lti_exceptions.LtiDeepLinkingContentTypeNotSupported:
            return Response("The selected content type is not supported by Open edX.", status=400)
        except (lti_exceptions.Lti1p3Exception, jwt.PyJWTError) as exc:
            return Response(f"You don't have access to save LTI Content Items: {exc!r}", status=403)
        saved: list[dict[str, Any]] = []
        for content_item in content_items:
            serializer = LTI_DL_CONTENT_TYPE_SERIALIZER_MAP[content_item["type"]](data=content_item)
            if not serializer.is_valid():
                return Response(json.dumps(serializer.errors), status=400)
            saved.append(
                {
                    "id": len(saved) + 1,
                    "content_type": content_item["type"],
                    "attributes": json.loads(json.dumps(serializer.validated_data)),
                }
            )
        self.decoded_content_items = content_items
        self.content_items = saved  # the view deletes the earlier selection and saves this one
        return Response(render_to_string("html/lti-dl/dl_response_saved.html"), content_type="text/html")

    def _ags_consumer(self, request: Request, scopes: list[str]) -> LtiAdvantageConsumer | Response:
        """Lti1p3ApiAuthentication (a valid bearer token of this configuration) and LtiAgsPermissions (one
        of the action's scopes); DRF answers 403 for both (the class names no authenticate header)."""
        auth = request.headers.get("Authorization", "").split()
        if len(auth) != 2 or auth[0].lower() != "bearer":
            return Response('{"detail": "Missing LTI 1.3 authentication token."}', status=403)
        consumer = self.consumer()
        try:
            consumer.check_token(auth[1])
        except Exception:
            return Response('{"detail": "Invalid token signature."}', status=403)
        if not consumer.check_token(auth[1], scopes):
            return Response('{"detail": "You do not have permission."}', status=403)
        return consumer

    def line_item(self) -> Any:
        """The block's one LtiAgsLineItem (declarative mode: _setup_lti_1p3_ags makes it from the block)."""
        from lti_consumer.models import LtiAgsLineItem

        return LtiAgsLineItem(
            id=self.lineitem_pk,
            lti_configuration_id=self.config_pk,
            resource_id=str(self.usage_key),
            resource_link_id=self.usage_key,
            label=self.block_title,
            score_maximum=1,
            tag="",
        )

    def _line_items(self, request: Request) -> Response:
        """LtiAgsLineItemViewset.list: the configuration's line items, filtered on resource_id,
        resource_link_id and tag (DjangoFilterBackend), as LtiAgsLineItemSerializer writes them."""
        from lti_consumer.lti_1p3.extensions.rest_framework.serializers import LtiAgsLineItemSerializer

        checked = self._ags_consumer(
            request,
            [
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
            ],
        )
        if isinstance(checked, Response):
            return checked
        urls = self.urls

        class LineItems(LtiAgsLineItemSerializer):
            def get_id(self, obj: Any) -> str:
                # reverse('lti_consumer:lti-ags-view-detail') needs Open edX's URLconf; the same URL:
                return urls["lineitem"]

        items = [self.line_item()]
        for name in ("resource_id", "resource_link_id", "tag"):
            if name in request.args:
                items = [i for i in items if str(getattr(i, name)) == request.args[name]]
        body = json.dumps(LineItems(items, many=True).data)
        return Response(body, content_type="application/vnd.ims.lis.v2.lineitemcontainer+json")

    def _scores(self, request: Request) -> Response:
        """LtiAgsLineItemViewset.scores up to the database: LineItemScoreParser's media type, then
        LtiAgsScoreSerializer (against the learner's earlier score) and LtiAgsScore's own validation
        (``save`` runs ``full_clean``: the choices of activityProgress and gradingProgress, a positive
        scoreMaximum with a scoreGiven). Saving it would publish the grade through edx-platform."""
        from lti_consumer.lti_1p3.extensions.rest_framework.parsers import LineItemScoreParser
        from lti_consumer.lti_1p3.extensions.rest_framework.serializers import LtiAgsScoreSerializer
        from lti_consumer.models import LtiAgsScore

        outage = self.score_outages.pop(0) if self.score_outages else None
        if outage == "down":
            return Response("<h1>503 Service Temporarily Unavailable</h1>", status=503)
        checked = self._ags_consumer(request, ["https://purl.imsglobal.org/spec/lti-ags/scope/score"])
        if isinstance(checked, Response):
            return checked
        if request.mimetype != LineItemScoreParser.media_type:
            return Response('{"detail": "Unsupported media type."}', status=415)
        data = json.loads(request.get_data(as_text=True))
        existing = self.scores.get(str(data.get("userId")))
        serializer = LtiAgsScoreSerializer(instance=existing, data=data)
        if not serializer.is_valid():
            return Response(json.dumps(serializer.errors), status=400, content_type="application/json")
        score = existing or LtiAgsScore(line_item=self.line_item())
        for name, value in serializer.validated_data.items():
            setattr(score, name, value)
        from django.core.exceptions import ValidationError

        try:
            score.full_clean(exclude=["line_item"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            return Response(json.dumps(exc.message_dict), status=400, content_type="application/json")
        self.scores[score.user_id] = score
        self.scores_received.append(dict(serializer.validated_data))
        if outage == "lost":
            return Response("<h1>504 Gateway Time-out</h1>", status=504)
        return Response(
            json.dumps(LtiAgsScoreSerializer(score).data),
            status=201,
            content_type="application/vnd.ims.lis.v1.score+json",
        )

    def close(self) -> None:
        self.server.close()


# --- the tool on real HTTP, and the browser -------------------------------------------------------------


class ToolServer:
    """A threaded werkzeug server bound first (its URL is the tool's BASE_URL), serving the app set later."""

    def __init__(self) -> None:
        self.app: Any = None
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Form:
    action: str
    fields: list[tuple[str, str]]  # what a browser submits: hidden/text values, checked boxes and radios
    choices: dict[str, list[str]]  # every radio/checkbox value by name


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self.forms.append(Form(a.get("action", ""), [], {}))
        elif tag == "input" and self.forms and a.get("name"):
            kind, form = a.get("type", "text").lower(), self.forms[-1]
            if kind in ("radio", "checkbox"):
                form.choices.setdefault(a["name"], []).append(a.get("value", "on"))
                if "checked" in a:
                    form.fields.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button"):
                form.fields.append((a["name"], a.get("value", "")))


def post_forms(page: requests.Response) -> list[Form]:
    parser = _Forms()
    parser.feed(page.text)
    return parser.forms


def submit(
    browser: requests.Session, page: requests.Response, form: Form | None = None, **values: str
) -> requests.Response:
    """Submit the page's (first) POST form as a browser would, ``values`` replacing fields of that name."""
    form = form or post_forms(page)[0]
    fields = [(k, v) for k, v in form.fields if k not in values] + list(values.items())
    return browser.post(urllib.parse.urljoin(page.url, html.unescape(form.action)), data=fields)


def refusal_code(page: requests.Response) -> str | None:
    marker = 'data-error-code="'
    start = page.text.find(marker)
    return page.text[start + len(marker) : page.text.index('"', start + len(marker))] if start >= 0 else None


@dataclass
class World:
    tool_url: str
    app: Any
    db: Database
    lms: OpenEdx
    course_map: str
    platform_id: int


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """The tool (on each database) with the Open edX LMS registered as an operator registers it."""
    _django()
    from django.core.cache import cache

    cache.clear()
    tool = ToolServer()
    app = lti_app(database_url, tmp_path, BASE_URL=tool.url)
    tool.app = app
    db: Database = app.extensions["db"]
    course_map = load_course_maps(db, [scenario.LEARNING_DIFFERENCES])[0].course_key
    lms = OpenEdx(tool.url, course_map)
    try:
        # What Studio's block settings show the course team (api.get_lti_1p3_launch_info), typed into
        # `lti-tool platforms add` (development mode: the LMS is http://127.0.0.1).
        added = app.test_cli_runner().invoke(
            args=[
                "platforms", "add",
                "--issuer", lms.base,
                "--client-id", lms.client_id,
                "--auth-login-url", lms.urls["auth"],
                "--auth-token-url", lms.urls["token"],
                "--jwks-url", lms.urls["keyset"],
                "--deployment", "1",
                "--name", "Open edX",
            ]
        )  # fmt: skip
        assert added.exit_code == 0, added.output
        platform_id = int(added.output.split()[1].rstrip(":"))
        with app.app_context():  # services called from the test run in the app's context, as the CLI's do
            yield World(tool.url, app, db, lms, course_map, platform_id)
    finally:
        tool.close()
        lms.close()
        db.dispose()


def start(
    world: World, person: Person, *, deep_link: bool = False
) -> tuple[requests.Session, requests.Response]:
    """The person opens the block: preflight -> our /lti/login -> Open edX's launch gate (its form)."""
    browser = requests.Session()
    gate = browser.get(world.lms.start_url(person, deep_link=deep_link))
    assert gate.status_code == 200, gate.text[:2000]
    assert urlsplit(gate.url).path == LAUNCH_GATE, gate.url
    return browser, gate


def launch(
    world: World, person: Person, *, deep_link: bool = False
) -> tuple[requests.Session, requests.Response]:
    browser, gate = start(world, person, deep_link=deep_link)
    return browser, submit(browser, gate)  # Open edX's form posts id_token and state to our /lti/launch


def _claims(world: World, id_token: str) -> dict[str, Any]:
    """An id_token checked with the key Open edX publishes (its keyset endpoint's document)."""
    key = jwt.PyJWK(world.lms.public_jwks()["keys"][0], algorithm="RS256")
    claims: dict[str, Any] = jwt.decode(id_token, key.key, algorithms=["RS256"], audience=world.lms.client_id)
    return claims


def _placements(db: Database) -> list[Placement]:
    with db.read() as session:
        return list(session.scalars(select(Placement)))


# --- 1. OIDC login, launch, landing by role --------------------------------------------------------------


def test_oidc_login_launch_and_landing_by_open_edx_role(world: World) -> None:
    lms, db = world.lms, world.db
    course_key = str(lms.usage_key.context_key)

    # The preflight (third-party initiated login) as prepare_preflight_url builds it...
    preflight = parse_qs(urlsplit(lms.start_url(LEARNER)).query)
    assert {k: v[0] for k, v in preflight.items() if k != "lti_message_hint"} == {
        "iss": lms.base,
        "client_id": lms.client_id,
        "lti_deployment_id": "1",
        "target_link_uri": world.tool_url + "/lti/launch",
        "login_hint": LEARNER.external_id,
    }
    # ... our tool answers with an authentication request to the consumer's launch gate,
    browser, gate = start(world, LEARNER)
    auth = {k: v[0] for k, v in parse_qs(urlsplit(gate.url).query).items()}
    assert {k: auth[k] for k in ("scope", "response_type", "response_mode", "prompt")} == {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
    }
    assert auth["client_id"] == lms.client_id and auth["redirect_uri"] == world.tool_url + "/lti/launch"
    assert (
        auth["login_hint"] == LEARNER.external_id
        and auth["lti_message_hint"] == preflight["lti_message_hint"][0]
    )
    # ... and generate_launch_request puts our state and nonce into the id_token of Open edX's form.
    (form,) = post_forms(gate)
    assert form.action == world.tool_url + "/lti/launch"
    fields = dict(form.fields)
    assert fields["state"] == auth["state"]
    claims = _claims(world, fields["id_token"])
    assert (
        claims["nonce"] == auth["nonce"]
        and claims["iss"] == lms.base
        and claims["sub"] == LEARNER.external_id
    )
    assert claims[LTI + "roles"] and MEMBERSHIP + "Learner" in claims[LTI + "roles"]
    assert claims[LTI + "custom"] == {"course_map": world.course_map}
    assert claims[LTI + "resource_link"] == {"id": BLOCK}
    assert claims[LTI + "context"]["id"] == course_key
    assert claims[LTI + "tool_platform"]["name"] == "Open edX (tests)"

    # The learner lands on their progress page, in the course the block's course_map names.
    landed = submit(browser, gate)
    assert landed.status_code == 200, landed.text[:2000]
    assert landed_path(landed.url, landed) == "/learn/"
    assert "Learning Differences" in landed.text
    # The signed-in page may be framed by the LMS (the issuer's origin), where the block shows it.
    frame_ancestors = landed.headers["Content-Security-Policy"].split("frame-ancestors", 1)[1].split(";")[0]
    assert lms.base in frame_ancestors.split()
    with db.read() as session:
        context = session.scalars(select(Context).where(Context.context_id == course_key)).one()
        learner = session.scalars(select(User).where(User.sub == LEARNER.external_id)).one()
    assert (context.course_key, context.title, context.label) == (world.course_map, COURSE_TITLE, course_key)
    assert (context.lineitems_url, context.memberships_url) == (
        lms.urls["lineitems"],
        lms.urls["memberships"],
    )
    assert (learner.name, learner.email) == (LEARNER.name, LEARNER.email)

    # Open edX shares no name or e-mail unless the course allows it: such a learner lands as well.
    _browser, quiet = launch(world, QUIET_LEARNER)
    assert quiet.status_code == 200 and landed_path(quiet.url, quiet) == "/learn/", quiet.text[:2000]
    with db.read() as session:
        nameless = session.scalars(select(User).where(User.sub == QUIET_LEARNER.external_id)).one()
    assert (nameless.name, nameless.email) == ("", "")

    # Course staff: Open edX's instructor (course Administrator + Instructor) designs, its staff (Instructor)
    # assesses.
    _browser, designer = launch(world, INSTRUCTOR)
    assert designer.status_code == 200 and urlsplit(designer.url).path == "/design/", designer.url
    _browser, assessor = launch(world, STAFF)
    assert assessor.status_code == 200 and urlsplit(assessor.url).path == "/assess/", assessor.url
    with db.read() as session:
        roles = {
            sub: sorted(r)
            for sub, r in session.execute(
                select(User.sub, Membership.roles).join(Membership, Membership.user_id == User.id)
            )
        }
    assert roles[INSTRUCTOR.external_id] == ["assessor", "designer"]
    assert roles[STAFF.external_id] == ["assessor"]
    assert roles[LEARNER.external_id] == roles[QUIET_LEARNER.external_id] == ["learner"]

    # A user with no course role (user_role None: an empty roles claim) is refused, and nothing is written.
    before = row_counts(db)
    _browser, refused = launch(world, NO_ROLE)
    assert refused.status_code == 400 and refusal_code(refused) == "lti_roles", refused.text[:2000]
    assert row_counts(db) == before
    # The platform's keys were fetched once, over HTTP, for all of these launches.
    assert lms.keyset_fetches == 1


# --- 2. Replays and foreign keys ---------------------------------------------------------------------------


def test_replayed_launch_and_launch_signed_with_another_key_are_refused(world: World) -> None:
    lms, db = world.lms, world.db
    browser, gate = start(world, LEARNER)
    captured = dict(post_forms(gate)[0].fields)
    first = submit(browser, gate)
    assert first.status_code == 200, first.text[:2000]
    before = row_counts(db)

    # The same form posted again (a replay in the same browser) ...
    again = browser.post(world.tool_url + "/lti/launch", data=captured)
    assert again.status_code == 400 and refusal_code(again) == "lti_replay", again.text[:2000]
    # ... and the captured id_token against a new login of the same person.
    browser2 = requests.Session()
    login = browser2.get(lms.start_url(LEARNER), allow_redirects=False)
    assert login.status_code == 302
    fresh_state = parse_qs(urlsplit(login.headers["Location"]).query)["state"][0]
    replayed = browser2.post(
        world.tool_url + "/lti/launch", data={"id_token": captured["id_token"], "state": fresh_state}
    )
    assert replayed.status_code == 400 and refusal_code(replayed) == "lti_replay", replayed.text[:2000]

    def forged(private_pem: str, kid: str) -> requests.Response:
        """A fresh login answered by the consumer with another RSA key (Open edX's code, the wrong key)."""
        browser = requests.Session()
        login = browser.get(lms.start_url(LEARNER), allow_redirects=False)
        assert login.status_code == 302 and login.headers["Location"].startswith(lms.urls["auth"])
        auth = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["Location"]).query).items()}
        context = lms.launch_request(auth, consumer=lms.consumer(rsa_key=private_pem, rsa_key_id=kid))
        return browser.post(context["launch_url"], data=context["launch_request"])

    other_key = RSA.generate(2048).export_key("PEM").decode("utf-8")
    fetches = lms.keyset_fetches
    same_kid = forged(other_key, lms.key_id)  # claims to be the published key
    assert same_kid.status_code == 400 and refusal_code(same_kid) == "lti_signature", same_kid.text[:2000]
    assert lms.keyset_fetches == fetches  # the published key was known: nothing to fetch
    own_kid = forged(other_key, str(uuid.uuid4()))  # a key the LMS does not publish
    assert own_kid.status_code == 400 and refusal_code(own_kid) == "lti_unknown_kid", own_kid.text[:2000]
    assert lms.keyset_fetches == fetches + 1  # one look for a rotated key, then refused
    assert row_counts(db) == before


# --- 3. Deep Linking, verified by the consumer; 4. the placement from its AGS claim -------------------------


def test_deep_linking_response_verified_by_the_consumer_and_the_placed_launch(world: World) -> None:
    lms, db = world.lms, world.db
    course_key = str(lms.usage_key.context_key)

    # Studio: the instructor opens the block's Deep Linking launch. Open edX sends no custom parameters with
    # it, so the course follows no map yet and the picker first asks which.
    browser, gate = start(world, INSTRUCTOR, deep_link=True)
    claims = _claims(world, dict(post_forms(gate)[0].fields)["id_token"])
    assert claims[LTI + "message_type"] == "LtiDeepLinkingRequest" and LTI + "custom" not in claims
    assert claims[DL_SETTINGS]["deep_link_return_url"] == lms.urls["dl_response"]
    picker = submit(browser, gate)
    assert picker.status_code == 200 and urlsplit(picker.url).path == "/lti/deep-link", picker.text[:2000]
    assert 'data-step="choose-map"' in picker.text
    placing = submit(browser, picker, course_key=world.course_map)
    assert placing.status_code == 200 and 'data-step="place"' in placing.text, placing.text[:2000]
    (form,) = post_forms(placing)
    stacks = [v for v in form.choices["item"] if v.startswith("stack:")]
    assert stacks and 'type="checkbox" name="item"' in placing.text  # Open edX accepts multiple items
    stack_key = stacks[0].split(":", 1)[1]
    answer = submit(browser, placing, form, item=stacks[0])
    assert answer.status_code == 200, answer.text[:2000]
    (returned,) = post_forms(answer)
    assert returned.action == lms.urls["dl_response"]
    response_jwt = dict(returned.fields)["JWT"]
    assert jwt.get_unverified_header(response_jwt)["kid"]

    # Open edX checks our signed LtiDeepLinkingResponse with the keys at /lti/jwks.json and saves the item.
    saved = submit(browser, answer)
    assert saved.status_code == 200, saved.text[:2000]
    assert "successfully saved" in saved.text
    (item,) = lms.decoded_content_items
    assert item["type"] == "ltiResourceLink" and item["url"] == world.tool_url + "/lti/launch"
    assert item["custom"] == {"stack": stack_key, "course_map": world.course_map}
    assert item["lineItem"]["resourceId"] == f"stack:{stack_key}" and item["lineItem"]["tag"] == "stack"
    assert item["lineItem"]["scoreMaximum"] >= 1 and item["title"]
    (stored,) = lms.content_items
    assert stored["content_type"] == "ltiResourceLink"
    assert stored["attributes"] == {
        "url": world.tool_url + "/lti/launch",
        "title": item["title"],
        "custom": {"stack": stack_key, "course_map": world.course_map},
        "lineItem": {
            "label": item["lineItem"]["label"],
            "scoreMaximum": float(item["lineItem"]["scoreMaximum"]),
            "resourceId": f"stack:{stack_key}",
            "tag": "stack",
        },
    }
    with db.read() as session:
        context = session.scalars(select(Context).where(Context.context_id == course_key)).one()
    assert context.course_key == world.course_map  # bound by the picker's first step

    # Open edX's staff (Instructor only) may deep link too: their request makes them an editor of the course.
    _browser, staff_picker = launch(world, STAFF, deep_link=True)
    assert urlsplit(staff_picker.url).path == "/lti/deep-link" and 'data-step="place"' in staff_picker.text

    # The learner opens the block: one deep-linked ltiResourceLink, so Open edX launches it with the item's
    # custom parameters, and the launch lands on the placed stack.
    _browser, opened = launch(world, LEARNER)
    assert opened.status_code == 200, opened.text[:2000]
    assert urlsplit(opened.url).path == f"/learn/stacks/{stack_key}", opened.url

    # 4. The placement, recorded from the launch's resource link, custom parameters and AGS claim.
    ags = lms.consumer().ags
    (placement,) = _placements(db)
    assert placement.context_id == context.id and placement.resource_link_id == BLOCK
    assert (placement.target_kind, placement.target_key) == ("stack", stack_key)
    assert placement.lineitem_url == lms.urls["lineitem"] == ags.lineitem_url
    assert placement.ags_scopes == " ".join(sorted(ags.get_available_scopes()))
    assert placement.graded

    # The learner earns a credential of the placed stack; the tool's scores reach the block's line item.
    with db.read() as session:
        learner = session.scalars(select(User).where(User.sub == LEARNER.external_id)).one()
        assessor = session.scalars(select(User).where(User.sub == STAFF.external_id)).one()
    course = scenario.Course(db, context.id, world.platform_id, world.course_map)
    credential_key = course.map().stack(stack_key).credential_ids[0]
    feedback = "Clear, well-evidenced practice."
    assert scenario.earn(course, learner.id, assessor.id, credential_key, feedback) is not None
    while outbox.drain(db).delivered:
        pass
    assert outbox.pending(db) == [], [m.last_error for m in outbox.pending(db)]
    # The placed stack's scores, each accepted by Open edX's score serializer and model (each later than
    # the last, as it requires): 1 of the stack's credentials earned, FullyGraded, in progress.
    required = len(course.map().stack(stack_key).credential_ids)
    assert lms.scores_received and all(s["user_id"] == LEARNER.external_id for s in lms.scores_received)
    times = [s["timestamp"] for s in lms.scores_received]
    assert times == sorted(set(times))
    stored = lms.scores[LEARNER.external_id]
    assert (stored.score_given, stored.score_maximum) == (1, required)
    assert (stored.activity_progress, stored.grading_progress) == ("InProgress", "FullyGraded")
    assert stored.comment == f"1 of {required} credentials earned"
    # The credential itself is not placed and declarative AGS lets the tool create no column: it looked
    # for one by resourceId (Open edX's filter) and sent nothing.
    looked = [
        r for r in lms.server.requests if r.method == "GET" and r.path == urlsplit(lms.urls["lineitems"]).path
    ]
    assert looked and all(r.args["resource_id"] == f"credential:{credential_key}" for r in looked)
    # Everything the tool asked of Open edX was an endpoint Open edX has.
    assert all((r.method, r.path) in lms.server.routes for r in lms.server.requests)


def test_ags_claim_recorded_and_an_access_token_from_the_consumer(world: World) -> None:
    lms, db = world.lms, world.db
    _browser, landed = launch(world, LEARNER)
    assert landed.status_code == 200, landed.text[:2000]

    # Declarative AGS (Open edX's default): the block's own line item, read-only line items, scores.
    scopes = [
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
        "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
        "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    ]
    assert lms.consumer().ags.get_lti_ags_launch_claim() == {
        AGS: {"scope": scopes, "lineitems": lms.urls["lineitems"], "lineitem": lms.urls["lineitem"]}
    }
    (placement,) = _placements(db)
    assert placement.resource_link_id == BLOCK
    assert (placement.target_kind, placement.target_key) == (None, None)  # the block names no stack
    assert (placement.lineitem_url, placement.ags_scopes) == (lms.urls["lineitem"], " ".join(sorted(scopes)))
    with db.read() as session:
        context = session.get(Context, placement.context_id)
    assert context is not None and context.ags_scopes == " ".join(sorted(scopes))
    assert context.memberships_url == lms.urls["memberships"]

    # Our client assertion at Open edX's token endpoint: access_token checks it with our JWKS, over HTTP.
    token = service_token.access_token(db, world.platform_id, [scopes[2], scopes[0]])
    assert lms.consumer().check_token(token, allowed_scopes=[scopes[2]])
    assert not lms.consumer().check_token(token, allowed_scopes=[NRPS])
    # An assertion signed with another key is refused there, as the view maps it.
    stranger = RSA.generate(2048).export_key("PEM").decode("utf-8")
    forged = service_token.client_assertion(lms.client_id, lms.urls["token"], "tool-key", stranger)
    refused = requests.post(
        lms.urls["token"],
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": service_token.CLIENT_ASSERTION_TYPE,
            "client_assertion": forged,
            "scope": scopes[2],
        },
        timeout=10,
    )
    assert refused.status_code == 400 and refused.json() == {"error": "invalid_client"}


# --- 4b. Scores settle when Open edX holds a newer one ------------------------------------------------------


def _earn(world: World, course: scenario.Course, learner: int, assessor: int, credential_key: str) -> None:
    scenario.complete_evidence(course, learner, credential_key)
    decided = assessment.decide(
        world.db,
        course.context_id,
        scenario.submission_id(course, learner, credential_key),
        assessor,
        scenario.passing_scores(course, credential_key),
        "",
    )
    assert decided is not None


def test_scores_settle_when_open_edx_already_holds_a_newer_or_the_same_one(world: World) -> None:
    """Open edX refuses a score not later than the one it holds with HTTP 400 and
    ``{"timestamp": [...]}`` (LtiAgsScoreSerializer.validate_timestamp), where other platforms answer 409.
    Neither can ever succeed, so the outbox must not retry it: an out-of-order delivery (the earlier
    message was held up by an outage) and a resend after a lost response (Open edX stored it, the proxy
    timed out) end delivered, and Open edX keeps the newest score."""
    lms, db = world.lms, world.db
    _browser, first = launch(world, LEARNER)
    assert first.status_code == 200, first.text[:2000]
    with db.read() as session:
        context = session.scalars(select(Context)).one()
        learner = session.scalars(select(User).where(User.sub == LEARNER.external_id)).one()
    course = scenario.Course(db, context.id, world.platform_id, world.course_map)
    stack = course.map().stacks[0]
    # The course team names the stack in the block's custom parameters: the block is now its placement.
    lms.block_custom_parameters.append(f"stack={stack.id}")
    _browser, placed = launch(world, LEARNER)
    assert urlsplit(placed.url).path == f"/learn/stacks/{stack.id}", placed.url
    _browser, staff = launch(world, STAFF)
    assert staff.status_code == 200
    with db.read() as session:
        assessor = session.scalars(select(User).where(User.sub == STAFF.external_id)).one()
    credentials = list(stack.credential_ids)
    required = len(credentials)

    def drain(now: datetime | None = None) -> None:
        while outbox.drain(db, now=now).delivered:
            pass

    def held() -> tuple[float, str]:
        score = lms.scores[LEARNER.external_id]
        return score.score_given, score.comment

    _earn(world, course, learner.id, assessor.id, credentials[0])
    drain()
    assert held() == (1, f"1 of {required} credentials earned")

    # Out of order: the "2 of N" score meets an outage and waits; "3 of N" goes through meanwhile.
    lms.score_outages = ["down"]
    _earn(world, course, learner.id, assessor.id, credentials[1])
    drain()
    assert [m.topic for m in outbox.pending(db)] == ["gradebook.stack"]
    _earn(world, course, learner.id, assessor.id, credentials[2])
    drain()
    assert held() == (3, f"3 of {required} credentials earned")
    later = utcnow() + timedelta(hours=2)
    drain(later)  # the "2 of N" score again: Open edX answers 400, it holds a later one
    assert outbox.pending(db) == [], [m.last_error for m in outbox.pending(db)]
    assert held() == (3, f"3 of {required} credentials earned")

    # A lost response: Open edX stores "4 of N", the proxy answers 504; the resend carries the same
    # timestamp, which Open edX refuses as already there.
    lms.score_outages = ["lost"]
    _earn(world, course, learner.id, assessor.id, credentials[3])
    drain()
    assert [m.topic for m in outbox.pending(db)] == ["gradebook.stack"]
    drain(later)
    assert outbox.pending(db) == [], [m.last_error for m in outbox.pending(db)]
    assert held() == (4, f"4 of {required} credentials earned")
