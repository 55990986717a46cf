-- grain: one row per run, site and first-party subdomain whose CNAME chain reaches a tracker
CREATE OR REPLACE TABLE cloaking_all AS
SELECT
    c.run_id,
    site,
    c.host,
    target AS cname_target,
    target_domain AS tracker_domain,
    tracker,
    coalesce(hs.service_id, c.service_id) AS service_id,
    depth AS cname_depth,
    matched_by,
    source,
    TRY_CAST(c.as_of AS DATE) AS as_of  -- the rule's as-of date (text in the run table)
FROM enr_cloaking c
LEFT JOIN _host_services hs ON hs.run_id = c.run_id AND hs.host = c.target
ORDER BY run_id, site, host;
CREATE OR REPLACE VIEW cloaking AS
SELECT * FROM cloaking_all WHERE run_id = (SELECT run_id FROM int_latest_run);
