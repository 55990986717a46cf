-- grain: one row per run, site and host its pages reference; party first/third by registrable domain
CREATE OR REPLACE TABLE site_hosts_all AS
SELECT run_id, input_domain AS site_input, site, host, registrable_domain, party, refs AS "references", pages, only_gated,
       elements
FROM int_site_hosts
ORDER BY run_id, site_input, host;
CREATE OR REPLACE VIEW site_hosts AS
SELECT * FROM site_hosts_all WHERE run_id = (SELECT run_id FROM int_latest_run);
