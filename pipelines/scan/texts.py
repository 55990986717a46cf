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
        "no_cmp": "kein Consent-Banner erkannt",
        "consent_pass": "Durchgang", "result": "Ergebnis",
        "redirected": "Achtung: Die Startseite leitet auf eine andere Website um ({url}); gescannt wurde diese.",
        "evidence_link": "Beleg ansehen", "evidence_title": "Beleg: {name}", "back": "Zurück zum Bericht",
        "detections": "Erkennungen", "kind": "Art", "seen_in": "gefunden in", "page": "Seite", "pass": "Durchgang",
        "requests": "Anfragen", "requests_more": "{shown} von {total} Anfragen gezeigt",
        "time": "Zeit", "time_page": "Abruf der Seite", "url": "URL", "initiator": "Auslöser", "status": "Status",
        "remote_ip": "Antwortende IP", "failure": "Fehler",
        "cookies_title": "Cookies (Werte werden nie gespeichert)", "cookie_name": "Name", "domain": "Domain",
        "expires": "Ablauf", "session_cookie": "Sitzung", "seen_at": "gesehen beim Abruf",
        "dns": "DNS-Antwort", "dns_outcome": "Ergebnis", "cname_chain": "CNAME-Kette", "addresses": "Adressen",
        "resolver": "Resolver", "resolved_at": "Aufgelöst am", "har": "HAR-Dateien der Browser-Besuche",
        "har_file": "HAR-Datei", "none_found": "keine", "proxy_note":
            "Bei einer Prüfung über einen Proxy ist die antwortende IP die des Proxys.",
        "static_note": "Statische Prüfung: Verweise im HTML, von servicerisk nicht selbst geladen; Zeit ist der "
                       "Abruf der Seite, Status und IP gibt es dafür nicht.",
        "pass_static": "statisch (HTML)", "pass_none": "Browser, vor Einwilligung",
        "pass_accept": "Browser, nach Zustimmen", "pass_reject": "Browser, nach Ablehnen",
        "pass_gpc": "Browser, mit GPC-Signal",
        "policy_block": "Textbaustein", "policy_blocks_note":
            "Für Dienste, die Ihre Datenschutzerklärung nicht nennt, liegt ein Entwurf eines Textbausteins bei "
            "(keine Rechtsberatung).",
        "summary_before_consent":
            "{loads} Dienst(e) laden vor jeder Einwilligung, davon {needs} einwilligungspflichtig (§ 25 TDDDG).",
        "kind_host": "Host", "kind_url_pattern": "URL-Muster", "kind_path": "Pfad", "kind_signature": "Code-Signatur",
        "kind_cookie": "Cookie-Name",
        "before_consent_finding": "ohne Einwilligung", "other_passes": "Weitere Durchgänge",
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
        "no_cmp": "no consent banner recognised",
        "consent_pass": "Pass", "result": "Result",
        "redirected": "Note: the home page redirects to another site ({url}); that site was scanned.",
        "evidence_link": "View evidence", "evidence_title": "Evidence: {name}", "back": "Back to the report",
        "detections": "Detections", "kind": "Kind", "seen_in": "found in", "page": "Page", "pass": "Pass",
        "requests": "Requests", "requests_more": "{shown} of {total} requests shown",
        "time": "Time", "time_page": "page fetch", "url": "URL", "initiator": "Initiator", "status": "Status",
        "remote_ip": "Remote IP", "failure": "Failure",
        "cookies_title": "Cookies (values are never stored)", "cookie_name": "Name", "domain": "Domain",
        "expires": "Expires", "session_cookie": "session", "seen_at": "seen at page fetch",
        "dns": "DNS answer", "dns_outcome": "Outcome", "cname_chain": "CNAME chain", "addresses": "Addresses",
        "resolver": "Resolver", "resolved_at": "Resolved at", "har": "HAR files of the browser visits",
        "har_file": "HAR file", "none_found": "none", "proxy_note":
            "When the scan goes through a proxy, the remote IP is the proxy's.",
        "static_note": "Static scan: references in the HTML, not loaded by servicerisk itself; the time is the page "
                       "fetch, and there is no status or IP for them.",
        "pass_static": "static (HTML)", "pass_none": "browser, before consent",
        "pass_accept": "browser, after accept", "pass_reject": "browser, after reject",
        "pass_gpc": "browser, with the GPC signal",
        "policy_block": "Policy block", "policy_blocks_note":
            "For services your privacy policy does not name, a draft policy block is attached (not legal advice).",
        "summary_before_consent":
            "{loads} service(s) load before any consent, {needs} of which need consent (TDDDG §25).",
        "kind_host": "host", "kind_url_pattern": "URL pattern", "kind_path": "path", "kind_signature": "code signature",
        "kind_cookie": "cookie name",
        "before_consent_finding": "without consent", "other_passes": "Other passes",
    },
}


def scan_label(lang: str, key: str, **kw: object) -> str:
    text = SCAN_LABELS.get(lang, SCAN_LABELS["de"]).get(key, key)
    return text.format(**kw) if kw else text


DPF_STATUS = {
    "de": {"active": "aktiv", "inactive": "inaktiv", "not_listed": "nicht gelistet",
           "not_applicable": "nicht anwendbar", "unknown": "unbekannt"},
    "en": {"active": "active", "inactive": "inactive", "not_listed": "not listed",
           "not_applicable": "not applicable", "unknown": "unknown"},
}


def pass_label(lang: str, method: str | None, consent_state: str | None, signal: str | None) -> str:
    """How a page was loaded: statically, or in the browser before consent / after accept / after reject / with GPC."""
    if method != "browser":
        return scan_label(lang, "pass_static")
    return scan_label(lang, "pass_gpc" if signal == "gpc" else f"pass_{consent_state or 'none'}")


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
