"""Canonical N-Quads (RDFC-1.0): escaping as the specification writes it, blank-node labelling, and the
JSON-LD documents we refuse to sign because a verifier in safe mode would refuse to check them."""

from __future__ import annotations

from typing import Any

import pytest
from pyld import jsonld

from lti_tool.records.ob3.canonical import UnsafeDocumentError, canonicalize
from lti_tool.records.ob3.loader import CREDENTIALS_V2, OB_V3P0, UnknownContextError, document_loader
from lti_tool.records.ob3.nquads import BLANK, IRI, LITERAL, Quad, Term, escape_literal, serialize_quad
from lti_tool.records.ob3.rdfc import CanonicalizationError, canonicalize_quads

# RDF 1.2 N-Triples canonical form, used by RDFC-1.0: \b \t \n \f \r \" \\ as ECHAR, every other
# character in U+0000-U+001F and U+007F as UCHAR with upper-case hex, everything else as itself.
ECHAR = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}


@pytest.mark.parametrize("code", [*range(0x20), 0x7F])
def test_each_control_character_is_escaped_as_the_spec_says(code: int) -> None:
    expected = ECHAR.get(code, f"\\u{code:04X}")
    assert escape_literal(f"a{chr(code)}b") == f"a{expected}b"


def test_quote_backslash_and_everything_else() -> None:
    assert escape_literal('say "hi" \\ bye') == 'say \\"hi\\" \\\\ bye'
    # Not escaped: space, printable ASCII, C1 controls, non-ASCII letters, CJK, astral characters.
    plain = " ~\u0080\u009f\u00e9\u4e2d\u6587\U0001f600\ufeff"
    assert escape_literal(plain) == plain


def test_a_literal_line() -> None:
    quad = Quad(Term(IRI, "urn:ex:s"), Term(IRI, "urn:ex:p"), Term(LITERAL, '\b\t\n\u000b\f\r"\\\u007f'))
    assert serialize_quad(quad) == '<urn:ex:s> <urn:ex:p> "\\b\\t\\n\\u000B\\f\\r\\"\\\\\\u007F" .\n'


def _cycle_with_literal() -> list[Quad]:
    # Three blank nodes in a cycle (all first-degree hashes equal) in a blank-node graph, and a literal
    # holding control characters: the example rdf-canonize and the RDFC-1.0 implementations agree on.
    graph = Term(BLANK, "g")
    next_, prev = Term(IRI, "http://example.org/vocab#next"), Term(IRI, "http://example.org/vocab#prev")
    nodes = [Term(BLANK, f"e{i}") for i in range(3)]
    quads = []
    for i, node in enumerate(nodes):
        quads.append(Quad(node, next_, nodes[(i + 1) % 3], graph))
        quads.append(Quad(node, prev, nodes[(i + 2) % 3], graph))
    literal = Term(LITERAL, "\u0008\u0009\u000a\u000b\u000c\u000d\u0022\u005c\u007f")
    quads.append(Quad(Term(IRI, "urn:ex:s"), Term(IRI, "urn:ex:p"), literal, graph))
    return quads


def test_blank_nodes_with_equal_first_degree_hashes() -> None:
    expected = (
        '<urn:ex:s> <urn:ex:p> "\\b\\t\\n\\u000B\\f\\r\\"\\\\\\u007F" _:c14n0 .\n'
        "_:c14n1 <http://example.org/vocab#next> _:c14n2 _:c14n0 .\n"
        "_:c14n1 <http://example.org/vocab#prev> _:c14n3 _:c14n0 .\n"
        "_:c14n2 <http://example.org/vocab#next> _:c14n3 _:c14n0 .\n"
        "_:c14n2 <http://example.org/vocab#prev> _:c14n1 _:c14n0 .\n"
        "_:c14n3 <http://example.org/vocab#next> _:c14n1 _:c14n0 .\n"
        "_:c14n3 <http://example.org/vocab#prev> _:c14n2 _:c14n0 .\n"
    )
    assert canonicalize_quads(_cycle_with_literal(), max_work_factor=2) == expected
    # Labels do not depend on the input's labels or order.
    renamed = [
        Quad(
            *(
                Term(t.kind, "x" + t.value) if t and t.kind == BLANK else t
                for t in (q.subject, q.predicate, q.object, q.graph)
            )
        )  # type: ignore[arg-type]
        for q in reversed(_cycle_with_literal())
    ]
    assert canonicalize_quads(renamed, max_work_factor=2) == expected


def test_work_is_bounded_like_rdf_canonize() -> None:
    # rdf-canonize's default (max work factor 1) refuses this graph too.
    with pytest.raises(CanonicalizationError, match="deep iterations"):
        canonicalize_quads(_cycle_with_literal())


def _credential(**extra: Any) -> dict[str, Any]:
    return {
        "@context": [CREDENTIALS_V2, OB_V3P0],
        "id": "urn:uuid:00000000-0000-4000-8000-000000000001",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "https://issuer.example/profile", "type": ["Profile"], "name": "Issuer"},
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "urn:uuid:00000000-0000-4000-8000-000000000002",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://issuer.example/achievements/1",
                "type": ["Achievement"],
                "name": "Achievement",
                "description": "Description",
                "criteria": {"narrative": "Narrative"},
            },
        },
        **extra,
    }


def test_control_characters_in_a_credential_and_the_pyld_trap() -> None:
    title = 'T\u0001\u0008\u000b\u001f\u007f\t\n"\\ é 中文'
    document = _credential(name=title)
    expected_line = (
        "<urn:uuid:00000000-0000-4000-8000-000000000001> <https://schema.org/name> "
        '"T\\u0001\\b\\u000B\\u001F\\u007F\\t\\n\\"\\\\ é 中文" .\n'
    )
    assert expected_line in canonicalize(document)
    # pyld's own normalization writes the raw control characters: the bytes a verifier hashes differ.
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": document_loader}
    assert expected_line not in jsonld.normalize(document, options)


def test_lines_sort_in_utf16_code_unit_order_like_rdf_canonize() -> None:
    achievement = _credential()["credentialSubject"]["achievement"]
    document = _credential()
    document["credentialSubject"]["achievement"] = {**achievement, "tag": ["x\uff01", "x\U0001f600"]}
    lines = canonicalize(document).splitlines()
    tags = [line for line in lines if "<https://schema.org/keywords>" in line]
    # U+1F600 is the surrogate pair D83D DE00, which sorts before FF01 (code point order would not).
    assert len(tags) == 2
    assert "\U0001f600" in tags[0] and "\uff01" in tags[1]


def test_json_numbers_are_what_other_json_readers_see() -> None:
    document = _credential()
    document["credentialSubject"]["achievement"]["creditsAvailable"] = 1.0
    document["credentialSubject"]["creditsEarned"] = 1.5
    nquads = canonicalize(document)
    assert '#creditsAvailable> "1"^^<https://www.w3.org/2001/XMLSchema#float>' in nquads
    assert '#creditsEarned> "1.5E0"^^<https://www.w3.org/2001/XMLSchema#float>' in nquads


def test_an_undefined_term_is_refused_by_name() -> None:
    document = _credential()
    document["credentialSubject"]["achievement"]["contactHours"] = 10
    with pytest.raises(UnsafeDocumentError, match="contactHours"):
        canonicalize(document)


def test_a_term_out_of_its_scope_is_refused() -> None:
    # achievementType is defined inside Achievement only; on the subject expansion would drop it.
    document = _credential()
    document["credentialSubject"]["achievementType"] = "MicroCredential"
    with pytest.raises(UnsafeDocumentError, match="keeps"):
        canonicalize(document)


@pytest.mark.parametrize(
    "change",
    [
        {"id": "credentials/1"},
        {"type": ["VerifiableCredential", "Badge"]},
        {"evidence": [{}]},
    ],
    ids=["relative id", "undefined type", "empty object"],
)
def test_documents_a_safe_mode_verifier_refuses(change: dict[str, Any]) -> None:
    with pytest.raises(UnsafeDocumentError):
        canonicalize(_credential(**change))


def test_an_unpinned_context_is_a_clear_error_and_nothing_is_fetched() -> None:
    document = _credential()
    document["@context"] = [*document["@context"], "https://w3id.org/security/data-integrity/v2"]
    with pytest.raises(UnknownContextError, match="data-integrity/v2.*not pinned"):
        canonicalize(document)
