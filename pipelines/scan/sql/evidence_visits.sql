-- evidence pack: the browser visits of the site (one HAR file each), and which services each one showed
SELECT p.url, p.consent_state, p.signal, p.fetched_at, p.page_kind,
       list(DISTINCT d.service_id ORDER BY d.service_id) FILTER (WHERE d.service_id IS NOT NULL) AS services,
       CASE p.consent_state WHEN 'none' THEN 0 WHEN 'accept' THEN 1 ELSE 2 END AS pass_order
FROM stg_pages p
LEFT JOIN stg_detections d ON d.run_id = p.run_id AND d.input_domain = p.input_domain AND d.page_url = p.url
                          AND d.method = 'browser' AND d.consent_state = p.consent_state AND d.signal = p.signal
WHERE p.run_id = $run_id AND p.input_domain = $site_input AND p.method = 'browser'
GROUP BY p.url, p.consent_state, p.signal, p.fetched_at, p.page_kind
ORDER BY pass_order, p.signal, p.fetched_at
