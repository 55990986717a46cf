-- grain: one row per run and host (every third-party host and first-party subdomain of the run's pages);
-- service_id from the build's one attribution (_host_services), as every other mart
CREATE OR REPLACE TABLE hosts_all AS
SELECT
    h.run_id,
    h.host,
    h.registrable_domain,
    CASE WHEN h.third_party THEN 'third' ELSE 'first' END AS party,
    h.sites,
    hs.service_id,
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
LEFT JOIN _host_services hs ON hs.run_id = h.run_id AND hs.host = h.host
LEFT JOIN (
    SELECT run_id, host, list_sort(list_distinct(list(ip))) AS ips FROM enr_host_addresses GROUP BY ALL
) a ON a.run_id = h.run_id AND a.host = h.host
ORDER BY h.run_id, h.host;
CREATE OR REPLACE VIEW hosts AS
SELECT * FROM hosts_all WHERE run_id = (SELECT run_id FROM int_latest_run);
