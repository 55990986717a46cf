"""The demo web's ground truth, read from ``devweb/data/demo_sites.yml``: the services, the sites, which site embeds
which (drawn per site from seeded weights) and how, the month-2 changes; and every generated detail of a site
(account ids, address, server) that its pages and the expected outcomes share."""

from __future__ import annotations

import hashlib
import random
import string
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

__all__ = [
    "DEMO_DOMAINS", "DEMO_SITES", "DEMO_SERVICES", "MONTH2_CHANGES", "DEMO_EMBEDDINGS", "DemoSite", "ServiceInfo",
    "SiteContext", "site_context", "site_services", "declared_services", "demo_ground_truth", "demo_domain_list_text",
    "DEMO_TEXT", "seed", "check_ground_truth",
]


def _read(name: str) -> dict[str, Any]:
    return yaml.safe_load(resources.files("devweb").joinpath("data", name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ServiceInfo:
    """A third-party (or self-hosted) service the demo sites can embed."""

    key: str
    name: str
    provider: str
    category: str
    hosts: tuple[str, ...]          # hosts referenced by the snippet ("{host}" = the site itself)
    policy_url: str = ""


@dataclass(frozen=True)
class DemoSite:
    """One row of the demo site table."""

    domain: str        # the input domain (registrable)
    template: str      # shop | law | local | blog | news | hotel | clinic | saas
    name: str
    city: str
    www: bool = False  # content lives on www.<domain>; the apex redirects there
    clean: bool = False  # privacy-clean: self-hosted fonts + self-hosted Matomo only


def check_ground_truth(truth: dict[str, Any]) -> dict[str, Any]:
    """``truth`` if every service and site its tables name is defined in it; else a ValueError naming the strays."""
    named = [*truth["consent_managers"], *(k for group in truth["exclusive"] for k in group), *truth["trackers"],
             *(k for c in truth["month2_changes"].values() for k in [*c["removed"], *c["added"]]),
             *(k for held in truth["embeddings"].values() for k in held),
             *(k for w in truth["consent_manager_weights"].values() for k in w if k is not None),
             *(k for p in truth["service_probabilities"].values() for k in p),
             *(k for extra in truth["extra_services"].values() for k in extra)]
    services = sorted(set(named) - set(truth["services"]))
    sites = sorted({*truth["month2_changes"], *truth["embeddings"], *truth["extra_services"]}
                   - {row["domain"] for row in truth["sites"]})
    if services or sites:
        raise ValueError(f"devweb/data/demo_sites.yml names undefined services {services} or sites {sites}")
    return truth


_TRUTH = check_ground_truth(_read("demo_sites.yml"))
#: the words of the demo pages (``devweb/data/demo_text.yml``): paragraphs, pages, policy purposes, name pools
DEMO_TEXT: dict[str, Any] = _read("demo_text.yml")
DEMO_SERVICES: dict[str, ServiceInfo] = {
    key: ServiceInfo(key, s["name"], s["provider"], s["category"], tuple(s["hosts"]), s.get("policy_url", ""))
    for key, s in _TRUTH["services"].items()}
DEMO_SITES: list[DemoSite] = [DemoSite(**row) for row in _TRUTH["sites"]]
DEMO_DOMAINS: list[str] = [s.domain for s in DEMO_SITES]
_BY_DOMAIN = {s.domain: s for s in DEMO_SITES}
#: domain -> (services removed, services added) in month 2
MONTH2_CHANGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    domain: (tuple(c["removed"]), tuple(c["added"])) for domain, c in _TRUTH["month2_changes"].items()}
#: domain -> {service: "gated" | "encoded"} for the services a site does not embed directly
DEMO_EMBEDDINGS: dict[str, dict[str, str]] = _TRUTH["embeddings"]
_CMPS = tuple(_TRUTH["consent_managers"])
_EXCLUSIVE = tuple(set(group) for group in _TRUTH["exclusive"])
_TRACKERS = set(_TRUTH["trackers"])
_CMP_WEIGHTS: dict[str, dict[str | None, int]] = _TRUTH["consent_manager_weights"]
_PROBS: dict[str, dict[str, float]] = _TRUTH["service_probabilities"]
_EXTRA: dict[str, list[str]] = _TRUTH["extra_services"]


def seed(*parts: str) -> int:
    """A stable 64-bit seed from ``parts`` (every random draw of the demo web is seeded per site and purpose)."""
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "big")


def _apply(services: set[str], add=(), remove=()) -> set[str]:
    out = set(services) - set(remove)
    for key in add:
        for group in _EXCLUSIVE:
            if key in group:
                out -= group
        out.add(key)
    return out


def _base_services(ds: DemoSite) -> set[str]:
    if ds.clean:
        return {"fonts_self", "matomo_self"}
    rng = random.Random(seed(ds.domain, "services"))
    weights = _CMP_WEIGHTS[ds.template]
    keys = list(weights)
    cmp_ = rng.choices(keys, [weights[k] for k in keys])[0]
    out: set[str] = {cmp_} if cmp_ else set()
    for key, prob in _PROBS[ds.template].items():
        if rng.random() < prob:
            out = _apply(out, (key,))
    if "google_fonts" not in out:
        out.add("fonts_self")
    if not out & _TRACKERS:
        out.add(rng.choice(["gtm", "ga4", "matomo_self", "etracker"]))
    return _apply(out, _EXTRA.get(ds.domain, ()))


def site_services(domain: str, month: int = 1) -> set[str]:
    """Service keys embedded by a demo site in ``month``."""
    ds = _BY_DOMAIN[domain]
    services = _base_services(ds)
    removed, added = MONTH2_CHANGES.get(domain, ((), ()))
    services = _apply(services, removed, added)      # month 1: has removed, lacks added
    if month >= 2:
        services = _apply(services, added, removed)
    return services


def declared_services(domain: str) -> set[str]:
    """Services named in the privacy policy (written in month 1 and never updated)."""
    ds = _BY_DOMAIN[domain]
    embedded = site_services(domain, 1)
    if ds.clean:
        return set(embedded)
    rng = random.Random(seed(domain, "policy"))
    named = sorted(embedded)
    omit = rng.sample(named, k=min(len(named) - 1, rng.choice([1, 1, 2, 3]))) if len(named) > 1 else []
    declared = set(named) - set(omit)
    if rng.random() < 0.3:  # stale entry for a service the site no longer uses
        stale = sorted(set(DEMO_SERVICES) - embedded - set(_CMPS) - {"fonts_self", "matomo_self"})
        declared.add(rng.choice(stale))
    return declared


# --------------------------------------------------------------------------- generated details

_UP = string.ascii_uppercase + string.digits
_YT = string.ascii_letters + string.digits + "-_"


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:]}"


@dataclass
class SiteContext:
    """Everything needed to render one demo site for one month."""

    ds: DemoSite
    host: str
    month: int
    services: set[str]
    declared: set[str]
    ids: dict[str, str] = field(default_factory=dict)
    street: str = ""
    zip: str = ""
    owner: str = ""
    phone: str = ""
    lat: float = 0.0
    lon: float = 0.0
    wordpress: bool = False
    server: str = "nginx"
    slug: str = ""


def _ids(rng: random.Random, slug: str) -> dict[str, str]:
    ids = {
        "gtm": "GTM-" + _rand(rng, _UP, rng.choice([6, 7, 7, 8])),
        "ga4": "G-" + _rand(rng, _UP, 10),
        "fb": str(rng.randrange(10 ** 14, 10 ** 16)),
        "livechat": str(rng.randrange(10 ** 7, 10 ** 8)),
        "userlike": _hex(rng, 64),
        "hotjar": str(rng.randrange(1_000_000, 5_999_999)),
        "matomo_site": str(rng.randrange(1, 40)),
        "etracker": _rand(rng, string.ascii_letters + string.digits, 6),
        "usercentrics": _rand(rng, string.ascii_letters + string.digits + "_-", 9),
        "cookiebot": _uuid(rng),
        "onetrust": _uuid(rng),
        "yt1": _rand(rng, _YT, 11),
        "yt2": _rand(rng, _YT, 11),
        "vimeo": str(rng.randrange(100_000_000, 999_999_999)),
        "vimeo_h": _hex(rng, 10),
        "recaptcha": "6L" + _rand(rng, string.ascii_letters + string.digits + "_-", 38),
        "cf_token": _hex(rng, 32),
        "tp_bu": _hex(rng, 24),
        "tp_tpl": rng.choice(["5419b6a8b0d04a076446a9ad", "53aa8807dec7e10d38f59f36", "5406e65db0d04a09e042d5fc"]),
        "ts": "X" + _hex(rng, 32).upper(),
        "vgwort_sub": f"vg{rng.randrange(1, 10):02d}",
        "ivw_st": slug.replace("-", "")[:8],
        "linkedin": str(rng.randrange(1_000_000, 6_999_999)),
        "clarity": _rand(rng, string.ascii_lowercase + string.digits, 10),
        "tiktok": "C" + _rand(rng, _UP, 19),
        "borlabs_ver": rng.choice(["2.2.67", "2.2.68", "3.0.4", "3.1.2"]),
        "maps_hex": f"0x{_hex(rng, 16)}:0x{_hex(rng, 16)}",
        "maps_ts": str(rng.randrange(1_650_000_000_000, 1_720_000_000_000)),
        "session": _hex(rng, 26),
        "cf_bm": _rand(rng, string.ascii_letters + string.digits + "._-", 43),
    }
    ids["vgwort_ids"] = ",".join(_hex(rng, 32) for _ in range(4))
    return ids


def site_context(ds: DemoSite, month: int) -> SiteContext:
    """The generated details of ``ds`` in ``month`` (seeded by its domain: the same on every call)."""
    text = DEMO_TEXT
    host = f"www.{ds.domain}" if ds.www else ds.domain
    services = site_services(ds.domain, month)
    ctx = SiteContext(ds, host, month, services, declared_services(ds.domain))
    rng = random.Random(seed(ds.domain, "ids"))
    slug = ds.domain.rsplit(".", 1)[0]
    ctx.slug = slug
    ctx.ids = _ids(rng, slug)
    ctx.street = f"{rng.choice(text['streets'])} {rng.randrange(1, 120)}"
    if ds.domain.endswith(".de"):
        ctx.zip = f"{rng.randrange(10000, 99999):05d}"
        ctx.phone = f"+49 {rng.randrange(30, 999)} {rng.randrange(100000, 9999999)}"
    else:
        ctx.zip = f"{rng.randrange(1000, 9999)}"
        prefix = "+43" if ds.domain.endswith(".at") else "+41"
        ctx.phone = f"{prefix} {rng.randrange(1, 99)} {rng.randrange(100000, 9999999)}"
    surnames = {n.lower().replace("ö", "oe").replace("ü", "ue"): n for n in text["surnames"]}
    surname = next((surnames[t] for t in slug.split("-") if t in surnames), None)
    ctx.owner = f"{rng.choice(text['first_names'])} {surname or rng.choice(list(surnames.values()))}"
    elsewhere = (48.0 + rng.random() * 6, 7.0 + rng.random() * 7)  # drawn for every site: keeps the stream fixed
    lat, lon = text["city_coordinates"].get(ds.city, elsewhere)
    ctx.lat, ctx.lon = round(lat + rng.uniform(-0.02, 0.02), 6), round(lon + rng.uniform(-0.02, 0.02), 6)
    ctx.wordpress = "borlabs" in services or (ds.template in ("blog", "local") and rng.random() < 0.5)
    if "cloudflare_insights" in services or "cdnjs" in services and rng.random() < 0.5:
        ctx.server = "cloudflare"
    else:
        ctx.server = rng.choice(["nginx", "Apache", "nginx", "LiteSpeed"] if ctx.wordpress else
                                ["nginx", "nginx/1.24.0", "Apache", "openresty"])
    return ctx


# --------------------------------------------------------------------------- expected outcomes

def demo_ground_truth(month: int = 1) -> dict[str, dict]:
    """Input domain -> {"host", "template", "services", "embeddings" (service -> direct / gated / encoded),
    "loads_without_gate", "declared", "third_party_hosts", "server"} for ``month``."""
    out: dict[str, dict] = {}
    for ds in DEMO_SITES:
        services = site_services(ds.domain, month)
        slug = ds.domain.rsplit(".", 1)[0]
        ctx = site_context(ds, month)
        ids = ctx.ids
        hosts: set[str] = set()
        for key in services:
            for h in DEMO_SERVICES[key].hosts:
                h = h.replace("{host}", ds.domain).replace("{slug}", slug).replace("{vgwort}", ids["vgwort_sub"])
                if not h.endswith("." + ds.domain):
                    hosts.add(h)
        held = {k: e for k, e in DEMO_EMBEDDINGS.get(ds.domain, {}).items() if k in services}
        out[ds.domain] = {
            "host": ctx.host,
            "template": ds.template,
            "services": sorted(services),
            "embeddings": {k: held.get(k, "direct") for k in sorted(services)},
            # every service but those held back or encoded loads on page load, without a consent gate
            "loads_without_gate": sorted(set(services) - set(held)),
            "declared": sorted(declared_services(ds.domain)),
            "third_party_hosts": sorted(hosts),
            "server": ctx.server,  # "cloudflare": the site sits behind Cloudflare (sets __cf_bm)
        }
    return out


def demo_domain_list_text() -> str:
    """The demo input list: a comment header, one domain per line, 2 malformed lines and 1 duplicate."""
    lines = ["# servicerisk demo domain list",
             f"# {len(DEMO_DOMAINS)} German-speaking sites served by the local web (devweb.web.demo).",
             "# One registrable domain per line; lines starting with # are comments.",
             ""]
    for n, domain in enumerate(DEMO_DOMAINS):
        lines.append(domain)
        if n == 9:
            lines.append("http://1.2.3.4/")
        if n == 24:
            lines.append("not a domain")
        if n == 39:
            lines.append(DEMO_DOMAINS[1])  # duplicate
    return "\n".join(lines) + "\n"
