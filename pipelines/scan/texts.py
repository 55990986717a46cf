"""Fixed German and English texts of the scan report (terminal and HTML)."""

from __future__ import annotations

from pipelines.publish.texts import BANDS

SCAN_LABELS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Quickscan: {domain}", "scanned": "Gescannt", "run": "Lauf", "pages": "Seiten",
        "unreachable": "{domain} war nicht erreichbar: {outcome} ({error_class}).",
        "attempts": "Versuche", "services": "Eingebundene Dienste", "service": "Dienst", "category": "Kategorie",
        "consent": "Einwilligung nötig", "band": "Risikostufe", "countries": "Server-Länder",
        "company": "Unternehmen", "us": "US-Recht", "dpf": "US-Stelle: DPF", "policy": "In Datenschutzerklärung",
        "evidence": "Beleg", "no_services": "Keine bekannten Drittanbieter-Dienste gefunden.",
        "cloaking": "Getarnte Subdomains (CNAME auf Tracker)", "host": "Host", "cname": "CNAME-Ziel",
        "tracker": "Tracker", "no_cloaking": "Keine getarnten Subdomains gefunden.",
        "other_hosts": "Weitere Drittanbieter-Hosts ohne Katalogeintrag", "references": "Verweise",
        "policy_pages": "Gelesene Datenschutz-/Cookie-Seiten", "no_policy_page":
            "Keine Datenschutz- oder Cookie-Seite gefunden: Die Abdeckung konnte nicht geprüft werden.",
        "named": "genannt", "company_only": "nur das Unternehmen genannt", "not_mentioned": "nicht erwähnt",
        "no_policy": "keine Erklärung gefunden", "self_hosted": "selbst gehostet, nicht genannt", "yes": "ja", "no": "nein", "likely": "wahrscheinlich",
        "unknown": "unbekannt", "provenance": "Herkunft und Stand", "crawled": "Gecrawlt am",
        "enriched": "DNS/GeoIP am", "geoip": "GeoIP-Daten", "catalog": "Katalog",
        "summary_unmentioned": "{n} Dienst(e) werden in der Datenschutzerklärung nicht erwähnt.",
        "not_assessed": "nicht bewertet (kein Katalogeintrag mit Rechtsfakten)",
        "before_consent": "Lädt vor Einwilligung", "after_reject": "Lädt nach Ablehnen",
        "with_gpc": "Lädt trotz GPC", "browser_only": "nur im Browser sichtbar", "cmp": "Consent-Banner",
        "no_cmp": "kein Consent-Banner erkannt", "summary_before_consent":
            "{n} Dienst(e) laden vor jeder Einwilligung (§ 25 TDDDG).",
        "consent_pass": "Durchgang", "result": "Ergebnis",
        "redirected": "Achtung: Die Startseite leitet auf eine andere Website um ({url}); gescannt wurde diese.",
        "embedding": "Einbindung", "without_gate": "Ohne Einwilligungssperre geladen",
        "summary_embedded": "{n} Dienst(e) eingebunden, davon {without} ohne Einwilligungssperre geladen.",
    },
    "en": {
        "title": "Quick scan: {domain}", "scanned": "Scanned", "run": "Run", "pages": "Pages",
        "unreachable": "{domain} could not be reached: {outcome} ({error_class}).",
        "attempts": "Attempts", "services": "Embedded services", "service": "Service", "category": "Category",
        "consent": "Consent needed", "band": "Risk band", "countries": "Server countries",
        "company": "Company", "us": "US law", "dpf": "US entity: DPF", "policy": "In privacy policy",
        "evidence": "Evidence", "no_services": "No known third-party services found.",
        "cloaking": "Cloaked subdomains (CNAME to a tracker)", "host": "Host", "cname": "CNAME target",
        "tracker": "Tracker", "no_cloaking": "No cloaked subdomains found.",
        "other_hosts": "Other third-party hosts without a catalog entry", "references": "References",
        "policy_pages": "Privacy / cookie pages read", "no_policy_page":
            "No privacy or cookie policy page found: coverage could not be checked.",
        "named": "named", "company_only": "only the company named", "not_mentioned": "not mentioned",
        "no_policy": "no policy found", "self_hosted": "self-hosted, not named", "yes": "yes", "no": "no", "likely": "likely",
        "unknown": "unknown", "provenance": "Provenance and as-of dates", "crawled": "Crawled on",
        "enriched": "DNS/GeoIP on", "geoip": "GeoIP data", "catalog": "Catalog",
        "summary_unmentioned": "{n} service(s) are not mentioned in the privacy policy.",
        "not_assessed": "not assessed (no catalog entry with legal facts)",
        "before_consent": "Loads before consent", "after_reject": "Loads after reject",
        "with_gpc": "Loads despite GPC", "browser_only": "seen in the browser only", "cmp": "Consent banner",
        "no_cmp": "no consent banner recognised", "summary_before_consent":
            "{n} service(s) load before any consent (TDDDG §25).",
        "consent_pass": "Pass", "result": "Result",
        "redirected": "Note: the home page redirects to another site ({url}); that site was scanned.",
        "embedding": "Embedded as", "without_gate": "Loaded without a consent gate",
        "summary_embedded": "{n} service(s) embedded, of which {without} loaded without a consent gate.",
    },
}


EMBEDDING_LABELS = {
    "de": {"direct": "direkt", "gated": "hinter Einwilligungssperre", "encoded": "kodierter Einbettungscode",
           "config": "Skript-Konfiguration", "hint": "nur Verbindungshinweis"},
    "en": {"direct": "direct", "gated": "behind a consent gate", "encoded": "encoded embed code",
           "config": "script configuration", "hint": "connection hint only"},
}


def embedding_labels(lang: str, embeddings: list[str] | None) -> str:
    """How the site embeds a service, in ``lang`` (``crawler.observe.EMBEDDINGS`` codes translated)."""
    names = EMBEDDING_LABELS.get(lang, EMBEDDING_LABELS["de"])
    return ", ".join(names.get(e, e) for e in embeddings or []) or scan_label(lang, "unknown")


def scan_label(lang: str, key: str, **kw: object) -> str:
    text = SCAN_LABELS.get(lang, SCAN_LABELS["de"]).get(key, key)
    return text.format(**kw) if kw else text


DPF_STATUS = {
    "de": {"active": "aktiv", "inactive": "inaktiv", "not_listed": "nicht gelistet",
           "not_applicable": "nicht anwendbar", "unknown": "unbekannt"},
    "en": {"active": "active", "inactive": "inactive", "not_listed": "not listed",
           "not_applicable": "not applicable", "unknown": "unknown"},
}


def dpf_label(lang: str, status: str | None) -> str:
    return DPF_STATUS.get(lang, DPF_STATUS["de"]).get(status or "unknown", status or scan_label(lang, "unknown"))


def band_label(lang: str, band: str | None) -> str:
    return BANDS.get(lang, BANDS["de"]).get(band or "", scan_label(lang, "unknown"))


def yes_no(lang: str, value: object) -> str:
    if value is True:
        return scan_label(lang, "yes")
    if value is False:
        return scan_label(lang, "no")
    if isinstance(value, str) and value in ("yes", "no", "likely"):
        return scan_label(lang, value)
    return scan_label(lang, "unknown")
