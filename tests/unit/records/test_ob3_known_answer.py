"""eddsa-rdfc-2022 reproduces 1EdTech's Open Badges 3.0 Linked Data Proof test vector byte for byte.

The vector lives in the shared fixtures (../shared beside the repository); a missing file fails the test
rather than skipping it, since without it nothing shows the signer is right.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lti_tool.records.ob3 import canonical, did_key, multibase, signing

VECTOR = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "ob3" / "teamwork-test-vector.json"
)


@pytest.fixture(scope="module")
def vector() -> dict[str, Any]:
    assert VECTOR.is_file(), f"known-answer vector missing: {VECTOR.resolve()}"
    data: dict[str, Any] = json.loads(VECTOR.read_text(encoding="utf-8"))
    return data


def _key(vector: dict[str, Any]) -> Ed25519PrivateKey:
    # The vector's 64-byte "private key" is seed || public key, as Ed25519 libraries often print it.
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["key"]["private_key_hex"])[:32])


def test_the_key_is_the_vectors_key(vector: dict[str, Any]) -> None:
    public = _key(vector).public_key()
    assert public.public_bytes_raw().hex() == vector["key"]["public_key_hex"]
    assert did_key.public_key_multibase(public) == vector["key"]["public_key_multibase"]


def test_document_hash(vector: dict[str, Any]) -> None:
    nquads = canonical.canonicalize(vector["unsigned"])
    assert hashlib.sha256(nquads.encode()).hexdigest() == vector["expected_document_hash_hex"]


def test_proof_options_hash(vector: dict[str, Any]) -> None:
    options = {**vector["proof_options"], "@context": vector["unsigned"]["@context"]}
    nquads = canonical.canonicalize(options)
    assert hashlib.sha256(nquads.encode()).hexdigest() == vector["expected_proof_hash_hex"]


def test_hash_data_is_proof_hash_then_document_hash(vector: dict[str, Any]) -> None:
    data = signing.hash_data(vector["unsigned"], vector["proof_options"])
    assert data.hex() == vector["expected_proof_hash_hex"] + vector["expected_document_hash_hex"]


def test_signature_and_proof_value(vector: dict[str, Any]) -> None:
    options = vector["proof_options"]
    signed = signing.sign(
        vector["unsigned"],
        _key(vector),
        verification_method=options["verificationMethod"],
        created=options["created"],
    )
    proof = signed["proof"]
    assert multibase.base58btc_decode(proof["proofValue"]).hex() == vector["expected_signature_hex"]
    assert proof["proofValue"] == vector["expected_proof_value"]
    assert {k: v for k, v in proof.items() if k != "proofValue"} == options
    assert {k: v for k, v in signed.items() if k != "proof"} == vector["unsigned"]


def test_verify_accepts_the_vector_and_refuses_changes(vector: dict[str, Any]) -> None:
    key = vector["key"]["public_key_multibase"]
    signed = {
        **vector["unsigned"],
        "proof": {**vector["proof_options"], "proofValue": vector["expected_proof_value"]},
    }

    def resolve(method: str) -> Any:
        assert method.endswith("#" + key)
        return did_key.public_key_from_multibase(key)

    assert signing.verify(signed, resolve)
    assert not signing.verify({**signed, "name": "Teamwork Badge!"}, resolve)
    assert not signing.verify({**signed, "validFrom": "2010-01-01T00:00:01Z"}, resolve)
    assert not signing.verify(
        {**signed, "proof": {**signed["proof"], "created": "2010-01-01T19:23:25Z"}}, resolve
    )
    assert not signing.verify(
        {**signed, "proof": {**signed["proof"], "proofPurpose": "authentication"}}, resolve
    )
    assert not signing.verify(
        {**signed, "issuer": {**signed["issuer"], "id": "https://example.edu/other"}}, resolve
    )
