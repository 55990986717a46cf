"""Privacy-policy coverage: does a site's privacy (or cookie) policy name the services its pages embed?

Pure functions. A service counts as *named* when its name or an alias appears in the policy text, as
*company only* when only its operating company or a parent company is named (e.g. "Google" for Google Tag
Manager: the reader learns the recipient, not the tool), else *not mentioned*; a service on the site's own
servers (catalog company ``site-operator``: self-hosted fonts, Matomo On-Premise) that is not named is
*self hosted* (no third party to name; whether the processing itself is described needs a reader).
Matching ignores case (NFKC text) and the difference between spaces, hyphens and underscores
("Google-Analytics" names Google Analytics), and respects word boundaries ("Matomo" is not in "Matomotion").

This is an indicator for the GDPR Art. 13 information duty (the seed's condition: the service must be named in
the privacy policy), not a legal assessment: a policy can name a service and still inform insufficiently.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from pipelines.catalog.load import Catalog

NAMED, COMPANY_ONLY, NOT_MENTIONED, NO_POLICY = "named", "company_only", "not_mentioned", "no_policy"
SELF_HOSTED = "self_hosted"  # not named, but run by the site itself: no third party to name
STATUSES = (NAMED, COMPANY_ONLY, NOT_MENTIONED, SELF_HOSTED, NO_POLICY)
SITE_OPERATOR = "site-operator"  # the catalog's company for services on the site's own servers
MIN_TERM = 3  # shorter aliases ("GA") would match everywhere
# one-word names that are ordinary words (checked against the catalog's single-word names and the long tail's):
# never evidence that a policy names the service or company ("For clarity", "a steady stream", "Segment 3")
GENERIC_WORDS = frozenset("""
text alphabet content square block box signal apple oracle amazon target shopify twitter x
clarity steady faktor käuferschutz gpt subscribers photon piano boomerang turnstile jetpack blogger airship
tam cse lux amp uet ttd ltk gcs dfp segment heap drift medium crisp ada agility alchemy altitude ambassador
ambient answers arbor arena attentive attribution augur autopilot avail basis bolt buffer builder button cabin
cast castle catch civic collective communicator compete concert consumable coral creators dealer drip elevate
elicit genie heatmap hybrid ink insider integrate interstate interview issue iterate keen leaflet likelihood
luminate marker measured mega melt meme monitor narrative needle news pepper placed plausible playground polar
radar reach realtime recommend reflow runner scenario scroll servo spicy spoke strands sumo tailored terminus
thesis time tonic turn unite windows carrot test fam here hero run ram opta swoop statable elastera ambient
""".split())
_SEPARATORS = re.compile(r"[\s\-_\u2010-\u2015\u00ad]+")
# legal-form suffixes stripped from company names, so "Hotjar Ltd." also finds a policy that writes "Hotjar Limited"
_LEGAL_FORMS = re.compile(
    r"[,\s]+(inc|inc\.|llc|ltd|ltd\.|limited|gmbh|ag|se|s\.a\.|sa|s\.r\.l\.|srl|b\.v\.|bv|corp|corp\.|"
    r"corporation|co\.|plc|ab|as|a/s|oy|sp\. z o\.o\.|kg|gmbh & co\. kg|ug|pte\. ltd\.|pty ltd)\s*$", re.I)


def normalise(text: str) -> str:
    """Case-folded NFKC text with every run of spaces, hyphens and underscores as one space."""
    return _SEPARATORS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


@dataclass(frozen=True, slots=True)
class Terms:
    """What counts as naming one service: its own names, and the names of its company chain."""

    service_id: str
    service: tuple[str, ...]
    company: tuple[str, ...]
    self_hosted: bool = False


@dataclass(frozen=True, slots=True)
class PolicyText:
    page_url: str
    text: str


@dataclass(frozen=True, slots=True)
class Coverage:
    service_id: str
    status: str  # named / company_only / not_mentioned / no_policy
    term: str | None = None  # the term found (as written in the catalog)
    page_url: str | None = None  # the policy page it was found on
    excerpt: str | None = None  # up to ~160 characters of policy text around the first hit


def _distinct_usable(terms: Iterable[str]) -> tuple[str, ...]:
    """``terms`` in order, without repeats, too-short ones and ordinary words."""
    return tuple(dict.fromkeys(t for t in terms if len(normalise(t)) >= MIN_TERM and normalise(t) not in GENERIC_WORDS))


def _company_names(name: str) -> list[str]:
    bare = _LEGAL_FORMS.sub("", name).strip(" ,")
    return [name] + ([bare] if bare and bare != name else [])


def service_terms(catalog: Catalog, service_id: str, on: str | None = None) -> Terms:
    """The terms for ``service_id``: name + aliases, and name + aliases of its company and every parent."""
    svc = catalog.by_id.get(service_id)
    if svc is None:
        return Terms(service_id, (service_id,), ())
    own = _distinct_usable([svc.name, *svc.aliases])
    if svc.company == SITE_OPERATOR:
        return Terms(service_id, own, (), self_hosted=True)
    company: list[str] = []
    for c in catalog.parent_chain(svc.company, on):
        company.extend(_company_names(c.name))
        company.extend(c.aliases)
    own_n = {normalise(t) for t in own}
    return Terms(service_id, own, _distinct_usable(t for t in company if normalise(t) not in own_n))


_SEP = r"[\s\-_\u2010-\u2015\u00ad]+"


_DISTINCTIVE = re.compile(r"[a-z][A-Z]|\d|[^\w\s]")  # YouTube, reCAPTCHA, 1&1, jsDelivr: brand spellings


def _pattern(ordered: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for ``ordered`` terms, each word sequence allowing any separator run between
    words, with a group per term (``t<i>`` for ``ordered[i]``) so the hit says which catalog term it was. A
    one-word term in ordinary spelling matches only with the catalog's capitalisation ("Hotjar", "Meta"; not
    "meta"), while a distinctively spelled one ("YouTube") also matches "Youtube"."""
    alts: list[str] = []
    for i, term in enumerate(ordered):
        words = normalise(term).split(" ")
        if len(words) == 1 and not _DISTINCTIVE.search(term.strip()):
            alts.append(f"(?P<t{i}>(?-i:{re.escape(unicodedata.normalize('NFKC', term).strip())}))")
            continue
        # words are case-folded ("straße" -> "strasse"): let "ss" match a written "ß" again
        alts.append(f"(?P<t{i}>" + _SEP.join(re.escape(w).replace("ss", "(?:ss|ß)") for w in words) + ")")
    if not alts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)", re.IGNORECASE)


_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class _Matcher:
    pattern: re.Pattern[str] | None
    ordered: tuple[str, ...]  # the terms, longest first (the pattern's group order)
    # per term, its longest run of word characters, case-folded: a hit's text holds it verbatim (case-folded),
    # so a text that holds none of them cannot match (the cheap pre-check)
    needles: tuple[str, ...]


@lru_cache(maxsize=16384)
def _matcher(terms: tuple[str, ...]) -> _Matcher:
    """Compiled once per term list (a dataset build asks for the same services on thousands of sites)."""
    ordered = tuple(sorted(dict.fromkeys(terms), key=lambda t: len(normalise(t)), reverse=True))
    needles = tuple(dict.fromkeys(max(_WORD.findall(normalise(t)) or [normalise(t)], key=len) for t in ordered))
    return _Matcher(_pattern(ordered), ordered, needles)


@dataclass(frozen=True, slots=True)
class _Text:
    policy: PolicyText
    text: str  # NFKC
    folded: str  # text.casefold(), for the pre-check
    seen: dict[str, bool]  # pre-check answers so far (a site's services share company names)


def _may_match(m: _Matcher, t: _Text) -> bool:
    """False only if ``m.pattern`` cannot match ``t``: spares the regex (with its look-arounds) most policies."""
    for n in m.needles:
        hit = t.seen.get(n)
        if hit is None:
            hit = t.seen[n] = n in t.folded
        if hit:
            return True
    return False


def _find(terms: Sequence[str], texts: Sequence[_Text]):
    m_ = _matcher(tuple(terms))
    if m_.pattern is None:
        return None
    for t in texts:
        if not _may_match(m_, t):
            continue
        m = m_.pattern.search(t.text)
        if m:
            term = m_.ordered[int(m.lastgroup[1:])] if m.lastgroup else m.group(0)
            text = t.text
            lo, hi = max(0, m.start() - 70), min(len(text), m.end() + 70)
            excerpt = ("…" if lo else "") + " ".join(text[lo:hi].split()) + ("…" if hi < len(text) else "")
            return term, t.policy.page_url, excerpt
    return None


def _text(policy: PolicyText) -> _Text:
    nfkc = unicodedata.normalize("NFKC", policy.text)
    # the regex's simple case folding matches "İ" and the dotless "ı" for "i"; casefold() makes "İ" "i" + U+0307
    # and keeps "ı": drop the dot, dot the i (the pre-check may only get more permissive)
    return _Text(policy, nfkc, nfkc.casefold().replace("\u0307", "").replace("\u0131", "i"), {})


def policy_coverage(terms: Sequence[Terms], policies: Sequence[PolicyText]) -> list[Coverage]:
    """One :class:`Coverage` per entry of ``terms`` (same order), looked up in every policy text given."""
    texts = [_text(p) for p in policies if p.text and p.text.strip()]
    out: list[Coverage] = []
    for t in terms:
        if not texts:
            out.append(Coverage(t.service_id, NO_POLICY))
            continue
        hit = _find(t.service, texts)
        if hit:
            out.append(Coverage(t.service_id, NAMED, *hit))
            continue
        if t.self_hosted:
            out.append(Coverage(t.service_id, SELF_HOSTED))
            continue
        hit = _find(t.company, texts)
        out.append(Coverage(t.service_id, COMPANY_ONLY, *hit) if hit else Coverage(t.service_id, NOT_MENTIONED))
    return out
