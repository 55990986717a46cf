-- What the risk model reads per run, site and detected service (pipelines/warehouse/risk.py), by consent pass.
-- "Before consent" evidence is the browser's pre-consent load where the site had one without error, else the
-- static HTML (a static crawl: nothing was clicked). Reject / accept passes and the GPC pass are kept apart,
-- so a service that loads only after "accept" is never scored as loading before consent.
WITH d AS (
    SELECT d.run_id, d.input_domain, d.service_id, nullif(d.host, '') AS host, d.kind, d.evidence,
           coalesce(d.method, 'static') AS method, coalesce(d.consent_state, 'none') AS cs,
           coalesce(d.signal, 'none') AS sig
    FROM detections d
    JOIN _runs r USING (run_id)
    WHERE r.kind IN (SELECT kind FROM _dataset_kinds)
),
p AS (
    SELECT run_id, input_domain,
           bool_or(coalesce(method, 'static') = 'browser' AND coalesce(consent_state, 'none') = 'none'
                   AND coalesce(signal, 'none') = 'none' AND error_class IS NULL) AS browser_pre,
           bool_or(coalesce(method, 'static') = 'browser' AND coalesce(signal, 'none') = 'gpc'
                   AND error_class IS NULL) AS browser_gpc
    FROM raw_pages
    GROUP BY ALL
),
e AS (
    SELECT d.*, coalesce(p.browser_pre, false) AS browser_pre, coalesce(p.browser_gpc, false) AS browser_gpc,
           d.cs = 'none' AND d.sig = 'none' AND (d.method = 'browser' OR NOT coalesce(p.browser_pre, false)) AS pre
    FROM d
    LEFT JOIN p USING (run_id, input_domain)
)
SELECT run_id, input_domain, service_id, any_value(browser_pre) AS browser_pre,
       bool_or(pre) AS pre_seen,
       bool_or(method = 'browser' AND cs = 'reject') AS reject_seen,
       bool_or(method = 'browser' AND cs = 'accept') AS accept_seen,
       -- GPC tested: the site's GPC pass loaded, and the service loaded before consent without it
       CASE WHEN any_value(browser_gpc) AND bool_or(pre AND method = 'browser')
            THEN NOT bool_or(method = 'browser' AND sig = 'gpc') END AS dnt_honoured,
       coalesce(list_sort(list_distinct(list(host) FILTER (WHERE pre AND host IS NOT NULL))), []) AS pre_hosts,
       coalesce(list_sort(list_distinct(list(evidence) FILTER (WHERE pre AND kind = 'cookie'))), []) AS pre_cookies,
       coalesce(list_sort(list_distinct(list(host) FILTER (WHERE cs = 'reject' AND host IS NOT NULL))), [])
           AS reject_hosts,
       coalesce(list_sort(list_distinct(list(evidence) FILTER (WHERE cs = 'reject' AND kind = 'cookie'))), [])
           AS reject_cookies,
       coalesce(list_sort(list_distinct(list(host) FILTER (WHERE host IS NOT NULL))), []) AS any_hosts,
       coalesce(list_sort(list_distinct(list(evidence) FILTER (WHERE kind = 'cookie'))), []) AS any_cookies
FROM e
GROUP BY run_id, input_domain, service_id
ORDER BY 1, 2, 3
