"""Service detection measured on the vendor-name label set (tests/data/detection_labels/labels-v2.jsonl).

The labels were written by reading each page's HTML under the definition of "embeds" (docs/methodology.md),
with vendor and product names and the hosts seen, never catalog ids (tests/data/detection_labels/README.md).
Each page is observed as the crawl observes a home page (``observe(body, url, links=True)``) and detected with
the catalog the warehouse uses (curated entries plus the third-party-web long tail, the site's own group
known to the detector): every embedding counts (direct, gated, encoded, config, hint).

Scoring, per page (one site per page):

* Sides. Labels with status ``present`` are the truth. Labels marked ``hinted`` or ``same_owner`` count on
  neither side. Detected services are the distinct service ids the detector reports for the page.
* Edges. A label and a detected service may be matched when one of these holds:
  1. host: a label host equals a host the service's evidence on this page names;
  2. domain: a label host and such an evidence host share their registrable domain (ICANN public suffix
     list), the page's own registrable domain excepted (a first-party host matches by rule 1 only);
  3. name: a name of the label (product, its aliases, the product without its bracketed part, each bracketed
     part) and a name of the service (name, aliases) are equal, or one is a whole-word prefix of the other,
     after normalising (case folded, accents and punctuation dropped, "&" read as "and");
  4. company: the label's vendor names the service's company or a company up its parent chain (same
     normalisation, legal-form words such as Inc, LLC, GmbH dropped), and the pairing is unambiguous: the
     label is the page's only present label of that vendor and the service the page's only detected service
     of that company.
* One-to-one. A maximum matching between labels and services per page (augmenting paths), so one broad
  service cannot explain two labels, nor one label two services.
* Recall = matched present labels / present labels. Precision = matched services / (matched services + the
  unmatched services that are counted). An unmatched service is not counted when it has an edge to a hinted
  or same_owner label of the page, or when it is a self-hosted product (company ``site-operator``: no third
  party, which the definition does not count as an embed).

The figures (overall, high-confidence labels, per embedding kind, European / other sites, the matches per edge
kind, the top misses and false positives) are printed and written to ``.cache/detection-labels.txt``; the
test fails below recall 0.85 or precision 0.95. The corpus comes from the ``realpages`` fixture (skipped
without ../shared, failed in CI); the long tail needs the cached third-party-web package (``make refdata``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crawler.hosts import host_of, registrable_domain
from crawler.observe import observe
from pipelines.catalog.vocab import SITE_OPERATOR

ROOT = Path(__file__).resolve().parents[2]
LABELS_FILE = ROOT / "tests" / "data" / "detection_labels" / "labels-v2.jsonl"
REPORT = ROOT / ".cache" / "detection-labels.txt"
MIN_RECALL = 0.85
MIN_PRECISION = 0.95
TOP = 40
STATUSES = {"present", "hinted", "same_owner"}
EMBEDDINGS = ("direct", "gated", "encoded", "config", "hint")
CONFIDENCES = {"high", "medium"}
EDGES = ("host", "domain", "name", "company")

LABELS = [json.loads(line) for line in LABELS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


# --------------------------------------------------------------------------- names

_LEGAL = frozenset("""inc incorporated llc ltd limited gmbh co kg ag se sa sas sarl srl spa s p a bv b v nv ab as a s
    oy plc corp corporation company ug mbh pty pte kk k k group holding holdings technologies""".split())
_BRACKETS = re.compile(r"\(([^()]*)\)")


def normalise(text: str) -> str:
    """Case folded, accents and punctuation dropped, "&" read as "and", single spaces."""
    text = unicodedata.normalize("NFKD", text.replace("&", " and ")).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.casefold()).split())


def name_forms(name: str) -> set[str]:
    """A name, the name without its bracketed part, and each bracketed part, normalised (empty ones dropped)."""
    forms = {normalise(name), normalise(_BRACKETS.sub(" ", name))}
    forms.update(normalise(part) for part in _BRACKETS.findall(name))
    return {f for f in forms if f}


def company_form(name: str) -> str:
    """A company name normalised without legal-form words ("Google Ireland Limited" -> "google ireland")."""
    words = [w for w in normalise(_BRACKETS.sub(" ", name)).split() if w not in _LEGAL]
    return " ".join(words)


def names_meet(a: set[str], b: set[str]) -> bool:
    """Some name of ``a`` equals some name of ``b`` or is a whole-word prefix of it (either way round)."""
    for x in a:
        for y in b:
            if x == y or y.startswith(x + " ") or x.startswith(y + " "):
                return True
    return False


# --------------------------------------------------------------------------- one page

@dataclass
class Found:
    """A detected service on one page: its names, company names and the hosts its evidence names."""

    service_id: str
    names: set[str]
    companies: set[str]
    company_key: str
    hosts: set[str]
    self_hosted: bool
    embeddings: set[str] = field(default_factory=set)


def detected_services(row: dict, body: bytes, catalog, detector) -> list[Found]:
    url = row["original_url"]
    obs = observe(body, url, links=True)  # as the crawl observes a home page
    by_id: dict[str, Found] = {}
    for det in detector.detect(site_host=host_of(url), references=obs.references,
                               signatures=obs.signature_evidence()):
        found = by_id.get(det.service_id)
        if found is None:
            service = catalog.by_id[det.service_id]
            # the company and its parents, each by name and aliases
            companies = {company_form(n) for c in catalog.parent_chain(service.company) for n in (c.name, *c.aliases)}
            found = by_id[det.service_id] = Found(
                det.service_id, set().union(*(name_forms(n) for n in (service.name, *service.aliases))),
                companies - {""}, service.company, set(), service.company == SITE_OPERATOR)
        if det.host:
            found.hosts.add(det.host.lower())
        found.embeddings.add(det.embedding)
    return list(by_id.values())


def edge(label: dict, found: Found, site_domain: str, unambiguous_company: bool) -> str | None:
    """The first rule (host, domain, name, company) by which ``label`` and ``found`` may be matched, or None."""
    hosts = {h.lower() for h in label["hosts"]}
    if hosts & found.hosts:
        return "host"
    domains = {registrable_domain(h) for h in hosts} - {site_domain}
    if domains & {registrable_domain(h) for h in found.hosts}:
        return "domain"
    label_names = set().union(*(name_forms(n) for n in (label["product"], *label.get("aliases", ()))))
    if names_meet(label_names, found.names):
        return "name"
    vendor = company_form(label["vendor"])
    if unambiguous_company and vendor and vendor != "unknown" and names_meet({vendor}, found.companies):
        return "company"
    return None


def max_matching(adjacency: list[list[int]], n_right: int) -> dict[int, int]:
    """Maximum bipartite matching (Kuhn's augmenting paths): left index -> right index."""
    right_of: dict[int, int] = {}
    left_of: dict[int, int] = {}

    def augment(u: int, seen: set[int]) -> bool:
        for v in adjacency[u]:
            if v in seen:
                continue
            seen.add(v)
            if v not in left_of or augment(left_of[v], seen):
                left_of[v] = u
                right_of[u] = v
                return True
        return False

    for u in range(len(adjacency)):
        augment(u, set())
    return right_of


@dataclass
class PageScore:
    page_file: str
    european: bool
    matched: list[tuple[dict, Found, str]]  # (label, service, edge kind)
    missed: list[dict]
    false_positives: list[Found]
    ignored: list[Found]


def score_page(row: dict, found: list[Found]) -> PageScore:
    site_domain = registrable_domain(host_of(row["original_url"]))
    present = [lab for lab in row["labels"] if lab["status"] == "present"]
    other = [lab for lab in row["labels"] if lab["status"] != "present"]
    vendors = Counter(company_form(lab["vendor"]) for lab in present)
    companies = Counter(f.company_key for f in found)

    def kind(lab: dict, f: Found) -> str | None:
        unambiguous = vendors[company_form(lab["vendor"])] == 1 and companies[f.company_key] == 1
        return edge(lab, f, site_domain, unambiguous)

    kinds = [[kind(lab, f) for f in found] for lab in present]
    # stronger edges first, so that among matchings of the same size the search keeps host pairs
    adjacency = [sorted((j for j, k in enumerate(row_kinds) if k), key=lambda j, r=row_kinds: EDGES.index(r[j]))
                 for row_kinds in kinds]
    pairs = max_matching(adjacency, len(found))
    matched = [(present[i], found[j], kinds[i][j]) for i, j in sorted(pairs.items())]
    taken = set(pairs.values())
    missed = [lab for i, lab in enumerate(present) if i not in pairs]
    false_positives, ignored = [], []
    for j, f in enumerate(found):
        if j in taken:
            continue
        if f.self_hosted or any(edge(lab, f, site_domain, False) for lab in other):
            ignored.append(f)
        else:
            false_positives.append(f)
    return PageScore(row["page_file"], bool(row["european"]), matched, missed, false_positives, ignored)


# --------------------------------------------------------------------------- the whole set

def _ratio(hit: int, total: int) -> str:
    return f"{hit / total:.3f} ({hit}/{total})" if total else "n/a (0/0)"


@dataclass
class Evaluation:
    pages: list[PageScore]

    def recall(self, keep=lambda lab, page: True) -> tuple[int, int]:
        hit = sum(1 for p in self.pages for lab, _f, _k in p.matched if keep(lab, p))
        return hit, hit + sum(1 for p in self.pages for lab in p.missed if keep(lab, p))

    def precision(self, keep=lambda page: True) -> tuple[int, int]:
        hit = sum(len(p.matched) for p in self.pages if keep(p))
        return hit, hit + sum(len(p.false_positives) for p in self.pages if keep(p))

    def report(self) -> str:
        r, p = self.recall(), self.precision()
        lines = [f"detection vs labels-v2 ({len(self.pages)} pages): recall {_ratio(*r)}, precision {_ratio(*p)}",
                 f"  high-confidence labels: recall {_ratio(*self.recall(lambda lab, _p: lab['confidence'] == 'high'))}"]
        for emb in EMBEDDINGS:
            lines.append(f"  embedding {emb:8s} recall {_ratio(*self.recall(lambda lab, _p, e=emb: lab['embedding'] == e))}")
        for name, eu in (("European", True), ("other", False)):
            lines.append(f"  {name:8s} sites: recall {_ratio(*self.recall(lambda _l, pg, e=eu: pg.european == e))}, "
                         f"precision {_ratio(*self.precision(lambda pg, e=eu: pg.european == e))}")
        edges = Counter(k for pg in self.pages for _l, _f, k in pg.matched)
        lines.append("  matched by " + ", ".join(f"{k} {edges[k]}" for k in EDGES))
        lines.append(f"  unmatched services not counted (hinted/same-owner label or self-hosted): "
                     f"{sum(len(pg.ignored) for pg in self.pages)}")
        misses: Counter = Counter()
        miss_pages: dict[str, list[str]] = defaultdict(list)
        for pg in self.pages:
            for lab in pg.missed:
                key = f"{lab['product']} [{lab['vendor']}]"
                misses[key] += 1
                miss_pages[key].append(f"{pg.page_file.split('/')[-1][:4]}:{lab['embedding']}")
        lines.append(f"top {TOP} missed labels (product [vendor]: count, pages:embedding):")
        lines += [f"  {n:3d}  {k}  {' '.join(miss_pages[k][:6])}" for k, n in misses.most_common(TOP)]
        fps: Counter = Counter()
        fp_pages: dict[str, list[str]] = defaultdict(list)
        for pg in self.pages:
            for f in pg.false_positives:
                fps[f.service_id] += 1
                fp_pages[f.service_id].append(f"{pg.page_file.split('/')[-1][:4]}:{','.join(sorted(f.hosts))[:60]}")
        lines.append(f"top {TOP} false positives (service id: count, pages:hosts):")
        lines += [f"  {n:3d}  {k}  {' '.join(fp_pages[k][:4])}" for k, n in fps.most_common(TOP)]
        return "\n".join(lines)


@pytest.fixture(scope="module")
def evaluation(realpages) -> Evaluation:
    from pipelines.catalog.detect import Detector
    from pipelines.catalog.parties import EntityIndex
    from pipelines.catalog.refdata import catalog_with_long_tail
    from tests.conftest import require_refdata

    require_refdata("third-party-web")
    catalog, provenance = catalog_with_long_tail()
    assert provenance.get("long_tail_services"), provenance
    detector = Detector(catalog, EntityIndex(catalog))
    pages = [score_page(row, detected_services(row, (realpages / row["page_file"]).read_bytes(), catalog, detector))
             for row in LABELS]
    result = Evaluation(pages)
    text = result.report()
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text + "\n", encoding="utf-8")
    print("\n" + text)
    return result


# --------------------------------------------------------------------------- the label set itself

def test_label_set_size_and_fields():
    assert len(LABELS) >= 150 and sum(1 for r in LABELS if r["european"]) >= 80
    assert len({r["page_file"] for r in LABELS}) == len(LABELS), "a page is labelled twice"
    for row in LABELS:
        assert row["original_url"].startswith(("http://", "https://")) and row["page_file"].startswith("pages/")
        products = [lab["product"] for lab in row["labels"]]
        assert len(products) == len(set(products)), (row["page_file"], "a product twice")
        for lab in row["labels"]:
            where = (row["page_file"], lab["product"])
            assert lab["status"] in STATUSES and lab["confidence"] in CONFIDENCES, where
            # a hinted label may have no embedding (nothing the page would load)
            assert lab["embedding"] in EMBEDDINGS or (lab["status"] == "hinted" and lab["embedding"] is None), where
            assert lab["product"] and lab["vendor"], where
            assert all(h == h.lower() and re.fullmatch(r"[0-9a-z.-]+", h) for h in lab["hosts"]), where


def test_every_evidence_string_is_in_the_page_bytes(realpages):
    missing = []
    for row in LABELS:
        body = (realpages / row["page_file"]).read_bytes()
        for lab in row["labels"]:
            ev = lab["evidence"]
            if not ev or len(ev) > 100 or ev.encode("utf-8") not in body:
                missing.append((row["page_file"], lab["product"], ev))
    assert not missing, missing[:10]


# --------------------------------------------------------------------------- the scoring rules

def _found(sid: str, names=(), companies=(), hosts=(), company_key: str = "", self_hosted: bool = False) -> Found:
    return Found(sid, set().union(*(name_forms(n) for n in names)) if names else set(),
                 {company_form(c) for c in companies}, company_key or sid, set(hosts), self_hosted)


def _label(product: str, vendor: str, hosts=(), status: str = "present", **extra) -> dict:
    return {"product": product, "vendor": vendor, "hosts": list(hosts), "status": status, "embedding": "direct",
            "confidence": "high", **extra}


def test_names_and_companies_normalise():
    assert normalise("  Ströer SDG  metaTag!") == "stroer sdg metatag"
    assert name_forms("Piano Analytics (AT Internet)") == {"piano analytics at internet", "piano analytics",
                                                           "at internet"}
    assert company_form("Google Ireland Limited") == "google ireland" and company_form("Sourcepoint Inc.") == "sourcepoint"
    assert names_meet({"sourcepoint cmp"}, {"sourcepoint"}) and not names_meet({"google"}, {"googlebot"})


def test_matching_is_one_to_one_and_counts_ignored_sides():
    row = {"page_file": "pages/x.html", "original_url": "https://www.site.example/a", "european": True, "labels": [
        _label("Google Analytics", "Google", ["www.google-analytics.com"]),
        _label("Google Tag Manager", "Google", ["www.googletagmanager.com"]),
        _label("Sourcepoint CMP", "Sourcepoint", ["consent.site.example"]),
        _label("Matomo", "Matomo", ["stats.site.example"], status="hinted"),
        _label("Outbrain", "Outbrain", ["widgets.outbrain.com"], status="hinted"),
    ]}
    found = [
        # one broad service whose evidence names both Google hosts explains only one label
        _found("google-all", names=["Google"], companies=["Google LLC"], company_key="g",
               hosts=["www.google-analytics.com", "www.googletagmanager.com"]),
        _found("sourcepoint", names=["Sourcepoint"], hosts=["cdn.privacy-mgmt.com"]),
        _found("outbrain", names=["Outbrain"], hosts=["widgets.outbrain.com"]),  # only a hinted label: ignored
        _found("matomo-self", names=["Matomo (self-hosted)"], company_key="site-operator", self_hosted=True),
        _found("first-party-cdn", names=["Site CDN"], hosts=["img.site.example"]),  # no domain edge on first party
    ]
    page = score_page(row, found)
    assert [(lab["product"], f.service_id, k) for lab, f, k in page.matched] in (
        [("Google Analytics", "google-all", "host"), ("Sourcepoint CMP", "sourcepoint", "name")],
        [("Google Tag Manager", "google-all", "host"), ("Sourcepoint CMP", "sourcepoint", "name")])
    assert len(page.missed) == 1
    assert [f.service_id for f in page.false_positives] == ["first-party-cdn"]
    assert sorted(f.service_id for f in page.ignored) == ["matomo-self", "outbrain"]


def test_company_edge_only_when_unambiguous():
    site = "site.example"
    label = _label("Cxense", "Piano")
    piano = _found("piano", names=["Piano Composer"], companies=["Piano Software Inc."])
    assert edge(label, piano, site, True) == "company"
    assert edge(label, piano, site, False) is None
    row = {"page_file": "pages/y.html", "original_url": f"https://{site}/", "european": False,
           "labels": [label, _label("Piano Analytics (AT Internet)", "Piano")]}
    # two Piano labels: the company cannot say which; the name rule pairs the analytics product
    page = score_page(row, [piano, _found("at-internet", names=["AT Internet"], companies=["Piano Software Inc."],
                                          company_key="piano")])
    assert [(lab["product"], k) for lab, _f, k in page.matched] == [("Piano Analytics (AT Internet)", "name")]


def test_domain_edge_skips_the_first_party_domain():
    fonts = _label("Google Fonts", "Google", ["fonts.gstatic.com", "cdn.site.example"])
    assert edge(fonts, _found("gf", names=["Fonts"], hosts=["www.gstatic.com"]), "site.example", False) == "domain"
    assert edge(fonts, _found("own", names=["CDN"], hosts=["img.site.example"]), "site.example", False) is None
    assert edge(fonts, _found("own", names=["CDN"], hosts=["cdn.site.example"]), "site.example", False) == "host"


# --------------------------------------------------------------------------- the bar

def test_service_recall(evaluation):
    hit, total = evaluation.recall()
    assert total >= 2000 and hit / total >= MIN_RECALL, evaluation.report()


def test_service_precision(evaluation):
    hit, total = evaluation.precision()
    assert total > 0 and hit / total >= MIN_PRECISION, evaluation.report()
