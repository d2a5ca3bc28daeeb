"""Our Open Badges 3.0 credentials, checked by someone else's verifier, offline.

``tests/verifier`` is an npm project pinned by its package-lock: Digital Bazaar's ``@digitalbazaar/vc``
with the ``eddsa-rdfc-2022`` cryptosuite and the Bitstring Status List checker, fed only the JSON-LD
contexts pinned in ``lti_tool/records/ob3/contexts`` and did:key resolved from the identifier. We sign
with our code; it must verify there, and tampered or revoked credentials must not. Node and npm are
required: the test fails (does not skip) without them, as CI must run it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyld import jsonld

from lti_tool.records.ob3 import did_key, signing, status_list
from lti_tool.records.ob3.credentials import (
    Achievement,
    EmbeddedCredential,
    Issuer,
    Recipient,
    StatusEntry,
    open_badge_credential,
)
from lti_tool.records.ob3.loader import document_loader
from lti_tool.records.ob3.multibase import base58btc_encode

VERIFIER = Path(__file__).resolve().parents[1] / "verifier"
CREATED = "2025-03-01T12:00:00Z"
STATUS_URL = "https://tool.example/ob3/status/1"
CONTROL_TITLE = 'Ctl \u0001\u0008\u000b\u001f\u007f\tTab\nLine "quoted" back\\slash é 中文'

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
ISSUER = Issuer(did_key.did_key(KEY.public_key()), "Friday Institute", "https://fi.example.edu")
METHOD = did_key.verification_method(KEY.public_key())

MICRO = Achievement(
    id="https://tool.example/achievements/ef-1",
    name="Executive Function 1: Planning",
    description="Plans lessons that teach planning.",
    criteria_narrative="Submit a lesson plan that the assessor rates proficient.",
    image_url="https://tool.example/static/badges/ef-1.png",
)
STACK = Achievement(
    id="https://tool.example/achievements/ef-stack",
    name="Executive Function",
    description="Five micro-credentials on executive function.",
    criteria_narrative="Earn all five embedded credentials.",
    criteria_url="https://tool.example/stacks/ef",
    ceus=Decimal("1.5"),
    contact_hours=Decimal("15"),
    embedded=tuple(
        EmbeddedCredential(f"https://tool.example/achievements/ef-{i}", f"Executive Function {i}", f"ef-{i}")
        for i in range(1, 6)
    ),
)


@pytest.fixture(scope="module")
def verifier() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail("node and npm are required for the independent verifier test (Node 20+)")
    if not (VERIFIER / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=VERIFIER,
            check=True,
            timeout=600,
        )
    return VERIFIER


def run_verifier(verifier: Path, credential: dict[str, Any], documents: dict[str, Any]) -> dict[str, Any]:
    completed = subprocess.run(
        ["node", str(verifier / "verify.mjs")],
        input=json.dumps({"credential": credential, "documents": documents}),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_OPTIONS": ""},
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def signed(document: dict[str, Any]) -> dict[str, Any]:
    return signing.sign(document, KEY, verification_method=METHOD, created=CREATED)


def status_documents(revoked: Iterable[int] = ()) -> dict[str, Any]:
    """What the tool serves at the status list URL: the signed list credential."""
    unsigned = status_list.status_list_credential(
        credential_id=STATUS_URL, issuer=ISSUER.id, valid_from="2025-01-01T00:00:00Z", revoked=revoked
    )
    return {STATUS_URL: signed(unsigned)}


def credential(achievement: Achievement, recipient: Recipient, index: int) -> dict[str, Any]:
    return open_badge_credential(
        credential_id=f"urn:uuid:7f1c1f7e-6d2c-4c1a-9a59-{index:012d}",
        issuer=ISSUER,
        recipient=recipient,
        achievement=achievement,
        valid_from="2025-03-01T12:00:00Z",
        awarded_date="2025-03-01T12:00:00Z",
        status=StatusEntry(STATUS_URL, index),
    )


CASES = {
    "micro-credential": lambda: credential(MICRO, Recipient.by_id("urn:uuid:learner-0001"), 1),
    "stack with embedded credentials": lambda: credential(
        STACK, Recipient.hashed("ada@example.org", "s4lt"), 2
    ),
    "control-character title": lambda: credential(
        replace(MICRO, name=CONTROL_TITLE, description=CONTROL_TITLE),
        Recipient.by_id("urn:uuid:learner-3"),
        3,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_our_credentials_verify_independently(verifier: Path, case: str) -> None:
    document = signed(CASES[case]())
    assert signing.verify(document, did_key.resolve_did_key)
    result = run_verifier(verifier, document, status_documents())
    assert result == {"verified": True, "revoked": False, "error": None}


def test_the_status_list_credential_verifies(verifier: Path) -> None:
    (status,) = status_documents({5}).values()
    assert signing.verify(status, did_key.resolve_did_key)
    result = run_verifier(verifier, status, {})
    assert result["verified"] is True, result["error"]


def test_revoked_credential_fails(verifier: Path) -> None:
    document = signed(CASES["micro-credential"]())  # status index 1
    result = run_verifier(verifier, document, status_documents({0, 1, status_list.MIN_BITS - 1}))
    assert result["verified"] is False and result["revoked"] is True
    # Neighbouring bits do not revoke it: the verifier reads our bit order.
    assert run_verifier(verifier, document, status_documents({0, 2}))["verified"] is True


def test_tampered_credentials_fail(verifier: Path) -> None:
    document = signed(CASES["stack with embedded credentials"]())
    renamed = {**document, "name": document["name"] + " (honours)"}
    signature = bytearray(32) + bytearray(range(32))
    other_value = {
        **document,
        "proof": {**document["proof"], "proofValue": base58btc_encode(bytes(signature))},
    }
    for tampered in (renamed, other_value):
        assert not signing.verify(tampered, did_key.resolve_did_key)
        result = run_verifier(verifier, tampered, status_documents())
        assert result["verified"] is False, result
        assert result["error"]


def test_pyld_escaping_would_have_failed(verifier: Path) -> None:
    """The known trap: the same credential signed over pyld's own N-Quads does not verify elsewhere."""
    document = CASES["control-character title"]()
    proof = signing.proof_options(verification_method=METHOD, created=CREATED)

    def pyld_nquads(doc: dict[str, Any]) -> bytes:
        normalize = {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": document_loader,
        }
        return jsonld.normalize(doc, normalize).encode()

    data = hashlib.sha256(pyld_nquads({**proof, "@context": document["@context"]})).digest()
    data += hashlib.sha256(pyld_nquads(document)).digest()
    naive = {**document, "proof": {**proof, "proofValue": base58btc_encode(KEY.sign(data))}}
    assert run_verifier(verifier, naive, status_documents())["verified"] is False
    assert run_verifier(verifier, signed(document), status_documents())["verified"] is True
