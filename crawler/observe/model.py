"""What observe() returns: the Observation of a page and its References."""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.observe.rules import embedding_of, signature_embedding


@dataclass(slots=True)
class Reference:
    """One URL the page makes the browser fetch or connect to (or, if ``declared``, merely allows by CSP)."""

    url: str
    host: str
    element: str
    attribute: str
    rel: str = ""
    inline: bool = False
    declared: bool = False
    gated: bool = False  # held back until a consent manager (or a loader script) releases it
    encoded: bool = False  # found in escaped or encoded embed code, decoded

    @property
    def embedding(self) -> str | None:
        """``direct``, ``gated``, ``encoded``, ``config`` or ``hint`` (None for a CSP-declared host)."""
        if self.declared:
            return None
        return embedding_of(self.element, self.attribute, self.rel, self.gated, self.encoded)


@dataclass(slots=True)
class Observation:
    """What one page shows: title, effective base URL, references, same-document links, signatures."""

    url: str
    base_url: str
    encoding: str
    title: str = ""
    references: list[Reference] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    signatures: list[tuple[str, str]] = field(default_factory=list)
    gated_signatures: list[tuple[str, str]] = field(default_factory=list)  # found in consent-gated scripts
    encoded_signatures: list[tuple[str, str]] = field(default_factory=list)  # found in decoded embed code
    flattened: bool = False  # the page nested too deeply and was parsed without its container tags
    walk: str = ""  # which tree walk ran: "native" (crawler/_fastwalk.c) or "python"

    def signature_evidence(self) -> list[tuple[str, str, str]]:
        """Every signature hit as (signature id, value, embedding)."""
        return ([(s, v, signature_embedding(False)) for s, v in self.signatures]
                + [(s, v, signature_embedding(True)) for s, v in self.gated_signatures]
                + [(s, v, signature_embedding(False, True)) for s, v in self.encoded_signatures])


def _observation_tuple(obs: Observation) -> tuple:
    """Everything an observation holds, as plain tuples (for comparing the two walks)."""
    return (obs.url, obs.base_url, obs.encoding, obs.title, obs.flattened,
            [(r.url, r.host, r.element, r.attribute, r.rel, r.inline, r.declared, r.gated, r.encoded)
             for r in obs.references],
            list(obs.links), list(obs.signatures), list(obs.gated_signatures), list(obs.encoded_signatures))
