"""Print consent verdicts, scores and top reasons as a table: assessments (``servicerisk risk``) or the
warehouse's ``service_risk`` mart (``make demo``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table

from pipelines.risk.model import (
    DISCLAIMER,
    Assessment,
)


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


def warehouse_verdicts(con, service_ids: Iterable[str], console: Console, *, lang: str = "en") -> list[dict]:
    """Print the newest run's verdicts of ``service_ids`` from the warehouse's ``service_risk`` mart (the table
    analysts, the KB and the scan read, so the demo console shows the same score, band and confidence), with
    the recipient of the data and its DPF status, then the disclaimer. Returns the rows printed."""
    from pipelines.warehouse.sqlfiles import sql_rows

    wanted = list(dict.fromkeys(service_ids))
    rows = {r["service_id"]: r for r in sql_rows(con, "pipelines.publish", "verdicts")}
    t = Table(title="consent verdicts and risk scores (indicator, not legal advice)")
    for col, just in (("service", "left"), ("consent", "left"), ("reasons", "left"), ("score", "right"),
                      ("band", "left"), ("confidence", "left"), ("recipient (DPF)", "left")):
        t.add_column(col, justify=just, overflow="fold")
    shown = []
    for sid in wanted:
        r = rows.get(sid)
        if r is None:
            continue
        recipient = f"{r['recipient_name']} ({r['recipient_country']}, {r['recipient_dpf_status']})" \
            if r.get("recipient_name") else "-"
        t.add_row(f"{r['name']} ({sid})", r["consent_required"], ",".join(r["reasons"] or []) or "-",
                  str(r["risk_score"]), (r["band"] or "").replace("_", " "), r["confidence"], recipient)
        shown.append(r)
    console.print(t)
    console.print(DISCLAIMER.get(lang, DISCLAIMER["en"]), soft_wrap=True)
    return shown
