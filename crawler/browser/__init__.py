"""Browser mode: a headless Chromium visit per site (session: the pool; visit: what a visit records; har, chromium),
its observation, the consent passes, the private-address guard proxy and the Scrapy spider."""
