-- grain: one row per run, browser-crawled site and detected service: when the service loads (before consent,
-- after accept, after reject, with GPC) and whether static HTML showed it at all. A column is NULL when the
-- site was not loaded in that state (the pass was not crawled or failed, or no banner button was clicked).
CREATE OR REPLACE TABLE site_service_consent_all AS
WITH passes AS (
    SELECT
        run_id,
        input_domain,
        bool_or(consent_state = 'none' AND signal = 'none' AND error_class IS NULL) AS has_pre,
        bool_or(consent_state = 'accept' AND error_class IS NULL AND consent_result = 'clicked') AS has_accept,
        bool_or(consent_state = 'reject' AND error_class IS NULL AND consent_result = 'clicked') AS has_reject,
        bool_or(signal = 'gpc' AND error_class IS NULL) AS has_gpc,
        any_value(cmp) FILTER (WHERE consent_state = 'none' AND signal = 'none' AND page_kind = 'home') AS cmp,
        any_value(consent_result) FILTER (WHERE consent_state = 'accept') AS accept_result,
        any_value(consent_result) FILTER (WHERE consent_state = 'reject') AS reject_result
    FROM stg_pages
    WHERE method = 'browser'
    GROUP BY run_id, input_domain
),
seen AS (
    SELECT
        run_id,
        input_domain,
        any_value(site) AS site,
        service_id,
        bool_or(method = 'static') AS static_seen,
        bool_or(method = 'browser') AS browser_seen,
        bool_or(method = 'browser' AND consent_state = 'none' AND signal = 'none') AS pre,
        bool_or(method = 'browser' AND consent_state = 'accept') AS acc,
        bool_or(method = 'browser' AND consent_state = 'reject') AS rej,
        bool_or(method = 'browser' AND signal = 'gpc') AS gpc
    FROM stg_detections
    GROUP BY run_id, input_domain, service_id
)
SELECT
    s.run_id,
    s.input_domain AS site_input,
    s.site,
    s.service_id,
    p.cmp,
    CASE WHEN p.has_pre THEN s.pre END AS fires_before_consent,
    CASE WHEN p.has_accept THEN s.acc END AS fires_after_accept,
    CASE WHEN p.has_reject THEN s.rej END AS fires_after_reject,
    CASE WHEN p.has_gpc THEN s.gpc END AS fires_with_gpc,
    s.static_seen,
    s.browser_seen,
    s.browser_seen AND NOT s.static_seen AS browser_only,
    p.accept_result,
    p.reject_result
FROM seen s
JOIN passes p USING (run_id, input_domain)
ORDER BY run_id, site_input, service_id;
CREATE OR REPLACE VIEW site_service_consent AS
SELECT * FROM site_service_consent_all WHERE run_id = (SELECT run_id FROM int_latest_run);

-- grain: one row per run and service seen in browser mode: on how many browser-crawled sites it loads before
-- consent, despite a reject, despite GPC, and only in the browser
CREATE OR REPLACE TABLE service_consent_all AS
SELECT
    run_id,
    service_id,
    count(*) AS browser_sites,
    count(*) FILTER (WHERE fires_before_consent) AS sites_before_consent,
    count(*) FILTER (WHERE fires_after_reject) AS sites_after_reject,
    count(*) FILTER (WHERE fires_with_gpc) AS sites_with_gpc,
    count(*) FILTER (WHERE browser_only) AS sites_browser_only,
    round(count(*) FILTER (WHERE fires_before_consent) / count(*), 4) AS share_before_consent
FROM site_service_consent_all
WHERE browser_seen
GROUP BY run_id, service_id
ORDER BY run_id, sites_before_consent DESC, service_id;
CREATE OR REPLACE VIEW service_consent AS
SELECT * FROM service_consent_all WHERE run_id = (SELECT run_id FROM int_latest_run);
