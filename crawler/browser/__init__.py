"""Browser mode: a headless Chromium visit per site (session), its observation, the
consent passes, the private-address guard proxy and the Scrapy spider."""
