-- grain: one row per run, site and detected service: how the site's privacy or cookie policy text names it
-- (computed at build time by pipelines/warehouse/policy.py)
CREATE OR REPLACE VIEW stg_policy_coverage AS
SELECT run_id, input_domain, service_id, status, term, page_url, excerpt
FROM policy_coverage;
