"""Pure functions from a fetched page to what it makes a browser load: references, links, signatures, cookies.

No I/O here: ``observe(body, url, headers)`` takes bytes and returns an ``Observation``. It tolerates any
broken HTML or encoding and never raises on page content.

The package, by responsibility: ``rules`` (the rule tables, written once), ``model`` (Observation, Reference),
``decoding`` (bytes to text), ``urls`` (resolution), ``walk`` (the element walk, ``_Walk.visit`` is the
reference), ``sigmatch`` (inline signatures), ``embeds`` (template contents, encoded embed code), ``headers``
(CSP, Set-Cookie) and ``native`` (setting up ``crawler/_fastwalk.c``). When the C extension is built, it walks
the tree instead, handles the common cases itself and calls back into ``_Walk`` for the rest, so both give the
same observation (tests/crawler/test_observe_native.py).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from selectolax.lexbor import LexborHTMLParser

from common.signatures import CompiledSignature, load_signatures
from crawler.observe.decoding import _body_facts, _plain_encoding, decode_body, flatten_if_deep
from crawler.observe.embeds import _encoded_fragments, _template_content, _walk_fragment
from crawler.observe.headers import CookieObs, csp_hosts, parse_set_cookie
from crawler.observe.model import Observation, Reference
from crawler.observe.native import _native
from crawler.observe.rules import EMBEDDINGS, embedding_of, signature_embedding
from crawler.observe.sigmatch import _native_needles, compile_signatures
from crawler.observe.urls import _absolute, _host
from crawler.observe.walk import _visit_all, _Walk

__all__ = ["EMBEDDINGS", "CookieObs", "Observation", "Reference", "compile_signatures", "csp_hosts", "decode_body",
           "embedding_of", "flatten_if_deep", "observe", "parse_set_cookie", "signature_embedding"]


def observe(
    body: bytes,
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    signatures: Sequence[CompiledSignature] | None = None,
    max_links: int = 2000,
    links: bool = True,
    native: bool | None = None,
) -> Observation:
    """Observe one HTML page. ``headers`` maps lower-case header names to values (CSP, content type).

    ``signatures`` default to the catalog's (``data/services/_signatures/``); they run on inline scripts
    and on the attributes of ``<script>`` elements. ``links=False`` skips ``<a href>`` links (only the home
    page needs them to pick pages). ``native`` picks the tree walk: the C one (``crawler/_fastwalk.c``,
    used by default when it is built, with or without links) or the pure-Python reference walk (``False``);
    both give the same observation.
    """
    headers = headers or {}
    content_type = headers.get("content-type", "")
    encoding = _plain_encoding(body, content_type)
    tags, has_base_tag, has_nul = _body_facts(body)
    many_tags = len(body) > 100_000 and tags >= 20_000
    text = None  # decoded only when needed: the parser reads UTF-8 bytes as they are
    if encoding is None or many_tags:
        text, encoding = decode_body(body, content_type)
    flattened = False
    if many_tags:
        text, flattened = flatten_if_deep(text)
    if encoding == "utf-8" and not flattened and not has_nul and not body.startswith(b"\xef\xbb\xbf"):
        tree = LexborHTMLParser(body)  # UTF-8 bytes: skip re-encoding the decoded text
    else:
        if text is None:
            text, encoding = decode_body(body, content_type)
        tree = LexborHTMLParser(text.replace("\x00", "\ufffd"))
    obs = Observation(url=url, base_url=url, encoding=encoding, flattened=flattened)
    # <base href> applies to every URL in the document, wherever it stands
    if has_base_tag or encoding not in ("utf-8", "cp1252", "latin-1", "iso-8859-1", "ascii"):
        base = tree.css_first("base[href]")
        if base is not None:
            href = (base.attributes.get("href") or "").strip()
            if href:
                resolved = _absolute(url, href)
                obs.base_url = resolved if resolved and resolved.startswith(("http://", "https://")) else url
    sigs = load_signatures() if signatures is None else tuple(signatures)
    fast = _native() if native is not False else None
    walk = _Walk(obs, sigs, links, max_links, fast=fast)
    if fast is not None:
        obs.walk = "native"
        root = tree.root
        if root is not None:
            fast.walk(root.mem_id, walk, Reference, _native_needles(fast, walk.table, walk.sigs))
    else:
        obs.walk = "python"
        _visit_all(walk, tree)
    if walk.templates:
        for node in tree.css("template"):
            _walk_fragment(obs, sigs, walk.seen, _template_content(node.html or ""), gated=True, fast=fast)
    for fragment in _encoded_fragments(body if text is None else text.encode("utf-8", "replace")):
        _walk_fragment(obs, sigs, walk.seen, fragment, encoded=True, fast=fast)
    csp = headers.get("content-security-policy")
    if csp:
        for directive, host in csp_hosts(csp):
            obs.references.append(Reference(host, _host(host) or host, "csp", directive, declared=True))
    return obs
