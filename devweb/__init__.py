"""The offline demo web and its DNS: virtual sites behind a local HTTPS proxy, a DNS server with
zone files, ground truth; what `servicerisk demo` and the tests crawl. Nothing in the
pipeline stages imports it."""
