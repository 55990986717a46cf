-- grain: one row per host per enriched run (DNS answer, locations, network)
CREATE OR REPLACE VIEW stg_hosts AS
SELECT run_id, host, registrable_domain, third_party, first_party, site_host, sites, service_id, dns_outcome,
       dns_detail, cname_chain, cname_depth, canonical_name, countries, asns, as_orgs, location_confidence,
       location_note, cloaked, resolver, vantage, resolved_at
FROM enr_hosts;
