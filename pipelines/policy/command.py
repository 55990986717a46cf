"""``servicerisk policy``: draft privacy-policy blocks (Markdown and HTML, German and English) for the services
of a scanned site or for catalog services. Drafts, not legal advice; unknown facts are marked for the operator."""

from __future__ import annotations

import click

from pipelines import exits
from pipelines.clihelp import epilog, fail, out_option
from pipelines.publish.texts import LANGS

EXAMPLE = "servicerisk policy --out out/demo --services livechat,google-analytics-4"


@click.command("policy", epilog=epilog(EXAMPLE, "servicerisk policy --out out/demo baeckerei-schmidt.de"))
@click.argument("domain", required=False)
@out_option("Output folder: blocks go to OUT/policy/<lang>/ (catalog services) or OUT/policy/<domain>/<lang>/ "
            "(a scanned site); DOMAIN and --scan read OUT/scans/.")
@click.option("--lang", "langs", type=click.Choice(LANGS), multiple=True,
              help="Language of the blocks (repeatable; default: German and English).")
@click.option("--scan", "scan_id", default=None, metavar="RUN_ID", help="The services one scan found (OUT/scans/RUN_ID).")
@click.option("--services", default=None, metavar="ID,ID", help="Catalog service ids, comma-separated.")
def policy(domain, out_dir, langs, scan_id, services):
    """Write a draft section of a website's privacy policy for each service: provider and address, EEA
    contracting entity, purpose, legal basis (consent under Art. 6(1)(a) GDPR and § 25(1) TDDDG, or Art. 6(1)(f)
    GDPR with the interest), data categories, cookies with lifetimes, recipients and third-country transfer (DPF or
    standard contractual clauses), retention and objection. DOMAIN takes the newest scan of that site in OUT,
    --scan a scan run, --services catalog ids. Drafts, not legal advice: unknown facts are marked in square
    brackets with what to ask the vendor."""
    from common.runfolder import check_run_id
    from crawler.domains import InvalidDomain, normalise_domain
    from pipelines.catalog.longtail import catalog_with_long_tail
    from pipelines.policy.blocks import (
        PolicyInputError,
        newest_scan,
        read_scan,
        scan_day,
        scan_verdicts,
        write_blocks,
    )

    if sum(x is not None for x in (domain, scan_id, services)) != 1:
        fail("give exactly one of DOMAIN, --scan RUN_ID or --services ID,ID")
    langs = langs or LANGS
    catalog, _ = catalog_with_long_tail()
    try:
        if services is not None:
            ids = [s.strip() for s in services.split(",") if s.strip()]
            if not ids:
                fail("--services: no service id given")
            folder, kwargs = out_dir / "policy", {}
        else:
            if domain is not None:
                try:
                    site = normalise_domain(domain)
                except InvalidDomain as e:
                    fail(f"{domain!r} is not a domain: {e}")
                scan_id = newest_scan(out_dir, site)
            try:
                check_run_id(scan_id)
            except ValueError as e:
                fail(f"--scan: {e}")
            report = read_scan(out_dir, scan_id)
            ids = [s["service_id"] for s in report.get("services") or []]
            if not ids:
                fail(f"scan {scan_id} of {report.get('domain')} found no services", exits.FAILED)
            folder = out_dir / "policy" / report["domain"]
            kwargs = {"verdicts": scan_verdicts(report), "day": scan_day(report)}
        written = write_blocks(catalog, ids, folder, langs=langs, **kwargs)
    except PolicyInputError as e:
        fail(str(e))
    for lang, files in written.files.items():
        click.echo(f"{len(files)} draft block(s) ({lang}) in {(folder / lang).resolve()}")
