"""RDF Dataset Canonicalization (RDFC-1.0, W3C Recommendation 2024) over our own N-Quads serializer.

pyld ships URDNA2015, but it hashes and prints quads with pyld's own escaping (see ``nquads``), so the
blank-node labels and the output bytes differ from the specification whenever a literal holds a control
character. This is the algorithm again, step for step as in the specification and in rdf-canonize,
with the canonical serializer. The work on blank nodes whose first-degree hashes collide is bounded the
way rdf-canonize bounds it (by default n deep iterations for n such nodes), which refuses "poison" graphs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import permutations

from .nquads import BLANK, Quad, Term, code_unit_order, serialize_quad


class CanonicalizationError(ValueError):
    """The dataset needs more work to canonicalize than the bound allows."""


def _sha256_hex(parts: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
    return digest.hexdigest()


@dataclass
class _Issuer:
    """Identifier issuer (RDFC-1.0 4.5): issues ``prefix0``, ``prefix1``... in order."""

    prefix: str
    issued: dict[str, str] = field(default_factory=dict)

    def issue(self, existing: str) -> str:
        if existing not in self.issued:
            self.issued[existing] = f"{self.prefix}{len(self.issued)}"
        return self.issued[existing]

    def copy(self) -> _Issuer:
        return _Issuer(self.prefix, dict(self.issued))


class _Canonicalizer:
    def __init__(self, quads: list[Quad], max_work_factor: int) -> None:
        self.quads = quads
        self.max_work_factor = max_work_factor
        self.quads_of: dict[str, list[Quad]] = {}
        self.first_degree: dict[str, str] = {}
        self.canonical = _Issuer("c14n")
        self.remaining_deep_iterations = 0
        for quad in quads:
            for term in (quad.subject, quad.object, quad.graph):
                if term is not None and term.kind == BLANK:
                    bucket = self.quads_of.setdefault(term.value, [])
                    if not bucket or bucket[-1] is not quad:
                        bucket.append(quad)

    def run(self) -> str:
        by_hash: dict[str, list[str]] = {}
        for node in self.quads_of:
            by_hash.setdefault(self.hash_first_degree(node), []).append(node)
        non_unique: list[list[str]] = []
        for digest in sorted(by_hash):
            nodes = by_hash[digest]
            if len(nodes) > 1:
                non_unique.append(nodes)
            else:
                self.canonical.issue(nodes[0])
        self.remaining_deep_iterations = sum(len(nodes) for nodes in non_unique) ** self.max_work_factor
        for nodes in non_unique:
            results: list[tuple[str, _Issuer]] = []
            for node in nodes:
                if node in self.canonical.issued:
                    continue
                temporary = _Issuer("b")
                temporary.issue(node)
                results.append(self.hash_n_degree(node, temporary))
            for _digest, issuer in sorted(results, key=lambda result: result[0]):
                for existing in issuer.issued:
                    self.canonical.issue(existing)
        lines = [serialize_quad(self._relabel(quad)) for quad in self.quads]
        return "".join(sorted(lines, key=code_unit_order))

    def _relabel(self, quad: Quad) -> Quad:
        def label(term: Term | None) -> Term | None:
            if term is None or term.kind != BLANK:
                return term
            return Term(BLANK, self.canonical.issued[term.value])

        subject, obj, graph = label(quad.subject), label(quad.object), label(quad.graph)
        assert subject is not None and obj is not None
        return Quad(subject, quad.predicate, obj, graph)

    def hash_first_degree(self, node: str) -> str:
        """RDFC-1.0 4.6: the reference node is ``_:a``, every other blank node ``_:z``."""
        if node not in self.first_degree:

            def mask(term: Term | None) -> Term | None:
                if term is None or term.kind != BLANK:
                    return term
                return Term(BLANK, "a" if term.value == node else "z")

            lines = []
            for quad in self.quads_of[node]:
                subject, obj, graph = mask(quad.subject), mask(quad.object), mask(quad.graph)
                assert subject is not None and obj is not None
                lines.append(serialize_quad(Quad(subject, quad.predicate, obj, graph)))
            self.first_degree[node] = _sha256_hex(sorted(lines, key=code_unit_order))
        return self.first_degree[node]

    def hash_related(self, related: str, quad: Quad, issuer: _Issuer, position: str) -> str:
        """RDFC-1.0 4.7."""
        parts = [position]
        if position != "g":
            parts.append(f"<{quad.predicate.value}>")
        if related in self.canonical.issued:
            parts.append("_:" + self.canonical.issued[related])
        elif related in issuer.issued:
            parts.append("_:" + issuer.issued[related])
        else:
            parts.append(self.hash_first_degree(related))
        return _sha256_hex(parts)

    def hash_n_degree(self, node: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        """RDFC-1.0 4.8: returns the hash and the issuer holding the chosen labelling."""
        if self.remaining_deep_iterations <= 0:
            raise CanonicalizationError("RDFC-1.0: maximum deep iterations exceeded (poison graph?)")
        self.remaining_deep_iterations -= 1
        related_by_hash: dict[str, list[str]] = {}
        for quad in self.quads_of[node]:
            for term, position in ((quad.subject, "s"), (quad.object, "o"), (quad.graph, "g")):
                if term is not None and term.kind == BLANK and term.value != node:
                    digest = self.hash_related(term.value, quad, issuer, position)
                    related_by_hash.setdefault(digest, []).append(term.value)
        data: list[str] = []
        for digest in sorted(related_by_hash):
            data.append(digest)
            chosen_path = ""
            chosen_issuer: _Issuer | None = None
            for permutation in permutations(sorted(related_by_hash[digest])):
                candidate = self._path(permutation, issuer, chosen_path)
                if candidate is not None and (not chosen_path or candidate[0] < chosen_path):
                    chosen_path, chosen_issuer = candidate
            data.append(chosen_path)
            assert chosen_issuer is not None
            issuer = chosen_issuer
        return _sha256_hex(data), issuer

    def _path(
        self, permutation: tuple[str, ...], issuer: _Issuer, chosen_path: str
    ) -> tuple[str, _Issuer] | None:
        """RDFC-1.0 4.8.3 step 5.4 for one permutation; None when it cannot beat ``chosen_path``."""
        issuer_copy = issuer.copy()
        path = ""
        recursion: list[str] = []
        for related in permutation:
            if related in self.canonical.issued:
                path += "_:" + self.canonical.issued[related]
            else:
                if related not in issuer_copy.issued:
                    recursion.append(related)
                path += "_:" + issuer_copy.issue(related)
            if chosen_path and path > chosen_path:
                return None
        for related in recursion:
            digest, issuer_copy = self.hash_n_degree(related, issuer_copy)
            path += "_:" + issuer_copy.issue(related) + f"<{digest}>"
            if chosen_path and path > chosen_path:
                return None
        return path, issuer_copy


def canonicalize_quads(quads: Iterable[Quad], max_work_factor: int = 1) -> str:
    """The canonical N-Quads document of a dataset (duplicate quads count once).

    At most n ** ``max_work_factor`` Hash N-Degree Quads runs for n blank nodes with shared first-degree
    hashes; 1 is rdf-canonize's default, so what we sign, a verifier will agree to canonicalize.
    """
    unique = list(dict.fromkeys(quads))
    return _Canonicalizer(unique, max_work_factor).run()
