"""The command line's exit codes, each with its meaning (README and docs/crawl-tables.md list them; a test
checks that both do)."""

from __future__ import annotations

OK = 0
FAILED = 1  # the command could not do its job: a run that did not finish, failed assertions, a broken pipeline
USAGE = 2  # bad input: flags, domain lists, domains, SQL; also a resume that would change the run's settings
UNREACHABLE = 3  # scan: the site could not be reached (the report says why)
FEW_ANSWERED = 4  # crawl/run: the run is sealed, but fewer than 10 % of its sites answered (none, often)
NO_DNS = 5  # scan: every DNS lookup of the scan failed (no working resolver): server locations are unknown
INTERRUPTED = 130  # crawl/run: stopped by Ctrl-C (SIGINT) before the end; the message gives the resume command

#: code -> what it means, for the docs
MEANINGS: dict[int, str] = {
    OK: "success",
    FAILED: "the command could not do its job (a run did not finish, assertions failed, a stage broke)",
    USAGE: "bad input (flags, domain list, domain, SQL), or a resume with settings other than the run's",
    UNREACHABLE: "scan: the site could not be reached; the report says why",
    FEW_ANSWERED: "crawl/run: sealed, but fewer than 10 % of the sites answered (network, proxy or resolver?)",
    NO_DNS: "scan: every DNS lookup failed (no working resolver); server locations are unknown",
    INTERRUPTED: "crawl/run: interrupted (Ctrl-C); the message gives the exact resume command",
}
