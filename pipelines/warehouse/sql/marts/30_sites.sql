-- grain: one row per input domain per run
CREATE OR REPLACE TABLE sites_all AS
SELECT
    s.run_id,
    s.input_domain AS site_input,
    s.site,
    s.rank,
    s.rank_bucket,
    s.cctld,
    s.outcome,
    s.error_class,
    s.final_url,
    s.cross_site_redirect,
    s.pages_ok,
    s.pages_failed,
    coalesce(h.third_party_hosts, 0) AS third_party_hosts,
    coalesce(v.services, 0) AS services
FROM stg_sites s
JOIN stg_runs USING (run_id)
LEFT JOIN (
    SELECT run_id, input_domain, count(*) FILTER (WHERE party = 'third') AS third_party_hosts
    FROM int_site_hosts GROUP BY ALL
) h USING (run_id, input_domain)
LEFT JOIN (
    SELECT run_id, input_domain, count(DISTINCT service_id) AS services FROM stg_detections GROUP BY ALL
) v USING (run_id, input_domain)
ORDER BY run_id, site_input;
CREATE OR REPLACE VIEW sites AS
SELECT * FROM sites_all WHERE run_id = (SELECT run_id FROM int_latest_run);
