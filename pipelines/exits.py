"""The command line's exit codes, each with its meaning (`servicerisk --help` prints them; README and
docs/crawl-tables.md list them; tests check all three)."""

from __future__ import annotations

OK = 0
FAILED = 1
USAGE = 2
UNREACHABLE = 3
FEW_ANSWERED = 4
NO_DNS = 5
INTERRUPTED = 130

#: code -> what it means (the one statement of it; the README and docs/crawl-tables.md tables follow it)
MEANINGS: dict[int, str] = {
    OK: "success",
    FAILED: "the command could not do its job (a run did not finish, assertions failed, a stage broke)",
    USAGE: "bad input (flags, domain list, domain, SQL), or a resume with settings other than the run's",
    UNREACHABLE: "scan: the site could not be reached; the report says why",
    FEW_ANSWERED: "crawl/run: sealed, but fewer than 10 % of the sites answered (network, proxy or resolver?)",
    NO_DNS: "scan: every DNS lookup failed (no working resolver); server locations are unknown",
    INTERRUPTED: "crawl/run: interrupted (Ctrl-C); the message gives the exact resume command",
}
