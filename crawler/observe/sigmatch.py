"""Running the inline signatures on a text: the needle prefilter, then the regexes (in Python, or their needle
table handed to the native walk)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from common.signatures import CompiledSignature, compile_signature
from crawler.observe.rules import _JS_URL, _SIG_SCAN_LIMIT, _SIG_TAIL, _URL_OPENERS


def compile_signatures(signatures: Mapping[str, str]) -> list[CompiledSignature]:
    """Compile ad-hoc {id: regex} signatures (needles derived from each regex)."""
    return [compile_signature(sid, rx) for sid, rx in signatures.items()]


def _match_signatures(text: str, sigs: Sequence[CompiledSignature], found: list[tuple[str, str]],
                      fast=None) -> None:
    """Run the signatures whose needles occur in ``text``; a tight loop of substring tests over a flat
    (needle, signature) table, since most texts contain none of them. ``fast``: the native module, whose one
    pass finds the same needles and further literals (the pure-Python walk, the reference, passes None)."""
    sigs = tuple(sigs)
    table = _needle_table(sigs)
    if fast is not None and sigs:
        found_at = fast.needle_hits(_native_needles(fast, table, sigs), text.encode("utf-8", "surrogatepass"))
        if found_at is not None:  # the native needle search (the same needles and further literals)
            if found_at:
                _run_signatures(text, [sigs[i] for i in found_at], found)
            return
    hits: list[CompiledSignature] = []
    for needle, sig in table.plain:
        if needle in text and sig not in hits:
            hits.append(sig)
    if table.lower:
        lowered = text.lower()
        for needle, sig in table.lower:
            if needle in lowered and sig not in hits:
                hits.append(sig)
    if table.also and hits:
        lowered = text.lower() if table.lower else text
        hits = [s for s in hits if all(any(n in (lowered if s.lower else text) for n in g) for g in s.also)]
    hits.extend(table.always)
    if not hits:
        return
    if len(hits) > 1:
        order = table.order
        hits.sort(key=order.__getitem__)
    _run_signatures(text, hits, found)


def _run_signatures(text: str, hits: Sequence[CompiledSignature], found: list[tuple[str, str]]) -> None:
    for sig in hits:
        _add_matches(sig, sig.finditer(text), found)


def _add_matches(sig: CompiledSignature, matches, found: list[tuple[str, str]]) -> None:
    """Add each match of ``sig`` to ``found`` as (signature id, its id group or the match), once."""
    for m in matches:
        value = m.group(1) if sig.regex.groups else None  # an optional id group may not take part
        pair = (sig.id, m.group(0) if value is None else value)
        if pair not in found:
            found.append(pair)


@dataclass(frozen=True)
class _NeedleTable:
    plain: tuple[tuple[str, CompiledSignature], ...]
    lower: tuple[tuple[str, CompiledSignature], ...]
    always: tuple[CompiledSignature, ...]
    order: dict
    also: bool  # some signature has further required literals


_TABLES: dict[int, tuple[tuple, _NeedleTable]] = {}


def _needle_table(sigs: tuple[CompiledSignature, ...]) -> _NeedleTable:
    hit = _TABLES.get(id(sigs))
    if hit is not None and hit[0] is sigs:
        return hit[1]
    plain = tuple((n, s) for s in sigs if not s.lower for n in s.needles)
    lower = tuple((n, s) for s in sigs if s.lower for n in s.needles)
    always = tuple(s for s in sigs if not s.needles)
    table = _NeedleTable(plain, lower, always, {s: i for i, s in enumerate(sigs)}, any(s.also for s in sigs))
    if len(_TABLES) > 16:
        _TABLES.clear()
    _TABLES[id(sigs)] = (sigs, table)
    return table


def _scan_script(code: str, add, found: list[tuple[str, str]], sigs: Sequence[CompiledSignature],
                 gated: bool = False, fast=None) -> None:
    if "//" in code or "\\/\\/" in code:
        if "\\/" in code:
            code = code.replace("\\/", "/")
        for m in _JS_URL.finditer(code):
            start = m.start()
            if not start or code[start - 1] not in _URL_OPENERS:
                continue  # "//" after anything else is a line comment or an operator, not a URL literal
            before = code[max(0, start - 6) : start].lower()
            scheme = "http:" if before.endswith("http:") and not before.endswith("https:") else "https:"
            add(scheme + m.group(0), "script", "inline", inline=True, gated=gated)
    if len(code) > _SIG_SCAN_LIMIT:  # app state / bundles: snippets sit at the start or the end
        code = code[: _SIG_SCAN_LIMIT - _SIG_TAIL] + "\n" + code[-_SIG_TAIL:]
    _match_signatures(code, sigs, found, fast)


_NATIVE_NEEDLES: dict[int, tuple[_NeedleTable, object]] = {}


def _native_needles(native, table: _NeedleTable, sigs: tuple[CompiledSignature, ...]):
    """The native form of a needle table (cached per table)."""
    hit = _NATIVE_NEEDLES.get(id(table))
    if hit is None or hit[0] is not table:
        order = table.order
        groups = [(n.encode(), order[s], 0) for n, s in table.plain]
        groups += [(n.encode(), i, 1 + k) for i, s in enumerate(sigs) if not s.lower
                   for k, g in enumerate(s.also[:7]) for n in g]
        counts = [1 + len(s.also[:7]) for s in sigs]
        anchors = [(a.encode(), i, offset) for i, s in enumerate(sigs) for a, offset in s.anchors]
        capsule = native.needles(groups, counts, bool(table.lower), bool(table.always), anchors,
                                 tuple(s.regex for s in sigs))
        if len(_NATIVE_NEEDLES) > 16:
            _NATIVE_NEEDLES.clear()
        hit = _NATIVE_NEEDLES[id(table)] = (table, capsule)
    return hit[1]
