"""JSON-LD document -> canonical N-Quads (RDFC-1.0), as the Data Integrity cryptosuites hash it.

pyld expands the document and turns it into RDF (contexts from the pinned copies only); ``rdfc`` labels
the blank nodes and writes the canonical bytes. Two more things keep our bytes equal to a JavaScript
verifier's:

* JSON has one kind of number. A verifier that parses ``1.0`` sees the integer 1 and writes ``"1"``;
  Python keeps a float and pyld would write ``"1.0E0"``. Integral floats become ints first.
* The verifier canonicalizes in jsonld.js "safe mode", which refuses any document from which expansion
  drops data (a term the contexts do not define, a relative IRI, an empty object). pyld drops silently,
  so we refuse the same documents here: a credential we cannot verify must not be signed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from pyld import jsonld

from .loader import PINNED_CONTEXTS, UnknownContextError, context_document, document_loader
from .nquads import BLANK, IRI, LITERAL, RDF_LANGSTRING, XSD_STRING, Quad, Term
from .rdfc import CanonicalizationError, canonicalize_quads

_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*|_):\S*$")


class UnsafeDocumentError(CanonicalizationError):
    """JSON-LD processing would drop or mangle part of the document (jsonld.js safe mode refuses it)."""


def json_numbers(value: Any) -> Any:
    """A copy of a JSON value in which integral floats are ints, as any JSON parser other than Python's
    reads them."""
    if isinstance(value, Mapping):
        return {key: json_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_numbers(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


def canonicalize(document: Mapping[str, Any]) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document whose contexts are all pinned."""
    data = json_numbers(document)
    expanded = _expand(data)
    _refuse_lost_data(data, expanded)
    try:
        dataset = jsonld.to_rdf(expanded, {"documentLoader": document_loader, "base": None})
    except jsonld.JsonLdError as error:
        raise _explained(error) from error
    return canonicalize_quads(_quads(dataset))


def _expand(data: Any) -> list[Any]:
    try:
        expanded: list[Any] = jsonld.expand(data, {"documentLoader": document_loader, "base": None})
    except jsonld.JsonLdError as error:
        raise _explained(error) from error
    return expanded


def _explained(error: BaseException) -> Exception:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, UnknownContextError):
            return UnknownContextError(cause.url)
        cause = cause.__cause__ or cause.__context__
    return UnsafeDocumentError(f"JSON-LD processing failed: {error}")


def _input_leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key != "@context":
                yield from _input_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _input_leaves(item)
    elif value is not None:
        yield value


def _expanded_leaves(value: Any) -> Iterator[tuple[str, Any]]:
    """(kind, value) of every value expansion kept: literals, node ids and node types."""
    if isinstance(value, list):
        for item in value:
            yield from _expanded_leaves(item)
    elif isinstance(value, Mapping):
        if "@value" in value:
            yield "@value", value["@value"]
            return
        for key, item in value.items():
            if key == "@id":
                yield "@id", item
            elif key == "@type":
                for type_ in item:
                    yield "@type", type_
            else:
                yield from _expanded_leaves(item)


def _empty_objects(value: Any) -> bool:
    if isinstance(value, Mapping):
        return not value or any(_empty_objects(v) for k, v in value.items() if k != "@context")
    if isinstance(value, list):
        return any(_empty_objects(item) for item in value)
    return False


def _refuse_lost_data(data: Any, expanded: list[Any]) -> None:
    kept = list(_expanded_leaves(expanded))
    given = sum(1 for _ in _input_leaves(data))
    if len(kept) != given:
        unknown = sorted(_keys(data) - _defined_terms())
        raise UnsafeDocumentError(
            f"JSON-LD expansion keeps {len(kept)} of the document's {given} values: terms the pinned "
            f"contexts do not define in that place are dropped (not defined anywhere: {unknown or 'none'})"
        )
    for kind, value in kept:
        if kind != "@value" and not (isinstance(value, str) and _ABSOLUTE_IRI.match(value)):
            raise UnsafeDocumentError(f"{kind} {value!r} is not an absolute IRI")
    if _empty_objects(data):
        raise UnsafeDocumentError("the document holds an empty object, which JSON-LD drops")


def _keys(value: Any) -> set[str]:
    if isinstance(value, Mapping):
        keys = {k for k in value if k != "@context"}
        for k, item in value.items():
            if k != "@context":
                keys |= _keys(item)
        return keys
    if isinstance(value, list):
        return set().union(*(_keys(item) for item in value)) if value else set()
    return set()


@cache
def _defined_terms() -> frozenset[str]:
    terms: set[str] = set()

    def walk(context: Any) -> None:
        if isinstance(context, Mapping):
            for term, definition in context.items():
                terms.add(term)
                if isinstance(definition, Mapping) and "@context" in definition:
                    walk(definition["@context"])

    for url in PINNED_CONTEXTS:
        walk(context_document(url)["@context"])
    return frozenset(terms)


def _term(node: Mapping[str, Any]) -> Term:
    if node["type"] == "IRI":
        return Term(IRI, node["value"])
    if node["type"] == "blank node":
        return Term(BLANK, node["value"].removeprefix("_:"))
    datatype = node.get("datatype") or XSD_STRING
    language = node.get("language") if datatype == RDF_LANGSTRING else None
    return Term(LITERAL, node["value"], datatype, language)


def _quads(dataset: Mapping[str, list[Mapping[str, Any]]]) -> Iterator[Quad]:
    for graph_name, triples in dataset.items():
        graph = None
        if graph_name != "@default":
            graph = Term(BLANK, graph_name[2:]) if graph_name.startswith("_:") else Term(IRI, graph_name)
        for triple in triples:
            yield Quad(_term(triple["subject"]), _term(triple["predicate"]), _term(triple["object"]), graph)
