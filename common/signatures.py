"""Inline snippet signatures: load them from the catalog's ``_signatures/`` folder and prefilter with needles.

Each signature regex gets a *needle set* derived from its own syntax: literal strings one of which must occur
in any text the regex can match. ``str.__contains__`` is a fast substring search, so a signature's regex only
runs on texts that contain one of its needles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from common.paths import data_path

try:  # Python 3.11+: the regex parser lives in re._parser
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

# the rules: every *.yml file of this folder of services/, read in name order (the order observe() runs them in)
SIGNATURES_FOLDER = "_signatures"
SIGNATURES_DIR = data_path("services", SIGNATURES_FOLDER)
MIN_NEEDLE = 3


@dataclass(frozen=True, slots=True, eq=False)  # identity hash: used as a dict key in hot loops
class CompiledSignature:
    id: str
    regex: re.Pattern[str]
    needles: tuple[str, ...]  # empty: always run
    lower: bool  # needles are lower-case and must be looked up in the lower-cased text
    # further literal sets one member of each must occur too (e.g. "UA-" besides the "config" | "create" …
    # needles of the UA id): checked only after a needle hit, they spare most regex runs
    also: tuple[tuple[str, ...], ...] = ()
    # (literal, offset) pairs such that every match starts `offset` characters before an occurrence of
    # one of the literals: matches are then tried only there (a regex led by \b, a character class or
    # an alternation has no literal prefix for re to search by, so it would try every position)
    anchors: tuple[tuple[str, int], ...] = ()

    def finditer(self, text: str):
        """``regex.finditer(text)``, trying only the anchor positions when the signature has anchors."""
        if not self.anchors:
            return self.regex.finditer(text)
        return _anchored_finditer(self.regex, text, self.anchors)

    def findall(self, text: str, lowered: str | None = None) -> list[str]:
        if self.needles:
            hay = (lowered if lowered is not None else text.lower()) if self.lower else text
            if not any(n in hay for n in self.needles) or not all(any(n in hay for n in g) for g in self.also):
                return []
        out = []
        for m in self.finditer(text):
            out.append(m.group(1) if self.regex.groups else m.group(0))
        return out


_MAX_SPELLINGS = 8  # a literal run with optional characters is kept as at most this many spellings


def _shortest(spellings: set[str]) -> set[str]:
    """The spellings no other one is a prefix of (where ``disqus_`` occurs, ``disqus`` does)."""
    return {s for s in spellings if not any(o != s and s.startswith(o) for o in spellings)}


def _optional_char(op, av) -> str | None:
    """The character of a parsed ``c?`` (or ``c??``) item; None for any other item."""
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[0] == 0 and av[1] == 1 and len(av[2]) == 1:
        sub_op, sub_av = av[2][0]
        return chr(sub_av) if sub_op is _c.LITERAL else None
    return None


def _requirements(items) -> list[set[str]]:
    """Requirements of a parsed sequence: each a set of literal alternatives, one of which must occur. A run of
    literals with an optional character in it (``fb_?app``) is one requirement with each spelling
    (fbapp, fb_app), not two short ones."""
    reqs: list[set[str]] = []
    run: set[str] = set()  # the literal run so far in each spelling; empty: no run

    def flush() -> None:
        if run:
            reqs.append(_shortest(run))
            run.clear()

    for op, av in items:
        if op is _c.LITERAL:
            run = {r + chr(av) for r in run} if run else {chr(av)}
            continue
        optional = _optional_char(op, av)
        if optional and run and 2 * len(run) <= _MAX_SPELLINGS:
            run |= {r + optional for r in run}  # an optional character: both spellings
            continue
        flush()
        if op is _c.SUBPATTERN:
            reqs.extend(_requirements(av[-1]))
        elif op is _c.BRANCH:
            alts = []
            for alt in av[1]:
                best = _best(_requirements(alt))
                if best is None:
                    alts = []
                    break
                alts.append(best)
            if alts:
                reqs.append(set().union(*alts))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[0] >= 1:
            reqs.extend(_requirements(av[2]))
    flush()
    return reqs


# words of every other inline script: a literal made of them says little ("function", "config", ".push(")
_COMMON_WORDS = ("function", "configure", "config", "create", "init", "track", "pageview", "push", "setup",
                 "cmd", "script", "window", "document", "bidder", "send", "version", "event", "account")


def _distinct(literal: str) -> int:
    """How much of ``literal`` is not a common script word (its length without them)."""
    low = literal.lower()
    for word in _COMMON_WORDS:
        low = low.replace(word, "")
    return len(low)


def _best(reqs: list[set[str]]) -> set[str] | None:
    """The most selective requirement: of those whose shortest alternative has >= MIN_NEEDLE characters, the
    one whose alternatives are most distinct from common script words, then longest; ``{"disqus_"}`` rather
    than ``{"function", "shortname"}``, ``{"fbq("}`` rather than ``{"track"}``."""
    good = [r for r in reqs if r and min(map(len, r)) >= 1]
    return max(good, key=lambda r: (min(map(len, r)) >= MIN_NEEDLE, min(map(_distinct, r)), min(map(len, r)),
                                    -len(r)), default=None)


def needles_for(regex: str, ignore_case: bool = False) -> tuple[str, ...]:
    """Literal needles one of which every match of ``regex`` contains; () when none of length >= 3."""
    try:
        parsed = _p.parse(regex, re.IGNORECASE if ignore_case else 0)
    except re.error:
        return ()
    best = _best(_requirements(list(parsed)))
    if not best or min(map(len, best)) < MIN_NEEDLE:
        return ()
    return tuple(sorted(n.lower() for n in best)) if ignore_case else tuple(sorted(best))


def _anchored_finditer(regex: re.Pattern[str], text: str, anchors: tuple[tuple[str, int], ...]):
    """The matches ``regex.finditer(text)`` yields, given that each starts at an anchor position."""
    if len(anchors) == 1:  # the common case, without the bookkeeping of several anchors
        literal, offset = anchors[0]
        find, match = text.find, regex.match
        pos = 0
        while True:
            i = find(literal, pos + offset)
            if i < 0:
                return
            q = i - offset
            m = match(text, q)
            if m is None:
                pos = q + 1
                continue
            yield m
            pos = m.end() if m.end() > q else q + 1
    pos = 0
    nxt = [-2] * len(anchors)  # per anchor: its next candidate start (-1: none left; -2: not looked up)
    while True:
        q = -1  # the next candidate start at or after pos
        for k, (literal, offset) in enumerate(anchors):
            c = nxt[k]
            if c == -2 or 0 <= c < pos:
                i = text.find(literal, pos + offset)
                c = nxt[k] = i - offset if i >= 0 else -1
            if c >= 0 and (q < 0 or c < q):
                q = c
        if q < 0:
            return
        m = regex.match(text, q)  # \b and lookbehinds still see the text before q
        if m is None:
            pos = q + 1
            continue
        yield m
        pos = m.end() if m.end() > q else q + 1


# zero-width items a match may start with (\b, ^, lookbehinds, lookaheads): a match starts where the first
# character-consuming item does, and regex.match(text, q) still checks them against the text before q
_ZERO_WIDTH = (_c.AT, _c.ASSERT, _c.ASSERT_NOT)


def _literal_starts(items) -> set[tuple[str, int]] | None:
    """(literal, offset) pairs such that every match of the parsed sequence starts ``offset`` characters
    before one of the literals (zero-width assertions skipped; offset 1 for one leading character class),
    or None when some match may start otherwise."""
    items = list(items)
    i = 0
    while i < len(items) and items[i][0] in _ZERO_WIDTH:
        i += 1
    if i == len(items):
        return None
    op, av = items[i]
    offset = 0
    nxt = items[i + 1] if i + 1 < len(items) else (None, None)
    if op is _c.IN and (nxt[0] is _c.LITERAL or (nxt[0] is _c.SUBPATTERN and not nxt[1][1] & re.IGNORECASE)):
        offset, i = 1, i + 1
        op, av = items[i]
    later = _later_literal(items, i)
    if later is not None:
        return {(later[0], offset + later[1])}
    if op is _c.LITERAL:  # the literal run, in each spelling its optional characters allow (as _requirements)
        run = {""}
        while i < len(items):
            op, av = items[i]
            if op is _c.LITERAL:
                run = {r + chr(av) for r in run}
            elif (optional := _optional_char(op, av)) and 2 * len(run) <= _MAX_SPELLINGS:
                run |= {r + optional for r in run}
            else:
                break
            i += 1
        return {(r, offset) for r in _shortest(run)}
    if op is _c.SUBPATTERN:
        starts = _literal_starts(av[-1])
        return None if starts is None else {(lit, off + offset) for lit, off in starts}
    if op is _c.BRANCH:
        out: set[str] = set()
        for alt in av[1]:
            starts = _literal_starts(alt)
            if starts is None:
                return None
            out |= starts
        return out
    return None


def _later_literal(items, i: int) -> tuple[str, int] | None:
    """When the sequence from ``i`` does not start with a literal of two or more characters: the first literal
    run of three or more after one-character items (single literals, classes, ``.``), with the number of
    characters before it (``\\[['"]GoogleAnalyticsObject`` -> ("GoogleAnalyticsObject", 2)); else None."""
    k = i
    while k < len(items) and items[k][0] is _c.LITERAL:
        k += 1
    if k - i >= 2:
        return None
    width, k = 0, i
    while k < len(items):
        op = items[k][0]
        if op is _c.LITERAL:
            j = k
            while j < len(items) and items[j][0] is _c.LITERAL:
                j += 1
            if j - k >= 3 and width:
                return "".join(chr(items[m][1]) for m in range(k, j)), width
            width, k = width + j - k, j
        elif op in (_c.IN, _c.ANY):
            width, k = width + 1, k + 1
        else:
            return None
    return None


def anchors_for(regex: str) -> tuple[tuple[str, int], ...]:
    """The anchors of a case-sensitive ``regex`` (see ``CompiledSignature.anchors``); () when it has none."""
    try:
        parsed = _p.parse(regex, 0)
    except re.error:
        return ()
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return ()
    starts = _literal_starts(list(parsed))
    return tuple(sorted(starts)) if starts and all(len(lit) >= 2 for lit, _ in starts) else ()


def also_required(regex: str, needles: tuple[str, ...], ignore_case: bool = False) -> tuple[tuple[str, ...], ...]:
    """The requirements of ``regex`` besides its ``needles`` (alternatives of >= 2 characters each): every
    match contains one literal of each set too."""
    if not needles:
        return ()
    try:
        parsed = _p.parse(regex, re.IGNORECASE if ignore_case else 0)
    except re.error:
        return ()
    out: list[tuple[str, ...]] = []
    for req in _requirements(list(parsed)):
        if not req or min(map(len, req)) < 2:
            continue
        group = tuple(sorted({n.lower() for n in req} if ignore_case else req))
        if group != needles and group not in out:
            out.append(group)
    return tuple(out)


# a scoped flag group that turns case-insensitivity on for part of a rule: (?i:…), (?ai:…), (?i-s:…)
_SCOPED_IGNORECASE = re.compile(r"\(\?[aLmsux]*i[aLmsux]*(?:-[imsx]+)?:")


@lru_cache(maxsize=1)
def _lowered_from() -> dict[int, tuple[str, ...]]:
    """Code point -> the other characters whose simple lower case it is (the K of the Kelvin sign for k)."""
    import _sre

    out: dict[int, list[str]] = {}
    for cp in range(0x110000):
        low = _sre.unicode_tolower(cp)
        if low != cp:
            out.setdefault(low, []).append(chr(cp))
    return {low: tuple(chars) for low, chars in out.items()}


@lru_cache(maxsize=4096)
def _case_forms(ch: str) -> tuple[str, ...]:
    """Every character re's case-insensitive matching takes for ``ch``: those whose simple lower case is that
    of ``ch`` or one of the equivalents re adds (ſ for s, ı for i)."""
    import _sre
    from re._casefix import _EXTRA_CASES

    if not _sre.unicode_iscased(ord(ch)):
        return (ch,)
    low = _sre.unicode_tolower(ord(ch))
    targets = (low, *_EXTRA_CASES.get(low, ()))
    forms = {chr(t) for t in targets} | {c for t in targets for c in _lowered_from().get(t, ())}
    return tuple(sorted(forms))


def case_variants(text: str) -> set[str]:
    """Every spelling of ``text`` that re's case-insensitive matching takes for it (``fb`` -> fb, fB, Fb, FB;
    an s also as ſ, a k also as the Kelvin sign)."""
    out = {""}
    for ch in text:
        out = {v + c for v in out for c in _case_forms(ch)}
    return out


def compile_signature(sid: str, regex: str, ignore_case: bool = False) -> CompiledSignature:
    if not ignore_case and _SCOPED_IGNORECASE.search(regex):
        # part of the rule matches in any case: its needles are every case spelling of each (lower-cased) needle's
        # first four characters and its anchors every case spelling of each anchor literal's first four (same
        # offset; those that are needles too, the scan records where they occur), so the case-sensitive needle
        # scan and anchored search still find every match (FB_APP_ID as well as fbAppId); no further literal
        # sets (``also``) are required
        prefixes = {n[:4] for n in needles_for(regex, ignore_case=True)}
        needles = tuple(sorted({v for p in prefixes for v in case_variants(p)}))
        anchors = tuple(sorted({(v, off) for lit, off in anchors_for(regex) for v in case_variants(lit[:4])}))
        return CompiledSignature(sid, re.compile(regex), needles, False, (), anchors)
    flags = re.IGNORECASE if ignore_case else 0
    needles = needles_for(regex, ignore_case)
    return CompiledSignature(sid, re.compile(regex, flags), needles, ignore_case,
                             also_required(regex, needles, ignore_case),
                             () if ignore_case else anchors_for(regex))


def signature_rules(folder: str | Path = SIGNATURES_DIR,
                    problems: list[str] | None = None) -> list[tuple[str, int, Any]]:
    """The rules of the signature files in ``folder``: its ``*.yml`` files in name order, each a mapping with a
    ``signatures`` list, as ``(file name, index in its file, rule)`` in order. A file that cannot be parsed or lacks
    the list is a problem: appended to ``problems`` when given (the file then adds no rules), else raised as
    ValueError. Rule ids are not checked here: the catalog's validation reports an id defined twice."""
    import yaml

    rules: list[tuple[str, int, Any]] = []
    for path in sorted(Path(folder).glob("*.yml")):
        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            has_list = isinstance(raw, dict) and isinstance(raw.get("signatures"), list)
            problem = None if has_list else "must contain a 'signatures' list"
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problem = f"cannot parse YAML: {exc}".splitlines()[0]
        if problem is not None:
            if problems is None:
                raise ValueError(f"signature file {path}: {problem}")
            problems.append(f"{path.name}: {problem}")
            continue
        rules.extend((path.name, i, rule) for i, rule in enumerate(raw["signatures"]))
    return rules


@lru_cache(maxsize=4)
def load_signatures(folder: str | None = None) -> tuple[CompiledSignature, ...]:
    """The catalog's signatures (of ``folder``, default the catalog's), compiled with their needles (cached)."""
    return tuple(compile_signature(s["id"], s["regex"], bool(s.get("ignore_case", False)))
                 for _file, _i, s in signature_rules(folder or SIGNATURES_DIR))
