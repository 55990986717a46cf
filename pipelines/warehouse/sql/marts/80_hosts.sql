-- grain: one row per run and host (every third-party host and first-party subdomain of the run's pages)
CREATE OR REPLACE TABLE hosts_all AS
SELECT
    h.run_id,
    h.host,
    h.registrable_domain,
    CASE WHEN h.third_party THEN 'third' ELSE 'first' END AS party,
    h.sites,
    h.service_id,
    h.dns_outcome AS dns_status,
    h.cname_chain,
    coalesce(a.ips, []) AS ips,
    h.countries,
    h.asns,
    h.as_orgs,
    h.location_confidence,
    h.cloaked,
    h.resolver,
    h.vantage,
    h.resolved_at
FROM stg_hosts h
LEFT JOIN (
    SELECT run_id, host, list_sort(list_distinct(list(ip))) AS ips FROM enr_host_addresses GROUP BY ALL
) a USING (run_id, host)
ORDER BY run_id, host;
CREATE OR REPLACE VIEW hosts AS
SELECT * FROM hosts_all WHERE run_id = (SELECT run_id FROM int_latest_run);
