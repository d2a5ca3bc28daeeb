"""RDF terms and quads, and their canonical N-Quads form (RDFC-1.0 section 5, RDF 1.2 N-Quads).

pyld escapes only ``\\ \\t \\n \\r "`` in literals and nothing in IRIs. The canonical form escapes every
control character: ``\\b \\t \\n \\f \\r \\" \\\\`` as themselves and the rest of U+0000-U+001F and U+007F
as ``\\u00XX`` (upper-case hex); IRIs escape U+0000-U+0020 and ``<>"{}|^`\\`` as ``\\u00XX``. A wrong
escape changes the bytes that are hashed (and the blank-node labels derived from them), so a signature
over a title with a control character would fail in every other verifier. This is the same mapping as
rdf-canonize (jsonld.js), which is what other verifiers run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

IRI = "iri"
BLANK = "blank"
LITERAL = "literal"

_ECHAR = {
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}
_LITERAL_ESCAPES = re.compile('[\u0000-\u001f\u007f"\\\\]')
_IRI_ESCAPES = re.compile('[\u0000-\u0020<>"{}|^`\\\\]')


def _uchar(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04X}"


def escape_literal(value: str) -> str:
    """A literal's lexical form as it appears between the quotes of a canonical N-Quad."""
    return _LITERAL_ESCAPES.sub(lambda m: _ECHAR.get(m.group()) or _uchar(m), value)


def escape_iri(value: str) -> str:
    """An IRI as it appears between ``<`` and ``>`` of a canonical N-Quad."""
    return _IRI_ESCAPES.sub(_uchar, value)


@dataclass(frozen=True, slots=True)
class Term:
    """An RDF term; ``value`` of a blank node is its label without ``_:``."""

    kind: str
    value: str
    datatype: str = XSD_STRING
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Quad:
    subject: Term
    predicate: Term
    object: Term
    graph: Term | None = None


def serialize_term(term: Term) -> str:
    if term.kind == IRI:
        return f"<{escape_iri(term.value)}>"
    if term.kind == BLANK:
        return f"_:{term.value}"
    text = f'"{escape_literal(term.value)}"'
    if term.datatype == RDF_LANGSTRING:
        return f"{text}@{term.language}" if term.language else text
    if term.datatype != XSD_STRING:
        return f"{text}^^<{escape_iri(term.datatype)}>"
    return text


def serialize_quad(quad: Quad) -> str:
    """One canonical N-Quads line, newline included."""
    parts = [serialize_term(quad.subject), serialize_term(quad.predicate), serialize_term(quad.object)]
    if quad.graph is not None:
        parts.append(serialize_term(quad.graph))
    return " ".join(parts) + " .\n"


def code_unit_order(line: str) -> bytes:
    """Sort key: UTF-16 code units, the order rdf-canonize's JavaScript ``sort()`` gives.

    RDFC-1.0 says "code point order"; the two differ only where a character above U+FFFF meets one in
    U+E000-U+FFFF at the same position. Signatures must verify where credentials are checked, and those
    verifiers run rdf-canonize, so its order wins.
    """
    return line.encode("utf-16-be", "surrogatepass")
