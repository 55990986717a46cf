-- grain: one row per run and company that (directly or through a subsidiary) receives requests from sites;
-- reach = share of ok sites sending requests to the company or any of its subsidiaries (webXray-style);
-- seat and DPF status as the run's assessment saw them (_run_companies: effective status on the run's date)
CREATE OR REPLACE TABLE companies_all AS
WITH site_company AS (
    SELECT DISTINCT ss.run_id, ss.site_input, unnest(c.parent_chain) AS company_id
    FROM site_services_all ss
    JOIN sites_all s ON s.run_id = ss.run_id AND s.site_input = ss.site_input AND s.outcome = 'ok'
    JOIN _services sv ON sv.service_id = ss.service_id
    JOIN _companies c ON c.company_id = sv.company_id
    WHERE sv.company_id <> 'site-operator'
), totals AS (
    SELECT run_id, count(*) AS sites_total FROM sites_all WHERE outcome = 'ok' GROUP BY run_id
)
SELECT
    sc.run_id,
    sc.company_id,
    coalesce(rc.name, c.name) AS name,
    coalesce(rc.country, c.country) AS country,
    rc.city,
    c.parent_id,
    c.ultimate_parent_id,
    c.ultimate_parent_country,
    c.parent_chain,
    c.us_jurisdiction,
    rc.recipient_id,
    coalesce(rc.dpf_status, 'unknown') AS dpf_status,
    rc.dpf_checked_on,
    rc.dpf_source,
    count(*) AS sites,
    t.sites_total,
    count(*) / max(t.sites_total) AS reach
FROM site_company sc
JOIN _companies c USING (company_id)
LEFT JOIN _run_companies rc ON rc.run_id = sc.run_id AND rc.company_id = sc.company_id
JOIN totals t ON t.run_id = sc.run_id
GROUP BY ALL
ORDER BY sc.run_id, sites DESC, sc.company_id;
CREATE OR REPLACE VIEW companies AS
SELECT * FROM companies_all WHERE run_id = (SELECT run_id FROM int_latest_run);
