"""Fixed German and English texts of the knowledge base: section labels, static explanations, reason titles."""

from __future__ import annotations

LANGS = ("de", "en")

SECTIONS = ("what", "why", "data", "consent", "ip", "location", "company", "prevalence", "conclusion",
            "sources", "disclaimer")

LABELS: dict[str, dict[str, str]] = {
    "de": {
        "what": "Was ist {name}?", "why": "Warum wird {name} verwendet?",
        "data": "Welche Daten werden verarbeitet?",
        "consent": "Rechtsgrundlage und Einwilligungspflicht", "ip": "IP-Adresse", "location": "Server-Standort",
        "company": "Firmensitz", "prevalence": "Verbreitung", "conclusion": "Fazit zu {name}",
        "sources": "Quellen und Stand", "disclaimer": "Keine Rechtsberatung",
        "unknown": "unbekannt", "not_measured": "nicht gemessen", "not_recorded": "noch nicht redaktionell erfasst",
        "data_categories": "Personenbezogene Daten", "purposes": "Zwecke", "cookies": "Cookies laut Katalog",
        "observed_cookies": "Im Crawl beobachtete Cookies", "tracking": "Tracking",
        "cookie": "Cookie", "lifetime": "Laufzeit", "purpose": "Zweck", "source": "Quelle",
        "sets_cookies": "Setzt Cookies", "device_access": "Zugriff auf Geräteeigenschaften",
        "own_purposes": "Nutzung für eigene Zwecke des Anbieters", "ip_anonymisation": "IP-Kürzung",
        "honours_dnt": "Beachtet Do-Not-Track",
        "consent_required": "Einwilligung erforderlich", "reasons": "Gründe", "factors": "Risikofaktoren",
        "to_check": "Zu prüfen (nicht messbar)", "score": "Risikowert", "band": "Risikostufe",
        "confidence": "Belegstärke", "points": "Punkte", "evidence": "Beleg", "level": "Stufe",
        "legal_basis": "Die Grundlage ergibt sich aus der DSGVO (Art. 6 Abs. 1) in Verbindung mit § 25 TDDDG: "
                       "Die DSGVO regelt die Verarbeitung personenbezogener Daten, das TDDDG den Zugriff auf das "
                       "Endgerät (Cookies, Pixel, Fingerprinting).",
        "not_assessed": "Für diesen Dienst liegt keine Einstufung vor (nicht kuratiert oder im letzten Lauf nicht gesehen).",
        "countries": "Gemessene Server-Länder", "country": "Land", "hosts": "Hosts", "sites": "Websites",
        "networks": "Netze", "host": "Host", "asn": "AS", "as_org": "Netzbetreiber",
        "company_name": "Unternehmen", "seat": "Sitz", "parent": "Muttergesellschaft",
        "ultimate_parent": "Oberste Muttergesellschaft", "chain": "Konzernkette",
        "us_jurisdiction": "US-Rechtsordnung", "recipient": "Empfänger der Daten", "dpf": "EU-US Data Privacy Framework", "checked_on": "geprüft am",
        "share": "Anteil der Websites", "interval": "95-%-Intervall", "slices": "Nach Rang und Länderendung",
        "embedded_share": "eingebunden auf {share} der Websites, davon ohne Einwilligungssperre geladen auf "
                          "{without}",
        "embedded_note": "Eingebunden zählt jede Einbindung: direkt geladen, hinter einer Einwilligungssperre, "
                         "kodiert abgelegter Einbettungscode, Konfiguration im Seitenskript oder nur ein "
                         "Verbindungshinweis. Ohne Einwilligungssperre geladen: die Seite lädt den Dienst direkt "
                         "oder über ein Skript, das beim Laden läuft.",
        "unclaimed_title": "Noch nicht erfasste Drittanbieter-Domains",
        "unclaimed_note": "Domains fremder Anbieter, die Websites einbinden, die aber noch kein Katalogeintrag "
                          "einem Dienst zuordnet (Domains der Website selbst oder ihres Verlags ausgenommen).",
        "domain": "Domain", "company_known": "Unternehmen",
        "slice": "Segment", "trend": "Entwicklung seit dem vorigen Lauf", "no_trend": "kein vorheriger Lauf",
        "run": "Lauf", "run_date": "Datum des Laufs", "dpf_snapshot": "Stand DPF-Liste", "as_of": "Stand",
        "catalog_as_of": "Stand Katalogeintrag", "services": "Dienste", "category": "Kategorie",
        "consent_short": "Einwilligung", "service": "Dienst", "index_title": "Dienste-Verzeichnis",
        "methodology": "Methodik", "index": "Übersicht", "yes": "ja", "no": "nein", "likely": "wahrscheinlich",
        "true": "ja", "false": "nein", "changes": "Änderungen seit dem vorigen Lauf", "no_changes": "keine Änderungen",
        "reach": "Reichweite", "company_services": "Dienste des Unternehmens", "facts": "Fakten",
        "sort_hint": "Spaltenkopf anklicken (oder mit Tab wählen und Enter drücken) zum Sortieren", "sort_by": "Sortieren nach {column}",
        "language": "Sprache", "skip": "Zum Inhalt springen",
        "movement_new": "neu", "movement_gone": "nicht mehr gesehen", "movement_up": "gestiegen",
        "movement_down": "gesunken", "movement_stable": "stabil (innerhalb des Intervalls)",
        "new_server_countries": "Neue Server-Länder", "dpf_changed": "DPF-Status geändert",
        "policy": "In Datenschutzerklärungen genannt", "policy_named": "Dienst genannt",
        "policy_company_only": "nur das Unternehmen genannt", "policy_not_mentioned": "nicht erwähnt",
        "policy_self_hosted": "selbst gehostet, nicht genannt",
        "policy_basis": "von {n} Websites mit gelesener Datenschutz- oder Cookie-Erklärung",
        "policy_basis_one": "von 1 Website mit gelesener Datenschutz- oder Cookie-Erklärung",
        "policy_no_text": "Bei {n} Websites lag keine Datenschutzerklärung unter den gecrawlten Seiten.",
        "policy_no_text_one": "Bei 1 Website lag keine Datenschutzerklärung unter den gecrawlten Seiten.",
        "policy_self_hosted_service": "Läuft auf den Servern der Website selbst: kein Dritter, den die Erklärung "
                                      "nennen müsste ({named} von {n} Erklärungen nennen ihn trotzdem).",
        "policy_note": "Suche nach Name und Aliasen des Dienstes im Text der Datenschutzerklärung (Bindestriche "
                       "egal, Groß-/Kleinschreibung auch, außer bei einwortigen Namen wie „Hotjar“): ein Indiz für "
                       "die Informationspflicht nach Art. 13 DSGVO, keine rechtliche Prüfung.",
    },
    "en": {
        "what": "What is {name}?", "why": "Why is {name} used?", "data": "What data is processed?",
        "consent": "Legal basis and when consent is needed", "ip": "IP address", "location": "Server location",
        "company": "Company seat", "prevalence": "Prevalence", "conclusion": "Conclusion on {name}",
        "sources": "Sources and as-of dates", "disclaimer": "Not legal advice",
        "unknown": "unknown", "not_measured": "not measured", "not_recorded": "not yet written by the editors",
        "data_categories": "Personal data", "purposes": "Purposes", "cookies": "Cookies per catalog",
        "observed_cookies": "Cookies seen in the crawl", "tracking": "Tracking",
        "cookie": "Cookie", "lifetime": "Lifetime", "purpose": "Purpose", "source": "Source",
        "sets_cookies": "Sets cookies", "device_access": "Reads device properties",
        "own_purposes": "Provider uses data for its own purposes", "ip_anonymisation": "IP truncation",
        "honours_dnt": "Honours Do-Not-Track",
        "consent_required": "Consent required", "reasons": "Reasons", "factors": "Risk factors",
        "to_check": "To check (not measurable)", "score": "Risk score", "band": "Risk band",
        "confidence": "Evidence strength", "points": "Points", "evidence": "Evidence", "level": "Level",
        "legal_basis": "The basis is the GDPR (Art. 6(1)) together with § 25 TDDDG: the GDPR governs the "
                       "processing of personal data, the TDDDG access to the terminal (cookies, pixels, "
                       "fingerprinting).",
        "not_assessed": "No rating for this service (not curated, or not seen in the latest run).",
        "countries": "Measured server countries", "country": "Country", "hosts": "Hosts", "sites": "Sites",
        "networks": "Networks", "host": "Host", "asn": "AS", "as_org": "Network operator",
        "company_name": "Company", "seat": "Seat", "parent": "Parent company",
        "ultimate_parent": "Ultimate parent", "chain": "Ownership chain",
        "us_jurisdiction": "US jurisdiction", "recipient": "Recipient of the data", "dpf": "EU-US Data Privacy Framework", "checked_on": "checked on",
        "share": "Share of sites", "interval": "95% interval", "slices": "By rank and country domain",
        "embedded_share": "embedded on {share} of sites, of which loaded without a consent gate on {without}",
        "embedded_note": "Embedded counts every way a page embeds it: loaded directly, behind a consent gate, "
                         "as encoded embed code, configured in the page's script, or only a connection hint. "
                         "Loaded without a consent gate: the page loads the service directly or through a script "
                         "that runs on load.",
        "unclaimed_title": "Third-party domains not yet in the catalog",
        "unclaimed_note": "Other companies' domains that sites embed but no catalog entry attributes to a service "
                          "yet (the site's own and its publisher's domains left out).",
        "domain": "Domain", "company_known": "Company",
        "slice": "Slice", "trend": "Trend since the previous run", "no_trend": "no previous run",
        "run": "Run", "run_date": "Run date", "dpf_snapshot": "DPF list as of", "as_of": "As of",
        "catalog_as_of": "Catalog entry as of", "services": "Services", "category": "Category",
        "consent_short": "Consent", "service": "Service", "index_title": "Service directory",
        "methodology": "Methodology", "index": "Overview", "yes": "yes", "no": "no", "likely": "likely",
        "true": "yes", "false": "no", "changes": "Changes since the previous run", "no_changes": "no changes",
        "reach": "Reach", "company_services": "Services of the company", "facts": "Facts",
        "sort_hint": "Click a column header (or focus it and press Enter) to sort", "sort_by": "Sort by {column}",
        "language": "Language", "skip": "Skip to content",
        "movement_new": "new", "movement_gone": "no longer seen", "movement_up": "up",
        "movement_down": "down", "movement_stable": "stable (within the interval)",
        "new_server_countries": "New server countries", "dpf_changed": "DPF status changed",
        "policy": "Named in privacy policies", "policy_named": "service named",
        "policy_company_only": "only the company named", "policy_not_mentioned": "not mentioned",
        "policy_self_hosted": "self-hosted, not named",
        "policy_basis": "of {n} sites whose privacy or cookie policy was read",
        "policy_basis_one": "of 1 site whose privacy or cookie policy was read",
        "policy_no_text": "For {n} sites no privacy policy was among the crawled pages.",
        "policy_no_text_one": "For 1 site no privacy policy was among the crawled pages.",
        "policy_self_hosted_service": "Runs on the site's own servers: no third party the policy would have to "
                                      "name ({named} of {n} policies name it anyway).",
        "policy_note": "A search for the service's name and aliases in the privacy policy text (ignoring hyphens, "
                       "and case except for one-word names such as \"Hotjar\"): an indicator for the Art. 13 GDPR "
                       "information duty, not a legal assessment.",
    },
}

REASONS: dict[str, dict[str, str]] = {
    "de": {
        "C1": "Nicht notwendige Speicherung oder Zugriff auf dem Endgerät (Cookie, localStorage, Fingerprinting)",
        "C2": "Drittanbieter-Anfrage mit dauerhafter Kennung oder Zählpixel",
        "C3": "Zweck ist Werbung, Profilbildung, Sitzungsaufzeichnung, Social Plugin oder websiteübergreifende Analyse",
        "C4": "Anfrage an ein Unternehmen außerhalb des EWR, obwohl Selbst-Hosting möglich ist (vorsichtiger Hinweis)",
    },
    "en": {
        "C1": "Non-essential storage or access on the terminal (cookie, localStorage, fingerprinting)",
        "C2": "Third-party request carrying a persistent identifier or pixel",
        "C3": "Purpose is advertising, profiling, session replay, a social plugin or cross-site analytics",
        "C4": "Request to a non-EEA-controlled company where a self-host option exists (conservative flag)",
    },
}

STATIC: dict[str, dict[str, str]] = {
    "de": {
        "ip": "Beachte, dass die IP-Adresse generell ein personenbezogenes Datum darstellt. Falls du verhindern "
              "willst, dass personenbezogene Daten übermittelt werden, musst du immer dafür sorgen, dass die "
              "IP-Adresse verschleiert wird.",
        "location": "Solange nicht klar ist, ob bzw. dass Daten von einem sicheren Server-Standort aus erhoben "
                    "werden, ist die Vereinbarkeit mit der DSGVO schwierig.",
        "company": "Bei amerikanischen Unternehmen und deren Töchtern ist zusätzlich zu berücksichtigen, dass "
                   "Daten, die von Töchtern erhoben werden, auch in die USA weitergeleitet und dort verarbeitet "
                   "werden können. Auch eine Teilnahme am Data Privacy Framework (DPF) heißt nicht, dass jeder "
                   "Dienst des Unternehmens unbedenklich zu nutzen ist – erst recht nicht ohne Einwilligung.",
    },
    "en": {
        "ip": "Note that an IP address is generally personal data. If you want to prevent personal data from "
              "being transmitted, you must always make sure the IP address is masked.",
        "location": "As long as it is not clear whether data is collected from a safe server location, "
                    "compatibility with the GDPR is difficult.",
        "company": "For US companies and their subsidiaries, also consider that data collected by a subsidiary "
                   "may be forwarded to and processed in the US. Participation in the Data Privacy Framework "
                   "(DPF) does not mean every service of the company is safe to use, let alone without consent.",
    },
}

CONCLUSION: dict[str, dict[str, str]] = {
    "de": {
        "yes": "{name} ist nach dieser Auswertung einwilligungspflichtig ({reasons}); Risikostufe {band}.",
        "likely": "{name} ist wahrscheinlich einwilligungspflichtig ({reasons}); Risikostufe {band}. "
                  "Die offenen Punkte unter „Zu prüfen“ entscheiden.",
        "no": "{name} ist nach dieser Auswertung nicht einwilligungspflichtig; Risikostufe {band}. "
              "Die Punkte unter „Zu prüfen“ bleiben zu belegen.",
        "none": "Für {name} liegt keine Einstufung vor; Einwilligungspflicht und Risiko sind unbekannt.",
        "us": " Das Unternehmen unterliegt (über die Konzernkette) US-Recht; DPF-Status: {dpf}.",
        "where": " Gemessene Server-Länder: {countries}.",
    },
    "en": {
        "yes": "By this assessment {name} requires consent ({reasons}); risk band {band}.",
        "likely": "{name} likely requires consent ({reasons}); risk band {band}. The open \"to check\" "
                  "items decide.",
        "no": "By this assessment {name} does not require consent; risk band {band}. The \"to check\" items "
              "still need proof.",
        "none": "There is no rating for {name}; whether consent is required and the risk are unknown.",
        "us": " The company is subject to US jurisdiction (through its ownership chain); DPF status: {dpf}.",
        "where": " Measured server countries: {countries}.",
    },
}

BANDS = {"de": {"low": "niedrig", "medium": "mittel", "high": "hoch", "very_high": "sehr hoch"},
         "en": {"low": "low", "medium": "medium", "high": "high", "very_high": "very high"}}


def label(lang: str, key: str, **kw: str) -> str:
    """The label ``key`` in ``lang`` (falls back to the key itself), formatted with ``kw``."""
    text = LABELS.get(lang, LABELS["de"]).get(key, key)
    return text.format(**kw) if kw else text


def percent(value: float, lang: str, digits: int = 1) -> str:
    """A share (0..1) as a percentage in ``lang``'s style: "68,2 %" in German, "68.2 %" in English."""
    text = f"{value * 100:.{digits}f}"
    return (text.replace(".", ",") if lang == "de" else text) + " %"


# One-sentence page descriptions (HTML meta description, Markdown front matter ``description``)
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "de": {
        "service": "{name}: Einwilligungspflicht ({consent}), Risikostufe ({band}), Server-Standorte, "
                   "Unternehmen und Verbreitung auf {share} der untersuchten Websites (Lauf vom {date}).",
        "company": "{name}: Sitz, Konzernkette, US-Rechtsordnung, DPF-Status und Dienste des Unternehmens "
                   "(Lauf vom {date}).",
        "index": "Verzeichnis der auf deutschen Websites gefundenen Drittanbieter-Dienste mit Verbreitung, "
                 "Einwilligungspflicht und Risikostufe (Lauf vom {date}).",
        "methodology": "Wie servicerisk Einwilligungspflicht und Risiko von Drittanbieter-Diensten einstuft: "
                       "Faktoren, Gründe, Belegstärke und Quellen.",
    },
    "en": {
        "service": "{name}: consent requirement ({consent}), risk band ({band}), server locations, company and "
                   "prevalence on {share} of the sites studied (run of {date}).",
        "company": "{name}: seat, ownership chain, US jurisdiction, DPF status and the company's services "
                   "(run of {date}).",
        "index": "Directory of the third-party services found on German websites, with prevalence, consent "
                 "requirement and risk band (run of {date}).",
        "methodology": "How servicerisk rates the consent requirement and risk of third-party services: factors, "
                       "reasons, confidence and sources.",
    },
}

# the other language's name, in that language (the language switch)
LANG_NAMES = {"de": "Deutsch", "en": "English"}
