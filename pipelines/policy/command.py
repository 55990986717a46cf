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
    from pipelines.catalog.longtail import catalog_with_long_tail
    from pipelines.policy.blocks import NothingToDraft, PolicyInputError, policy_request, write_blocks

    try:
        request = policy_request(out_dir, domain=domain, scan_id=scan_id, services=services)
        catalog, _ = catalog_with_long_tail()
        written = write_blocks(catalog, request.service_ids, request.folder, langs=langs or LANGS,
                               **request.options())
    except NothingToDraft as e:
        fail(str(e), exits.FAILED)
    except PolicyInputError as e:
        fail(str(e))
    folder = request.folder
    for lang, files in written.files.items():
        click.echo(f"{len(files)} draft block(s) ({lang}) in {(folder / lang).resolve()}")
