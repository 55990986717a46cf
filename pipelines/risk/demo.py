"""Print consent verdicts, scores and top reasons as a table (``make demo``, ``servicerisk risk``), and read
the enrichment's per-host server locations so the demo can score measured locations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipelines.risk.model import (
    DISCLAIMER,
    Assessment,
    RiskContext,
    SiteServiceObservation,
    assess_service,
    load_context,
)
from pipelines.risk.transfer import LOCATION_CONFIDENCES, HostLocation


def host_locations(enriched_dir: str | Path) -> dict[str, tuple[HostLocation, ...]]:
    """service id -> the locations of its third-party hosts, from ``<enriched_dir>/hosts`` (the enrichment's
    Parquet table: ``host``, ``service_id``, ``countries``, ``location_confidence``). Hosts without a service
    id are skipped. Returns {} when the table does not exist."""
    import pyarrow.parquet as pq

    path = Path(enriched_dir) / "hosts"
    if not path.exists():
        return {}
    cols = ["host", "service_id", "countries", "location_confidence", "third_party"]
    table = pq.read_table(path, columns=cols)
    out: dict[str, list[HostLocation]] = {}
    for row in table.to_pylist():
        if not row["service_id"] or not row["third_party"]:
            continue
        conf = row["location_confidence"] if row["location_confidence"] in LOCATION_CONFIDENCES else "unknown"
        countries = frozenset(row["countries"] or ())
        out.setdefault(row["service_id"], []).append(
            HostLocation(row["host"], countries, conf, f"{row['host']}: {','.join(sorted(countries)) or '-'} ({conf})"))
    return {sid: tuple(locs) for sid, locs in out.items()}


def print_verdicts(assessments: Sequence[Assessment], console: Console, *, lang: str = "en", top: int = 3,
                   explain: bool = False) -> None:
    """One table row per assessment (service, verdict, reason codes, score, band, confidence, top reasons),
    then the not-legal-advice note in ``lang``. ``explain`` adds every evidence line and the to-check list."""
    t = Table(title="consent verdicts and risk scores (indicator, not legal advice)")
    for col, just in (("service", "left"), ("consent", "left"), ("reasons", "left"), ("score", "right"),
                      ("band", "left"), ("confidence", "left"), ("top factors", "left")):
        t.add_column(col, justify=just, overflow="fold")
    for a in assessments:
        t.add_row(f"{a.service_name} ({a.service_id})", a.consent_required, ",".join(a.reason_codes) or "-",
                  str(a.risk_score), a.band.replace("_", " "), a.confidence, "; ".join(a.top_reasons(top)))
    console.print(t)
    if explain:
        for a in assessments:
            console.print(f"\n[bold]{a.service_name}[/bold] ({a.service_id}), as of {a.as_of}: consent "
                          f"{a.consent_required} ({a.verdict_basis}); score {a.risk_score} ({a.band})", soft_wrap=True)
            for f in a.factors:
                console.print(f"  {f.line()}", soft_wrap=True, markup=False)
            for r in a.reasons:
                console.print(f"  {r.code} {r.state}: {r.evidence}", soft_wrap=True, markup=False)
            for item in a.to_check:
                console.print(f"  to check: {item}", soft_wrap=True, markup=False)
    console.print(DISCLAIMER.get(lang, DISCLAIMER["en"]), soft_wrap=True)


def demo_verdicts(service_ids: Iterable[str], *, observations: Sequence[SiteServiceObservation] = (),
                  locations: Mapping[str, Sequence[HostLocation]] | None = None, enriched_dir: str | Path | None = None,
                  ctx: RiskContext | None = None, as_of: date | None = None, console: Console | None = None,
                  lang: str = "en", top: int = 3) -> list[Assessment]:
    """Assess and print each service in ``service_ids`` (unknown ids are skipped, e.g. long-tail ``tpw-*`` ids
    when the long tail is not loaded): consent verdict, reason codes, score, band, confidence, top ``top``
    reasons, then the disclaimer.

    ``observations`` (site × service, from the warehouse) and ``locations`` (service id -> host locations) or
    ``enriched_dir`` (read with :func:`host_locations`) raise the catalog baseline with what the crawl measured.
    ``ctx`` defaults to :func:`load_context` on ``data/`` for ``as_of`` (default today). Returns the assessments
    in input order.
    """
    ctx = ctx or load_context(as_of=as_of)
    if locations is None:
        locations = host_locations(enriched_dir) if enriched_dir is not None else {}
    results = []
    for sid in dict.fromkeys(service_ids):
        if sid not in ctx.catalog.by_id:
            continue
        results.append(assess_service(sid, ctx, [o for o in observations if o.service_id == sid],
                                      locations=locations.get(sid, ())))
    print_verdicts(results, console or Console(), lang=lang, top=top)
    return results
