-- What the risk model reads per run, site and detected service (pipelines/warehouse/risk.py), by consent pass.
-- "Before consent" evidence is the browser's pre-consent load where the site had one without error, else the
-- static HTML (a static crawl: nothing was clicked). An accept / reject pass counts as such only when
-- autoconsent actually clicked the banner button; an unclicked pass is one more load before consent. The GPC
-- pass loads the home page only, so only home-page loads are compared with it. Static evidence that the page holds
-- back for consent or keeps encoded (embedding gated / encoded) is embedded but not loaded before consent.
WITH d AS (
    SELECT d.run_id, d.input_domain, d.service_id, d.page_url, nullif(d.host, '') AS host, d.kind, d.evidence,
           coalesce(d.method, 'static') AS method, coalesce(d.consent_state, 'none') AS cs,
           coalesce(d.signal, 'none') AS sig, coalesce(d.embedding, 'direct') IN ('gated', 'encoded') AS held
    FROM detections d
    JOIN _runs r USING (run_id)
    WHERE r.kind IN (SELECT kind FROM _dataset_kinds)
),
p AS (
    SELECT run_id, input_domain,
           bool_or(coalesce(method, 'static') = 'browser' AND coalesce(consent_state, 'none') = 'none'
                   AND coalesce(signal, 'none') = 'none' AND error_class IS NULL) AS browser_pre,
           bool_or(coalesce(method, 'static') = 'browser' AND coalesce(signal, 'none') = 'gpc'
                   AND error_class IS NULL) AS browser_gpc,
           bool_or(consent_state = 'accept' AND consent_result = 'clicked' AND error_class IS NULL) AS accept_clicked,
           bool_or(consent_state = 'reject' AND consent_result = 'clicked' AND error_class IS NULL) AS reject_clicked
    FROM raw_pages
    GROUP BY ALL
),
home AS (
    SELECT DISTINCT run_id, input_domain, url AS page_url FROM raw_pages WHERE page_kind = 'home'
),
e AS (
    SELECT d.*, coalesce(p.browser_pre, false) AS browser_pre, coalesce(p.browser_gpc, false) AS browser_gpc,
           d.sig = 'none' AND (d.method = 'browser' OR (NOT coalesce(p.browser_pre, false) AND NOT d.held))
               AND (d.cs = 'none' OR (d.cs = 'accept' AND NOT coalesce(p.accept_clicked, false))
                    OR (d.cs = 'reject' AND NOT coalesce(p.reject_clicked, false))) AS pre,
           d.method = 'browser' AND d.cs = 'accept' AND coalesce(p.accept_clicked, false) AS accepted,
           d.method = 'browser' AND d.cs = 'reject' AND coalesce(p.reject_clicked, false) AS rejected,
           h.page_url IS NOT NULL AS on_home
    FROM d
    LEFT JOIN p USING (run_id, input_domain)
    LEFT JOIN home h USING (run_id, input_domain, page_url)
)
SELECT run_id, input_domain, service_id, any_value(browser_pre) AS browser_pre,
       bool_or(pre) AS pre_seen,
       bool_or(rejected) AS reject_seen,
       bool_or(accepted) AS accept_seen,
       -- GPC tested: the site's GPC pass loaded, and the service loaded on the home page before consent without
       -- GPC (the GPC pass loads the home page only)
       CASE WHEN any_value(browser_gpc) AND bool_or(pre AND method = 'browser' AND cs = 'none' AND on_home)
            THEN NOT bool_or(method = 'browser' AND sig = 'gpc') END AS dnt_honoured,
       coalesce(list_sort(list_distinct(list(host) FILTER (WHERE pre AND host IS NOT NULL))), []) AS pre_hosts,
       coalesce(list_sort(list_distinct(list(evidence) FILTER (WHERE pre AND kind = 'cookie'))), []) AS pre_cookies,
       -- of those, the ones a browser's cookie jar showed (a failed pre-consent load's partial cookies stand in
       -- as "before consent" beside the static Set-Cookie headers; the evidence label must say which)
       coalesce(list_sort(list_distinct(list(evidence) FILTER (WHERE pre AND kind = 'cookie' AND method = 'browser'))),
                []) AS pre_jar_cookies,
       coalesce(list_sort(list_distinct(list(host) FILTER (WHERE rejected AND host IS NOT NULL))), [])
           AS reject_hosts,
       coalesce(list_sort(list_distinct(list(evidence) FILTER (WHERE rejected AND kind = 'cookie'))), [])
           AS reject_cookies,
       coalesce(list_sort(list_distinct(list(host) FILTER (WHERE host IS NOT NULL))), []) AS any_hosts,
       coalesce(list_sort(list_distinct(list(evidence) FILTER (WHERE kind = 'cookie'))), []) AS any_cookies
FROM e
GROUP BY run_id, input_domain, service_id
ORDER BY 1, 2, 3
