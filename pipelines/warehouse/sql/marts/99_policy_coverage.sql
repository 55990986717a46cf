-- grain: one row per run, site and detected service: does the site's privacy policy name the service
-- (named), only its company or a parent (company_only), neither (not_mentioned; self_hosted when the service
-- runs on the site's own servers), or was no policy text fetched (no_policy)?
CREATE OR REPLACE TABLE site_service_policy_all AS
SELECT
    p.run_id,
    p.input_domain AS site_input,
    ss.site,
    p.service_id,
    p.status,
    p.term,
    p.page_url AS policy_url,
    p.excerpt
FROM stg_policy_coverage p
JOIN stg_runs USING (run_id)
JOIN site_services_all ss ON ss.run_id = p.run_id AND ss.site_input = p.input_domain AND ss.service_id = p.service_id
ORDER BY p.run_id, site_input, p.service_id;
CREATE OR REPLACE VIEW site_service_policy AS
SELECT * FROM site_service_policy_all WHERE run_id = (SELECT run_id FROM int_latest_run);

-- grain: one row per run and service: on how many of the sites embedding it (whose policy text was fetched)
-- the privacy policy names it; the shares are NULL for a service on the site's own servers (self_hosted_service:
-- no third party the policy would have to name)
CREATE OR REPLACE TABLE service_policy_all AS
WITH counts AS (
    SELECT
        p.run_id,
        p.service_id,
        coalesce(any_value(s.company_id) = 'site-operator', false) AS self_hosted_service,
        count(*) AS sites,
        count(*) FILTER (WHERE p.status <> 'no_policy') AS sites_with_policy,
        count(*) FILTER (WHERE p.status = 'named') AS sites_named,
        count(*) FILTER (WHERE p.status = 'company_only') AS sites_company_only,
        count(*) FILTER (WHERE p.status = 'not_mentioned') AS sites_not_mentioned,
        count(*) FILTER (WHERE p.status = 'self_hosted') AS sites_self_hosted
    FROM site_service_policy_all p
    LEFT JOIN _services s USING (service_id)
    GROUP BY p.run_id, p.service_id
), shares AS (
    SELECT
        *,
        CASE WHEN NOT self_hosted_service THEN sites_named / nullif(sites_with_policy, 0) END AS share_named,
        CASE WHEN NOT self_hosted_service THEN wilson_low(sites_named, sites_with_policy) END AS share_named_ci_low,
        CASE WHEN NOT self_hosted_service THEN wilson_high(sites_named, sites_with_policy) END AS share_named_ci_high,
        CASE WHEN NOT self_hosted_service
             THEN (sites_named + sites_company_only) / nullif(sites_with_policy, 0) END AS share_recipient_named
    FROM counts
), runs AS (
    SELECT run_id, prev_run_id FROM int_run_pairs
)
-- the change since the previous run of the same panel, flagged as for prevalence (service_trends, int_shares' share_movement)
SELECT
    c.*,
    r.prev_run_id,
    prev.share_named AS prev_share_named,
    CASE
        WHEN c.share_named IS NULL OR r.prev_run_id IS NULL THEN NULL
        WHEN prev.share_named IS NULL THEN 'new'
        ELSE share_movement(c.share_named, c.share_named_ci_low, c.share_named_ci_high, prev.share_named,
                            prev.share_named_ci_low, prev.share_named_ci_high)
    END AS named_movement
FROM shares c
JOIN runs r USING (run_id)
LEFT JOIN shares prev ON prev.run_id = r.prev_run_id AND prev.service_id = c.service_id
ORDER BY c.run_id, c.sites DESC, c.service_id;
CREATE OR REPLACE VIEW service_policy AS
SELECT * FROM service_policy_all WHERE run_id = (SELECT run_id FROM int_latest_run);
